import Fastify, { type FastifyBaseLogger, type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { ACCOUNT_SCHEMAS } from '../contracts/account.js';
import { API_BASE } from '../contracts/api.js';
import { TemplateSchema } from '../contracts/catalog.js';
import { ErrorEnvelopeSchema } from '../contracts/error.js';
import { AdminListSchema, CreateInstanceBodySchema, InstanceSchema } from '../contracts/instance.js';
import { OperationListSchema, OperationSchema } from '../contracts/operation.js';
import { EventSchema, StreamGapSchema } from '../contracts/event.js';
import { QuotasSchema } from '../contracts/quota.js';
import { SerialPortOutputSchema } from '../contracts/serial-port-output.js';
import { POWER_OPERATIONS } from '../domain/instance.js';
import { serializeRequest, type Logger } from '../logger.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { registerBodyParsing } from './body-parsing.js';
import { registerErrorHandling } from './error-handling.js';
import { lazyRequestLogger, OneLinePerRequest, RequestLines } from './request-log.js';
import { registerOperability, type ReadinessChecks } from './routes/operability.js';
import { registerConsole } from './routes/console.js';
import { registerAccessControl } from './access-control.js';
import { registerSecurity, serverOptions, type CorsSettings, type HttpSettings } from './security.js';
import { registerAdminAccounts } from './routes/admin-accounts.js';
import { registerAdminListInstances } from './routes/admin-list-instances.js';
import { registerCreateInstance } from './routes/create-instance.js';
import { registerDeleteInstance, registerGetInstance } from './routes/instance-by-id.js';
import { registerListInstances } from './routes/list-instances.js';
import { registerGetOperation, registerListOperations } from './routes/operations.js';
import { registerEvents } from './routes/events.js';
import { registerWaitInstance, registerWaitOperation } from './routes/waits.js';
import { registerPowerOperation } from './routes/power-operation.js';
import { registerSerialPortOutput } from './routes/serial-port-output.js';
import { SCOPES } from './routes/scope.js';
import { registerOpenApiDocument, swaggerOptions } from './openapi.js';
import { schemaController } from './validation.js';
import { registerGetQuotas } from './routes/quotas.js';
import { registerListTemplates, registerListTemplateZones } from './routes/templates.js';
import type { ApiServices, GaleApp } from './services.js';

export { API_BASE };

export interface AppOptions {
  /** pino's: the request lines are written to its destination in its format (request-log.ts). */
  logger: Logger;
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
    loggerInstance: options.logger.child({}, { serializers: { req: serializeRequest } }) as FastifyBaseLogger,
    logController: new OneLinePerRequest(requestLines),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: options.bodyLimitBytes,
    schemaController: schemaController(),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ...serverOptions(options.http, requestLines),
    // While closing, requests already on open connections are still served, with Connection: close, rather than
    // answered by Fastify's own 503 (which is not Gale's envelope): the store stays open until they are done.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('principal', undefined);
  for (const schema of [
    InstanceSchema,
    AdminListSchema,
    CreateInstanceBodySchema,
    OperationSchema,
    OperationListSchema,
    EventSchema,
    StreamGapSchema,
    TemplateSchema,
    ErrorEnvelopeSchema,
    QuotasSchema,
    SerialPortOutputSchema,
    ...ACCOUNT_SCHEMAS,
  ]) {
    app.addSchema(schema);
  }

  await app.register(swagger, swaggerOptions());

  registerErrorHandling(app, options.metrics, services);
  registerBodyParsing(app);
  // Before access control: a CORS preflight is answered without credentials, and hostile targets never reach auth.
  registerSecurity(app, options.http, options.cors);
  registerAccessControl(app, services, options.metrics);
  registerOperability(app, options.readiness, options.metrics);
  registerConsole(app);
  // Streams and waits would hold the server's closing until they end by themselves: they end now, answered.
  app.addHook('preClose', (done) => {
    services.events.close();
    done();
  });

  await app.register(
    async (api) => {
      const typed = api as GaleApp;
      registerCreateInstance(typed, services);
      registerListInstances(typed, services);
      registerListTemplates(typed, services);
      registerListTemplateZones(typed, services);
      registerGetQuotas(typed, services);
      registerAdminListInstances(typed, services);
      registerAdminAccounts(typed, services);
      registerGetOperation(typed, services);
      registerListOperations(typed, services);
      registerWaitOperation(typed, services);
      registerEvents(typed, services);
      for (const scope of SCOPES) {
        registerGetInstance(typed, services, scope);
        registerWaitInstance(typed, services, scope);
        registerSerialPortOutput(typed, services, scope);
        registerDeleteInstance(typed, services, scope);
        for (const operation of POWER_OPERATIONS) registerPowerOperation(typed, services, scope, operation);
      }
      registerOpenApiDocument(typed, () => app.swagger());
    },
    { prefix: API_BASE },
  );

  return app;
}

export type { FastifyError };
