import { Type } from '@sinclair/typebox';
import { InstanceListSchema } from '../../contracts/instance.js';
import { notFound } from '../../domain/errors.js';
import { principalOf } from '../services.js';
import { instanceView } from '../views.js';
import { defineRoute } from './route.js';

export const listInstances = defineRoute(
  {
    path: '/instances',
    scope: 'user',
    operationId: 'listInstances',
    summary: "List the caller's instances",
    description:
      'Every instance of the caller, newest first, as a bare array (no paging, as the API documents). None answers 404 ' +
      '"No instances found for user", which clients treat as an empty list. It takes no parameters: one sent is refused, ' +
      'never ignored, so that a filter it does not have cannot be mistaken for one that matched everything.',
    tags: ['instances'],
    method: 'GET',
    querystring: Type.Object({}, { additionalProperties: false }),
    success: { status: 200, description: "The caller's instances, newest first", schema: InstanceListSchema },
    errors: { 400: 'A query parameter was sent; this route takes none', 404: 'The caller has no instances ("No instances found for user")' },
  },
  ({ services }) =>
    async (request) => {
      const { user } = principalOf(request);
      const records = await services.store.listUserInstances(user.id);
      if (records.length === 0) throw notFound('No instances found for user');
      return records.map(instanceView);
    },
);
