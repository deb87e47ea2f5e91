import type { SwaggerOptions } from '@fastify/swagger';
import type { OpenAPIV3_1 } from 'openapi-types';
import { RESPONSE_HEADERS, type ResponseHeader } from './routes/route-schema.js';

/*
 * The OpenAPI document's frame: what the routes' own schemas (route-schema.ts) cannot say, and the one place each
 * response header is described. It must be complete enough that a client generated from it needs no hand fixes, and
 * it is linted (Redocly, Spectral) and checked against every answer of the HTTP suite in `npm test`.
 */

type HeaderObject = OpenAPIV3_1.HeaderObject;

const integer = (description: string, required = false): HeaderObject => ({ description, required, schema: { type: 'integer', minimum: 0 } });

/** Component name and object of each header: names in components must be plain identifiers. */
const HEADERS: Record<ResponseHeader, { component: string; object: HeaderObject }> = {
  'x-request-id': {
    component: 'RequestId',
    object: {
      description: "This request's id: the caller's x-request-id when it is 1-128 characters of letters, digits and ._:-, else a new UUID. It is in every log line of the request.",
      required: true,
      schema: { type: 'string' },
    },
  },
  'RateLimit-Limit': { component: 'RateLimitLimit', object: integer("Requests a minute the caller's tier allows. Absent before authentication, and on admin routes for compute admins.") },
  'RateLimit-Remaining': { component: 'RateLimitRemaining', object: integer('Requests left in the current window') },
  'RateLimit-Reset': { component: 'RateLimitReset', object: integer('Seconds until the window ends and the allowance is whole again') },
  'Retry-After': { component: 'RetryAfter', object: integer('Seconds to wait before retrying', true) },
  'x-error': { component: 'ErrorMessage', object: { description: "The error's message, as one line of printable ASCII (the body has it whole)", required: true, schema: { type: 'string' } } },
  'x-error-id': {
    component: 'ErrorId',
    object: { description: 'Id of this error occurrence, the same as error.error_id in the body and in the server log', required: true, schema: { type: 'string', format: 'uuid' } },
  },
  Location: {
    component: 'OperationLocation',
    object: { description: 'Where the accepted operation can be looked up: /api/compute/v1/operations/{id}', required: true, schema: { type: 'string' } },
  },
  'x-operation-id': { component: 'OperationId', object: { description: 'Id of the accepted operation', required: true, schema: { type: 'string', format: 'uuid' } } },
  'Idempotent-Replayed': {
    component: 'IdempotentReplayed',
    object: { description: 'true when this is the stored answer to an earlier request with the same Idempotency-Key; nothing was changed again', schema: { type: 'string', enum: ['true'] } },
  },
  Allow: { component: 'Allow', object: { description: 'The methods this path has', required: true, schema: { type: 'string' } } },
  'x-instance-status': {
    component: 'InstanceStatus',
    object: { description: "The instance's status when the wait ended without it reaching the one waited for", required: true, schema: { type: 'string' } },
  },
};

const TAGS: OpenAPIV3_1.TagObject[] = [
  { name: 'instances', description: "Create, list, read, power and delete the caller's instances" },
  { name: 'operations', description: 'Accepted changes: looked up, listed, and waited on until they are done' },
  { name: 'events', description: 'A live stream of changes (Server-Sent Events), resumable with Last-Event-ID' },
  { name: 'templates', description: 'What instances are made from, and where' },
  { name: 'quotas', description: "The caller's tier, quotas and their use" },
  { name: 'admin', description: "Every user's instances, for the compute_admin role: not rate limited, no ownership checks" },
  { name: 'operability', description: 'Health, readiness, metrics and this document; no credentials' },
];

export function swaggerOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gale Compute Instance API',
        version: '1.0.0',
        summary: 'Compute instances from templates in zones, with GCE semantics',
        description:
          'Create, list, inspect, power and delete compute instances from templates in zones, within the rate limits and quotas of ' +
          'the subscription tier. Authenticate with `Authorization: Bearer <token>` or with the `api-key` and `api-secret` headers ' +
          '(one method per request). Every error has the same envelope, and its message and id in the `x-error` and `x-error-id` headers.',
        license: { name: 'Apache 2.0', identifier: 'Apache-2.0' },
        contact: { name: 'Gale', url: 'https://github.com/gale-compute/gale' },
      },
      servers: [
        {
          url: '{scheme}://{host}',
          description: 'A Gale server; paths include the API base, /api/compute/v1',
          variables: {
            scheme: { default: 'http', enum: ['http', 'https'], description: 'https behind a TLS-terminating proxy' },
            host: { default: '127.0.0.1:8080', description: 'Host and port Gale listens on (GALE_HOST, GALE_PORT)' },
          },
        },
      ],
      tags: TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'A session token (gale admin tokens create)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'api-key', description: 'The key of a key pair (gale admin keys create); sent with api-secret' },
          apiSecret: { type: 'apiKey', in: 'header', name: 'api-secret', description: 'The secret of a key pair; sent with api-key' },
        },
        headers: Object.fromEntries(Object.values(HEADERS).map(({ component, object }) => [component, object])),
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (documentObject) => withHeaderReferences(documentObject as { openapiObject: OpenAPIV3_1.Document }),
  };
}

/** Each response header the routes name becomes a reference to its one description in components.headers. */
function withHeaderReferences({ openapiObject }: { openapiObject: OpenAPIV3_1.Document }): OpenAPIV3_1.Document {
  const known = new Set<string>(RESPONSE_HEADERS);
  for (const pathItem of Object.values(openapiObject.paths ?? {})) {
    for (const operation of Object.values(pathItem ?? {})) {
      const responses = (operation as OpenAPIV3_1.OperationObject).responses ?? {};
      for (const response of Object.values(responses) as OpenAPIV3_1.ResponseObject[]) {
        for (const name of Object.keys(response.headers ?? {})) {
          if (!known.has(name)) throw new Error(`response header ${name} has no description in openapi.ts`);
          response.headers![name] = { $ref: `#/components/headers/${HEADERS[name as ResponseHeader].component}` };
        }
      }
    }
  }
  return openapiObject;
}
