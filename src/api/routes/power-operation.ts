import { Type } from '@sinclair/typebox';
import { operationPath } from '../../contracts/api.js';
import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import { POWER_OPERATIONS, type PowerOperation } from '../../domain/instance.js';
import type { Operation } from '../../domain/store.js';
import { principalOf } from '../services.js';
import { operationView } from '../views.js';
import { defineRoute, type RouteDefinition } from './route.js';
import { NOT_FOUND, ownerFor, requireId } from './scope.js';

const SUMMARY: Record<PowerOperation, string> = {
  start: 'Start a stopped instance',
  stop: 'Stop a running instance (graceful shutdown)',
  restart: 'Restart an instance (a hard reset, the same as reset)',
  reset: 'Reset an instance (hard reset, no graceful shutdown)',
  suspend: 'Suspend a running instance (memory and devices kept)',
  resume: 'Resume a suspended instance',
};

const DESCRIPTION: Record<PowerOperation, string> = {
  start: 'STAGING, then RUNNING. On an instance already running (or starting) it is an accepted no-op, answered with an operation that is DONE.',
  stop: 'An ACPI power-off, then a forced one after the grace period: STOPPING, then TERMINATED. On a stopped instance it is an accepted no-op.',
  restart: 'The same hard reset as reset: the instance stays RUNNING throughout. Needs the instance RUNNING or STAGING.',
  reset: 'Wipes memory and reboots, without a graceful shutdown; the instance stays RUNNING throughout. Needs the instance RUNNING or STAGING.',
  suspend:
    'Keeps memory and device state and stops the machine running: SUSPENDING, then SUSPENDED. Needs the instance RUNNING; on a ' +
    'SUSPENDED one it is an accepted no-op. A backend that cannot suspend answers 409 saying so.',
  resume: 'Brings a SUSPENDED instance back where it was (the same boot): STAGING, then RUNNING. On a running instance it is an accepted no-op.',
};

const CONFLICT: Record<PowerOperation, string> = {
  start: 'the instance is PROVISIONING or STOPPING; retry when that has finished',
  stop: 'the instance is PROVISIONING or STOPPING; retry when that has finished',
  restart: 'the instance is TERMINATED, SUSPENDED, PROVISIONING, STOPPING or SUSPENDING',
  reset: 'the instance is TERMINATED, SUSPENDED, PROVISIONING, STOPPING or SUSPENDING',
  suspend: 'the instance is not RUNNING, or its backend cannot suspend machines',
  resume: 'the instance is not SUSPENDED (TERMINATED: start it), or is PROVISIONING, STOPPING or SUSPENDING',
};

/**
 * The power operations share one shape: 202 with the accepted operation, carried out by the reconciler. The body is
 * what the family's clients decode every 2xx but 204 as; compat.emptyAccepted sends the spec's literal empty 202.
 */
function powerOperationRoute(operation: PowerOperation): RouteDefinition {
  return defineRoute(
    {
      path: `/:id/${operation}`,
      scope: 'twins',
      operationId: `${operation}Instance`,
      summary: SUMMARY[operation],
      description: `${DESCRIPTION[operation]} Answered at once with the accepted operation; Location is where it can be looked up until it is DONE or FAILED.`,
      tags: ['instances'],
      method: 'POST',
      params: InstanceIdParamsSchema,
      success: { status: 202, description: 'Accepted: the operation, carried out in the background', schema: Type.Ref('Operation'), headers: ['Location', 'x-operation-id'] },
      errors: {
        400: 'The instance id is empty or malformed, or the Idempotency-Key is',
        404: NOT_FOUND.user,
        409: CONFLICT[operation],
      },
      admin: { summary: `${SUMMARY[operation]}, whoever owns it`, errors: { 404: NOT_FOUND.admin } },
      idempotent: {
        answer: (accepted: Operation, services) => ({
          status: 202,
          body: services.compat.emptyAccepted ? '' : JSON.stringify(operationView(accepted)),
          headers: { location: operationPath(accepted.id), 'x-operation-id': accepted.id },
        }),
      },
    },
    ({ services, scope }) =>
      async (request, _reply, write) => {
        const id = requireId(request.params.id);
        const accepted = await services.store.requestPowerOperation(id, ownerFor(scope, request), operation, services.clock.now(), write, {
          canSuspend: (zone) => services.capabilitiesOf(zone).suspend,
          requestedBy: principalOf(request).user.id,
        });
        if (accepted.state === 'pending') services.onWorkQueued();
        return accepted;
      },
  );
}

/** One route for each power operation, in the order of POWER_OPERATIONS. */
export const powerOperations: RouteDefinition[] = POWER_OPERATIONS.map(powerOperationRoute);
