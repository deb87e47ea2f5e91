import { Type, type Static } from '@sinclair/typebox';

/** The family's error envelope. The same message and id also travel in the x-error and x-error-id headers. */
export const ErrorEnvelopeSchema = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.Union([Type.Literal('WARNING'), Type.Literal('ERROR'), Type.Literal('CRITICAL')]),
      code: Type.String({ description: 'Stable machine-readable code, e.g. quota_exceeded, rate_limited, not_found' }),
      error_id: Type.String({ format: 'uuid' }),
    }),
  },
  { $id: 'Error' },
);
export type ErrorEnvelope = Static<typeof ErrorEnvelopeSchema>;
