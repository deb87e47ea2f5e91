import { createHash } from 'node:crypto';
import { invalidRequest } from '../domain/errors.js';

/*
 * GCE-style page tokens: opaque to clients, they carry where the previous page ended (a keyset cursor) and a
 * fingerprint of the filters it was made for, so that a token sent with other filters is refused instead of
 * quietly paging through a different result.
 */

function fingerprint(filters: object): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
}

export function encodePageToken(cursor: object, filters: object): string {
  return Buffer.from(JSON.stringify({ c: cursor, f: fingerprint(filters) })).toString('base64url');
}

/** The cursor a token carries; 400 for a token that is not one of ours, or was made for other filters. */
export function decodePageToken<T>(token: string, filters: object, isCursor: (value: unknown) => value is T): T {
  let decoded: { c?: unknown; f?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { c?: unknown; f?: unknown };
  } catch {
    throw invalidRequest('pageToken is not a token this server gave; send the nextPageToken of the previous page');
  }
  if (typeof decoded !== 'object' || decoded === null || !isCursor(decoded.c)) {
    throw invalidRequest('pageToken is not a token this server gave; send the nextPageToken of the previous page');
  }
  if (decoded.f !== fingerprint(filters)) throw invalidRequest('pageToken was made for other filters; send the same filters with it as with the first page');
  return decoded.c;
}
