import { Type } from '@sinclair/typebox';
import { notFound } from '../../domain/errors.js';
import { principalOf, type ApiServices, type GaleApp } from '../services.js';
import { instanceView } from '../views.js';
import { AUTHENTICATED_ERRORS, SECURITY, errorResponses } from './shared-schemas.js';

export function registerListInstances(app: GaleApp, services: ApiServices): void {
  app.get(
    '/instances',
    {
      config: { access: 'user' },
      schema: {
        operationId: 'listInstances',
        summary: "List the caller's instances, newest first (404 when there are none, as documented)",
        tags: ['instances'],
        security: SECURITY,
        response: { 200: Type.Array(Type.Ref('Instance')), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => {
      const { user } = principalOf(request);
      const records = await services.store.listUserInstances(user.id);
      if (records.length === 0) throw notFound('No instances found for user');
      return records.map(instanceView);
    },
  );
}
