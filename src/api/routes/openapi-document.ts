import { Type } from '@sinclair/typebox';
import { defineRoute } from './route.js';

/** GET /openapi.json: the document itself, described in it like every other route. */
export const getOpenApiDocument = defineRoute(
  {
    path: '/openapi.json',
    scope: 'public',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI 3.1 document',
    description: 'Generated from the schemas that validate requests and serialise answers; no credentials.',
    tags: ['operability'],
    method: 'GET',
    success: { status: 200, description: 'The document', schema: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document' }) },
  },
  ({ operability: { document } }) =>
    async (_request, reply) =>
      // Sent as text: the serialiser of the schema above would keep only what it declares, which is nothing.
      reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(document())),
);
