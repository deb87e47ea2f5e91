import { Type, type Static } from '@sinclair/typebox';

export const TemplateSchema = Type.Object(
  {
    id: Type.String({ examples: ['ubuntu-22-standard'] }),
    name: Type.String(),
    description: Type.String(),
    machineType: Type.String({ examples: ['n1-standard-2'] }),
    diskSizeGb: Type.Integer(),
    diskType: Type.String(),
    image: Type.String(),
    region: Type.String(),
  },
  { $id: 'Template', additionalProperties: false },
);
export type TemplateView = Static<typeof TemplateSchema>;

export const TemplateListSchema = Type.Array(Type.Ref('Template'));
export const TemplateIdParamsSchema = Type.Object({ templateID: Type.String({ maxLength: 256 }) });
export const ZoneListSchema = Type.Array(Type.String());
