import { Type } from '@sinclair/typebox';
import { ADMIN_LIST_DEFAULT_PAGE_SIZE, ADMIN_LIST_MAX_PAGE_SIZE, AdminListQuerySchema, type AdminListQuery } from '../../contracts/instance.js';
import { invalidRequest } from '../../domain/errors.js';
import { INSTANCE_STATUSES } from '../../domain/instance.js';
import type { InstanceFilter } from '../../domain/store.js';
import type { ApiServices, GaleApp } from '../services.js';
import { instanceView } from '../views.js';
import { routeSchema } from './route-schema.js';

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

export function registerAdminListInstances(app: GaleApp, services: ApiServices): void {
  app.get(
    '/admin/instances',
    {
      config: { access: 'admin' },
      schema: routeSchema({
        operationId: 'adminListInstances',
        summary: "List every user's instances, a page at a time",
        description:
          'Newest first, filtered by any of userID, customerID, status (any case), zone and templateID; an empty filter value is no ' +
          'filter. A parameter this route does not know is refused with 400, never ignored: an unknown filter must not widen the result.',
        tags: ['admin'],
        access: 'admin',
        method: 'GET',
        querystring: AdminListQuerySchema,
        success: { status: 200, description: 'One page of instances, and the totals', schema: Type.Ref('AdminInstanceList') },
        errors: { 400: 'A paging value out of range, an unknown status, or an unknown query parameter' },
      }),
    },
    async (request) => {
      const { page, pageSize } = paging(request.query);
      const { total, instances } = await services.store.listInstances(filterOf(request.query), (page - 1) * pageSize, pageSize);
      return { pages: Math.ceil(total / pageSize), items: total, instances: instances.map(instanceView) };
    },
  );
}
