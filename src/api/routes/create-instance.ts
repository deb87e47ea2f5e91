import { Type } from '@sinclair/typebox';
import { CreateInstanceBodySchema, type CreateInstanceBody } from '../../contracts/instance.js';
import { invalidRequest } from '../../domain/errors.js';
import { newInstanceId } from '../../domain/ids.js';
import { instanceSpec } from '../../domain/instance-spec.js';
import { operationPath } from '../../contracts/api.js';
import type { CreatedInstance } from '../../domain/store.js';
import { principalOf, tierOf } from '../services.js';
import { instanceView } from '../views.js';
import { defineRoute } from './route.js';

/** The family's clients spell the field three ways; two spellings that disagree are a client bug worth reporting. */
function templateIdOf(body: CreateInstanceBody): string {
  const given = [body.template_id, body.templateID, body.templateId].filter((v): v is string => v !== undefined);
  if (given.length === 0) throw invalidRequest('template_id is required');
  if (new Set(given).size > 1) throw invalidRequest('template_id, templateID and templateId disagree; send one of them');
  return given[0]!;
}

export const createInstance = defineRoute(
  {
    path: '/instances',
    scope: 'user',
    operationId: 'createInstance',
    summary: 'Create an instance from a template',
    description:
      "Checks the caller's quotas and records the instance in one transaction, then answers at once with it PROVISIONING; " +
      'it is brought up in the background (STAGING, then RUNNING). An empty zone means the default zone.',
    tags: ['instances'],
    method: 'POST',
    body: Type.Unsafe<CreateInstanceBody>(Type.Ref(CreateInstanceBodySchema.$id!)),
    success: {
      status: 201,
      description: 'Created: the instance, PROVISIONING; x-operation-id and Location name its create operation',
      schema: Type.Ref('Instance'),
      headers: ['Location', 'x-operation-id'],
    },
    errors: {
      400: "Bad JSON, a wrong type, no template id (or spellings that disagree), an unknown zone or one outside the template's region",
      403: 'a quota of the tier would be exceeded (quota_exceeded)',
      404: 'No such template',
    },
    // Serialised once, so that the answer kept for repeats is byte for byte the one sent now, headers included.
    idempotent: {
      answer: (created: CreatedInstance) => ({
        status: 201,
        body: JSON.stringify(instanceView(created)),
        headers: { 'x-operation-id': created.operationId, location: operationPath(created.operationId) },
      }),
    },
  },
  ({ services }) =>
    async (request, _reply, write) => {
      const { user } = principalOf(request);
      // The family's Go SDK always sends the zone, empty when none was chosen: that means the default, as absent does.
      const placement = services.catalog.place(templateIdOf(request.body), request.body.zone || undefined);
      const record = await services.store.createInstance(
        {
          userId: user.id,
          zone: placement.zone,
          machineType: placement.machineType.name,
          templateId: placement.template.id,
          vcpus: placement.machineType.vcpus,
          memoryMb: placement.machineType.memoryMb,
          diskGb: placement.template.diskSizeGb,
          spec: instanceSpec(),
          createdAt: services.clock.now(),
        },
        tierOf(services, user.tier),
        () => newInstanceId(user.id),
        write,
      );
      services.onWorkQueued();
      return record;
    },
);
