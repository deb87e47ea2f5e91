import type { Transport } from './transport.js';
import type { CallOptions, ItemOf, PagedOperationId, SuccessOf } from './types.js';

/*
 * Lists that answer a page at a time (a pageToken in, a nextPageToken out: the operations, the admin's instances) walked
 * to their end. Which routes page is read off the document's types, so a new paged route needs nothing here.
 */

/** Every page of a paged list, from the one the options name, until a page has no nextPageToken. */
export async function* pagesOf<K extends PagedOperationId>(transport: Transport, operationId: K, options?: CallOptions<K>): AsyncGenerator<SuccessOf<K>, void, undefined> {
  const query: Record<string, unknown> = { ...(options?.query ?? {}) };
  for (;;) {
    const { data: page } = await transport.call(operationId, { ...options, query } as CallOptions<K>);
    yield page;
    const next = (page as { nextPageToken?: string }).nextPageToken;
    if (!next) return;
    // A page number and a token cannot go together: the token says where the next page starts.
    delete query.page;
    query.pageToken = next;
  }
}

/** Every item of every page, in order. */
export async function* itemsOf<K extends PagedOperationId>(transport: Transport, operationId: K, options?: CallOptions<K>): AsyncGenerator<ItemOf<SuccessOf<K>>, void, undefined> {
  for await (const page of pagesOf(transport, operationId, options)) {
    const items = Object.values(page as object).find(Array.isArray) as Array<ItemOf<SuccessOf<K>>> | undefined;
    if (items) yield* items;
  }
}
