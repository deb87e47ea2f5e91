import { Type } from '@sinclair/typebox';
import { TemplateIdParamsSchema, ZoneListSchema } from '../../contracts/catalog.js';
import { notFound } from '../../domain/errors.js';
import type { ApiServices, GaleApp } from '../services.js';
import { templateView } from '../views.js';
import { AUTHENTICATED_ERRORS, SECURITY, errorResponses } from './shared-schemas.js';

export function registerListTemplates(app: GaleApp, services: ApiServices): void {
  const views = services.catalog.listTemplates().map(templateView);
  app.get(
    '/templates',
    {
      config: { access: 'user' },
      schema: {
        operationId: 'listTemplates',
        summary: 'List the templates instances can be created from',
        tags: ['templates'],
        security: SECURITY,
        response: { 200: Type.Array(Type.Ref('Template')), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    async () => views,
  );
}

export function registerListTemplateZones(app: GaleApp, services: ApiServices): void {
  app.get(
    '/templates/:templateID/zones',
    {
      config: { access: 'user' },
      schema: {
        operationId: 'listTemplateZones',
        summary: "The zones of the template's region",
        tags: ['templates'],
        security: SECURITY,
        params: TemplateIdParamsSchema,
        response: { 200: ZoneListSchema, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => {
      const template = services.catalog.template(request.params.templateID);
      if (!template) throw notFound(`template ${request.params.templateID} not found`);
      return services.catalog.zonesOf(template);
    },
  );
}
