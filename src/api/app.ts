import Fastify, { type FastifyBaseLogger, type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { TemplateSchema } from '../contracts/catalog.js';
import { ErrorEnvelopeSchema } from '../contracts/error.js';
import { InstanceSchema } from '../contracts/instance.js';
import { QuotasSchema } from '../contracts/quota.js';
import { POWER_OPERATIONS } from '../domain/instance.js';
import { serializeRequest } from '../logger.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { registerErrorHandling } from './error-handling.js';
import { OneLinePerRequest, RequestLines } from './request-log.js';
import { registerOperability, type ReadinessChecks } from './routes/operability.js';
import { registerAccessControl } from './access-control.js';
import { AuthFailureGuard, registerSecurity, serverOptions, type CorsSettings, type HttpSettings } from './security.js';
import { registerAdminListInstances } from './routes/admin-list-instances.js';
import { registerCreateInstance } from './routes/create-instance.js';
import { registerDeleteInstance, registerGetInstance, type Scope } from './routes/instance-by-id.js';
import { registerListInstances } from './routes/list-instances.js';
import { registerPowerOperation } from './routes/power-operation.js';
import { registerGetQuotas } from './routes/quotas.js';
import { registerListTemplates, registerListTemplateZones } from './routes/templates.js';
import type { ApiServices, GaleApp } from './services.js';

export const API_BASE = '/api/compute/v1';

export interface AppOptions {
  logger: FastifyBaseLogger;
  bodyLimitBytes: number;
  /** Connection and slow-client limits, security headers, the brake on failed authentications (security.ts). */
  http: HttpSettings;
  cors: CorsSettings;
  metrics: GaleMetrics;
  readiness: ReadinessChecks;
}

export async function buildApp(services: ApiServices, options: AppOptions): Promise<GaleApp> {
  const requestLines = new RequestLines(options.logger);
  const app = Fastify({
    // Errors logged with their request go through serializeRequest, so that no credential put in a query is logged.
    loggerInstance: options.logger.child({}, { serializers: { req: serializeRequest } }),
    logController: new OneLinePerRequest(requestLines),
    bodyLimit: options.bodyLimitBytes,
    // Validation must not quietly turn 123 into "123": a wrong type is the client's error to hear about.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ...serverOptions(options.http, requestLines),
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('principal', undefined);
  for (const schema of [InstanceSchema, TemplateSchema, ErrorEnvelopeSchema, QuotasSchema]) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gale Compute Instance API',
        version: '1.0.0',
        description: 'Create, list, inspect, power and delete compute instances from templates in zones.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'api-key' },
          apiSecret: { type: 'apiKey', in: 'header', name: 'api-secret' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });

  registerErrorHandling(app, options.metrics, services);
  // Before access control: a CORS preflight is answered without credentials, and hostile targets never reach auth.
  registerSecurity(app, options.http, options.cors);
  registerAccessControl(app, services, options.metrics, new AuthFailureGuard(options.http.authFailuresPerMinute));
  registerOperability(app, options.readiness, options.metrics);

  await app.register(
    async (api) => {
      const typed = api as GaleApp;
      registerCreateInstance(typed, services);
      registerListInstances(typed, services);
      registerListTemplates(typed, services);
      registerListTemplateZones(typed, services);
      registerGetQuotas(typed, services);
      registerAdminListInstances(typed, services);
      for (const scope of ['user', 'admin'] as Scope[]) {
        registerGetInstance(typed, services, scope);
        registerDeleteInstance(typed, services, scope);
        for (const operation of POWER_OPERATIONS) registerPowerOperation(typed, services, scope, operation);
      }
      typed.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
    },
    { prefix: API_BASE },
  );

  return app;
}

export type { FastifyError };
