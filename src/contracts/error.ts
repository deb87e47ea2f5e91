import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from '../domain/errors.js';

/** Every code an error answer can carry: the domain's, and those only HTTP itself gives rise to. */
export const API_ERROR_CODES = [...ERROR_CODES, 'method_not_allowed', 'headers_too_large'] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The family's error envelope. The same message and id also travel in the x-error and x-error-id headers. */
export const ErrorEnvelopeSchema = Type.Object(
  {
    error: Type.Object(
      {
        message: Type.String({ description: 'What went wrong, in words a user can act on' }),
        type: Type.Unsafe<'WARNING' | 'ERROR' | 'CRITICAL'>({
          type: 'string',
          enum: ['WARNING', 'ERROR', 'CRITICAL'],
          description: 'Severity: WARNING for 4xx, ERROR for 500-501, CRITICAL for 502-508',
        }),
        code: Type.Unsafe<ApiErrorCode>({ type: 'string', enum: [...API_ERROR_CODES], description: 'Stable machine-readable code' }),
        error_id: Type.String({ format: 'uuid', description: 'Id of this occurrence, also in x-error-id and in the server log: quote it when reporting' }),
      },
      { additionalProperties: false },
    ),
  },
  {
    $id: 'Error',
    additionalProperties: false,
    description: 'The error envelope, the same on every route',
    examples: [
      { error: { message: 'quota exceeded: instances 3/3 (tier pro)', type: 'WARNING', code: 'quota_exceeded', error_id: '3f2b8c1e-7d4a-4e8b-9c2f-1a6b5d4e3c2b' } },
    ],
  },
);
export type ErrorEnvelope = Static<typeof ErrorEnvelopeSchema>;
