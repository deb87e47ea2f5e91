import { TemplateIdParamsSchema, TemplateListSchema, ZoneListSchema } from '../../contracts/catalog.js';
import { notFound } from '../../domain/errors.js';
import type { ApiServices, GaleApp } from '../services.js';
import { templateView } from '../views.js';
import { routeSchema } from './route-schema.js';

export function registerListTemplates(app: GaleApp, services: ApiServices): void {
  const views = services.catalog.listTemplates().map(templateView);
  app.get(
    '/templates',
    {
      config: { access: 'user' },
      schema: routeSchema({
        operationId: 'listTemplates',
        summary: 'List the templates instances can be created from',
        description: "Every template of this server's catalog, with the machine type and disk its instances get.",
        tags: ['templates'],
        access: 'user',
        method: 'GET',
        success: { status: 200, description: 'Every template', schema: TemplateListSchema },
      }),
    },
    async () => views,
  );
}

export function registerListTemplateZones(app: GaleApp, services: ApiServices): void {
  app.get(
    '/templates/:templateID/zones',
    {
      config: { access: 'user' },
      schema: routeSchema({
        operationId: 'listTemplateZones',
        summary: "List the zones a template's instances can be created in",
        description: "The zones of the template's region; a create takes one of them, or none for the first.",
        tags: ['templates'],
        access: 'user',
        method: 'GET',
        params: TemplateIdParamsSchema,
        success: { status: 200, description: 'Zone names', schema: ZoneListSchema },
        errors: { 404: 'No such template' },
      }),
    },
    async (request) => {
      const template = services.catalog.template(request.params.templateID);
      if (!template) throw notFound(`template ${request.params.templateID} not found`);
      return services.catalog.zonesOf(template);
    },
  );
}
