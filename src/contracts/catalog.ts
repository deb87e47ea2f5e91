import { Type, type Static } from '@sinclair/typebox';

export const TEMPLATE_EXAMPLE = {
  id: 'ubuntu-22-standard',
  name: 'Ubuntu 22 Standard',
  description: 'Ubuntu 22.04 LTS standard instance',
  machineType: 'n1-standard-2',
  diskSizeGb: 50,
  diskType: 'pd-standard',
  image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts',
  region: 'us-central1',
} as const;

export const TemplateSchema = Type.Object(
  {
    id: Type.String({ description: 'Template identifier, what a create names', examples: ['ubuntu-22-standard'] }),
    name: Type.String({ description: 'Display name' }),
    description: Type.String({ description: 'What the template is' }),
    machineType: Type.String({ description: 'Machine type of its instances', examples: ['n1-standard-2'] }),
    diskSizeGb: Type.Integer({ minimum: 1, description: 'Boot disk size in GB, counted against the disk quota' }),
    diskType: Type.String({ description: 'Boot disk type', examples: ['pd-standard'] }),
    image: Type.String({ description: 'Boot image' }),
    region: Type.String({ description: 'Region whose zones the template can be created in', examples: ['us-central1'] }),
  },
  { $id: 'Template', additionalProperties: false, description: 'What an instance is made from', examples: [TEMPLATE_EXAMPLE] },
);
export type TemplateView = Static<typeof TemplateSchema>;

export const TemplateListSchema = Type.Array(Type.Ref('Template'), { description: 'Every template' });
export const TemplateIdParamsSchema = Type.Object({
  templateID: Type.String({ maxLength: 256, description: 'Template identifier', examples: ['ubuntu-22-standard'] }),
});
export const ZoneListSchema = Type.Array(Type.String({ examples: ['us-central1-a'] }), {
  description: "Names of the zones of the template's region",
  examples: [['us-central1-a', 'us-central1-b', 'us-central1-c']],
});
