import { TemplateIdParamsSchema, TemplateListSchema, ZoneListSchema } from '../../contracts/catalog.js';
import { notFound } from '../../domain/errors.js';
import { templateView } from '../views.js';
import { defineRoute } from './route.js';

export const listTemplates = defineRoute(
  {
    path: '/templates',
    scope: 'user',
    operationId: 'listTemplates',
    summary: 'List the templates instances can be created from',
    description: "Every template of this server's catalog, with the machine type and disk its instances get.",
    tags: ['templates'],
    method: 'GET',
    success: { status: 200, description: 'Every template', schema: TemplateListSchema },
  },
  ({ services }) => {
    const views = services.catalog.listTemplates().map(templateView);
    return async () => views;
  },
);

export const listTemplateZones = defineRoute(
  {
    path: '/templates/:templateID/zones',
    scope: 'user',
    operationId: 'listTemplateZones',
    summary: "List the zones a template's instances can be created in",
    description: "The zones of the template's region; a create takes one of them, or none for the first.",
    tags: ['templates'],
    method: 'GET',
    params: TemplateIdParamsSchema,
    success: { status: 200, description: 'Zone names', schema: ZoneListSchema },
    errors: { 404: 'No such template' },
  },
  ({ services }) =>
    async (request) => {
      const template = services.catalog.template(request.params.templateID);
      if (!template) throw notFound(`template ${request.params.templateID} not found`);
      return services.catalog.zonesOf(template);
    },
);
