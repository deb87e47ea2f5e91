import { Type } from '@sinclair/typebox';
import { OperationIdParamsSchema } from '../../contracts/operation.js';
import { notFound } from '../../domain/errors.js';
import { principalOf, type ApiServices, type GaleApp } from '../services.js';
import { operationView } from '../views.js';
import { routeSchema } from './route-schema.js';

export function registerGetOperation(app: GaleApp, services: ApiServices): void {
  app.get(
    '/operations/:id',
    {
      config: { access: 'user' },
      schema: routeSchema({
        operationId: 'getOperation',
        summary: 'Get an operation with its current status',
        description:
          'An accepted change (the Location of a 202, or the x-operation-id of a delete) as it stands now: PENDING, RUNNING, ' +
          "DONE, or FAILED with the reason. Its instance's owner and compute admins may read it.",
        tags: ['operations'],
        access: 'user',
        method: 'GET',
        params: OperationIdParamsSchema,
        success: { status: 200, description: 'The operation', schema: Type.Ref('Operation') },
        errors: { 404: 'No such operation, or it is about another user\'s instance (the two answers are the same)' },
      }),
    },
    async (request) => {
      const { user, isAdmin } = principalOf(request);
      const operation = await services.store.getOperation(request.params.id);
      if (!operation || (!isAdmin && operation.userId !== user.id)) throw notFound(`operation ${request.params.id} not found`);
      return operationView(operation);
    },
  );
}
