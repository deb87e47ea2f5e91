import Fastify, { type FastifyBaseLogger, type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { API_BASE } from '../contracts/api.js';
import { serializeRequest, type Logger } from '../logger.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { registerBodyParsing } from './body-parsing.js';
import { registerErrorHandling } from './error-handling.js';
import { lazyRequestLogger, OneLinePerRequest, RequestLines } from './request-log.js';
import { countRequests } from './routes/operability.js';
import { registerConsole } from './routes/console.js';
import { registerAccessControl } from './access-control.js';
import { registerSecurity, serverOptions, type CorsSettings, type HttpSettings } from './security.js';
import { COMPONENT_SCHEMAS, ROUTES } from './routes/index.js';
import { registerRoutes } from './routes/register.js';
import type { ReadinessChecks } from './routes/route.js';
import { swaggerOptions } from './openapi.js';
import { schemaController } from './validation.js';
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
  for (const schema of COMPONENT_SCHEMAS) app.addSchema(schema);

  await app.register(swagger, swaggerOptions());

  registerErrorHandling(app, options.metrics, services);
  registerBodyParsing(app);
  // Before access control: a CORS preflight is answered without credentials, and hostile targets never reach auth.
  registerSecurity(app, options.http, options.cors);
  registerAccessControl(app, services, options.metrics);
  // Before any route, so that every route gets its request counter.
  countRequests(app, options.metrics);
  registerConsole(app);
  // Streams and waits would hold the server's closing until they end by themselves: they end now, answered.
  app.addHook('preClose', (done) => {
    services.events.close();
    done();
  });
  registerRoutes(app, ROUTES, { services, operability: { readiness: options.readiness, metrics: options.metrics, document: () => app.swagger() } });

  return app;
}

export type { FastifyError };
