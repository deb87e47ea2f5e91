import { Type } from '@sinclair/typebox';
import { AdminListQuerySchema, type AdminListQuery } from '../../contracts/instance.js';
import { invalidRequest } from '../../domain/errors.js';
import { INSTANCE_STATUSES } from '../../domain/instance.js';
import type { InstanceFilter } from '../../domain/store.js';
import type { ApiServices, GaleApp } from '../services.js';
import { instanceView } from '../views.js';
import { AUTHENTICATED_ERRORS, SECURITY, errorResponses } from './shared-schemas.js';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

function paging(query: AdminListQuery): { page: number; pageSize: number } {
  const page = query.page === undefined ? 1 : Number(query.page);
  if (page < 1) throw invalidRequest('page starts at 1');
  const rawSize = query.pageSize ?? query.limit;
  const requested = rawSize === undefined ? DEFAULT_PAGE_SIZE : Number(rawSize);
  if (requested < 1) throw invalidRequest(`pageSize must be between 1 and ${MAX_PAGE_SIZE}`);
  // Like GCE's maxResults, a page size over the maximum is clamped rather than refused.
  return { page, pageSize: Math.min(requested, MAX_PAGE_SIZE) };
}

function filterOf(query: AdminListQuery): InstanceFilter {
  if (query.status !== undefined && !(INSTANCE_STATUSES as readonly string[]).includes(query.status)) {
    throw invalidRequest(`status must be one of ${INSTANCE_STATUSES.join(', ')}`);
  }
  const filter: InstanceFilter = {};
  if (query.userID) filter.userId = query.userID;
  if (query.status) filter.status = query.status;
  if (query.zone) filter.zone = query.zone;
  if (query.templateID) filter.templateId = query.templateID;
  return filter;
}

export function registerAdminListInstances(app: GaleApp, services: ApiServices): void {
  app.get(
    '/admin/instances',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'adminListInstances',
        summary: "List every user's instances, newest first, a page at a time",
        tags: ['admin'],
        security: SECURITY,
        querystring: AdminListQuerySchema,
        response: {
          200: Type.Object({ pages: Type.Integer(), items: Type.Integer(), instances: Type.Array(Type.Ref('Instance')) }),
          ...errorResponses(...AUTHENTICATED_ERRORS),
        },
      },
    },
    async (request) => {
      const { page, pageSize } = paging(request.query);
      const { total, instances } = await services.store.listInstances(filterOf(request.query), (page - 1) * pageSize, pageSize);
      return { pages: Math.ceil(total / pageSize), items: total, instances: instances.map(instanceView) };
    },
  );
}
