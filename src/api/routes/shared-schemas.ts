import { Type } from '@sinclair/typebox';

const errorRef = Type.Ref('Error');

/** Response schemas for the error statuses a route documents, all the same envelope. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorRef> {
  const out: Record<number, typeof errorRef> = {};
  for (const status of statuses) out[status] = errorRef;
  return out;
}

export const AUTHENTICATED_ERRORS = [400, 401, 403, 429, 500] as const;

export const SECURITY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKey: [], apiSecret: [] }];
export const EMPTY_BODY = Type.Unsafe<void>({ type: 'null', description: 'No body' });
