import { Type } from '@sinclair/typebox';
import { ADMIN_LIST_DEFAULT_PAGE_SIZE, ADMIN_LIST_MAX_PAGE_SIZE, AdminListQuerySchema, type AdminList, type AdminListQuery } from '../../contracts/instance.js';
import { invalidRequest } from '../../domain/errors.js';
import { INSTANCE_STATUSES, type InstanceSummary } from '../../domain/instance.js';
import type { InstanceCursor, InstanceFilter } from '../../domain/store.js';
import { decodePageToken, encodePageToken } from '../page-tokens.js';
import { instanceView } from '../views.js';
import { defineRoute } from './route.js';

type PageCursor = InstanceCursor & { total: number };

const isInstanceCursor = (value: unknown): value is PageCursor => {
  const cursor = value as Partial<PageCursor> | null;
  return typeof cursor === 'object' && cursor !== null && Number.isSafeInteger(cursor.createdAt) && typeof cursor.id === 'string' && Number.isSafeInteger(cursor.total);
};

function paging(query: AdminListQuery): { page: number; pageSize: number } {
  const page = query.page ?? 1;
  const requested = query.pageSize ?? query.limit ?? ADMIN_LIST_DEFAULT_PAGE_SIZE;
  // Like GCE's maxResults, a page size over the maximum is clamped rather than refused.
  return { page, pageSize: Math.min(requested, ADMIN_LIST_MAX_PAGE_SIZE) };
}

/** A status in any letter case, as the family's clients send it (`running`), or a 400 naming the statuses. */
export function statusFilter(given: string): string {
  const status = given.toUpperCase();
  if (!(INSTANCE_STATUSES as readonly string[]).includes(status)) throw invalidRequest(`status must be one of ${INSTANCE_STATUSES.join(', ')} (any case)`);
  return status;
}

function filterOf(query: AdminListQuery): InstanceFilter {
  const filter: InstanceFilter = {};
  if (query.userID) filter.userId = query.userID;
  if (query.customerID) filter.customerId = query.customerID;
  if (query.status) filter.status = statusFilter(query.status);
  if (query.zone) filter.zone = query.zone;
  if (query.templateID) filter.templateId = query.templateID;
  return filter;
}

export const adminListInstances = defineRoute(
  {
    path: '/admin/instances',
    scope: 'admin',
    operationId: 'adminListInstances',
    summary: "List every user's instances, a page at a time",
    description:
      'Newest first, filtered by any of userID, customerID, status (any case), zone and templateID; an empty filter value is no ' +
      'filter. A parameter this route does not know is refused with 400, never ignored: an unknown filter must not widen the result. ' +
      'Page by page number (page), or by token (pageToken, the nextPageToken of the previous page): a page number costs more the ' +
      'deeper it is, a token the same at any depth.',
    tags: ['admin'],
    method: 'GET',
    querystring: AdminListQuerySchema,
    success: { status: 200, description: 'One page of instances, and the totals', schema: Type.Ref('AdminInstanceList') },
    errors: {
      400: 'A paging value out of range, page and pageToken both, a pageToken this server did not give (or gave for other filters), an unknown status, or an unknown query parameter',
    },
  },
  ({ services }) =>
    async (request) => {
      const { page, pageSize } = paging(request.query);
      const filter = filterOf(request.query);
      let total: number;
      let found: InstanceSummary[];
      if (request.query.pageToken) {
        if (request.query.page !== undefined) throw invalidRequest('send page or pageToken, not both');
        // The total was counted for the first page: counting again on every page would cost what the offset did.
        const cursor = decodePageToken(request.query.pageToken, filter, isInstanceCursor);
        total = cursor.total;
        found = await services.store.listInstancesAfter(filter, cursor, pageSize + 1);
      } else {
        // One more than the page, to know whether a next page token is due.
        const listed = await services.store.listInstances(filter, (page - 1) * pageSize, pageSize + 1);
        total = listed.total;
        found = listed.instances;
      }
      const instances = found.slice(0, pageSize);
      const answer: AdminList = { pages: Math.ceil(total / pageSize), items: total, instances: instances.map(instanceView) };
      const last = instances.at(-1);
      if (found.length > pageSize && last) answer.nextPageToken = encodePageToken({ createdAt: last.createdAt, id: last.id, total }, filter);
      return answer;
    },
);
