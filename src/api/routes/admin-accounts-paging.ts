import type { CreatedCursor } from '../../domain/store.js';

/** A page token's cursor for the account lists: where the last page ended, by creation time and id. */
export const isCreatedCursor = (value: unknown): value is CreatedCursor => {
  const cursor = value as Partial<CreatedCursor> | null;
  return typeof cursor === 'object' && cursor !== null && Number.isSafeInteger(cursor.createdAt) && typeof cursor.id === 'string';
};
