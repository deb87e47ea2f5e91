import type { TSchema } from '@sinclair/typebox';
import { ACCOUNT_SCHEMAS } from '../../contracts/account.js';
import { TemplateSchema } from '../../contracts/catalog.js';
import { ErrorEnvelopeSchema } from '../../contracts/error.js';
import { EventSchema, StreamGapSchema } from '../../contracts/event.js';
import { AdminListSchema, CreateInstanceBodySchema, InstanceSchema } from '../../contracts/instance.js';
import { OperationListSchema, OperationSchema } from '../../contracts/operation.js';
import { QuotasSchema } from '../../contracts/quota.js';
import { SerialPortOutputSchema } from '../../contracts/serial-port-output.js';
import { adminAccountRoutes } from './admin-accounts.js';
import { adminListInstances } from './admin-list-instances.js';
import { createInstance } from './create-instance.js';
import { streamEvents } from './events.js';
import { expandRoutes, type ExpandedRoute } from './expand.js';
import { deleteInstance, getInstance } from './instance-by-id.js';
import { listInstances } from './list-instances.js';
import { getMe } from './me.js';
import { getOpenApiDocument } from './openapi-document.js';
import { getHealth, getMetrics, getReadiness } from './operability.js';
import { getOperation, listOperations } from './operations.js';
import { powerOperations } from './power-operation.js';
import { getQuotas } from './quotas.js';
import type { RouteDefinition } from './route.js';
import { getSerialPortOutput } from './serial-port-output.js';
import { listTemplates, listTemplateZones } from './templates.js';
import { waitInstance, waitOperation } from './waits.js';

/*
 * The route table: every route of the API, the one list there is. Registration (app.ts), the OpenAPI document, the
 * document test, the isolation and fuzz suites and the generated client's route map all come from it. Its order is
 * the order of the OpenAPI document: a route added at the end changes no other route's place.
 *
 * A run of twins (instance routes with an admin twin) gives its owner's routes, then its admin twins.
 *
 * A new route is a file in this folder exporting its defineRoute(...) (me.ts is one), with the component schemas it
 * brings declared in it, and its line here; then its client method, and docs/api.md.
 */
export const ROUTE_TABLE: readonly RouteDefinition[] = [
  getHealth,
  getReadiness,
  getMetrics,
  createInstance,
  listInstances,
  listTemplates,
  listTemplateZones,
  getQuotas,
  adminListInstances,
  ...adminAccountRoutes,
  getOperation,
  listOperations,
  waitOperation,
  streamEvents,
  getInstance,
  waitInstance,
  getSerialPortOutput,
  deleteInstance,
  ...powerOperations,
  getOpenApiDocument,
  getMe,
];

/**
 * The schemas the routes refer to by $id (Type.Ref): the OpenAPI document's components, in its order. The first were
 * listed before routes could bring their own; a route added since declares its schemas itself.
 */
export const COMPONENT_SCHEMAS: readonly TSchema[] = [
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
  ...ROUTE_TABLE.flatMap((route) => route.schemas ?? []),
];

/** Every route the table makes, twins twice, in the order they are registered. */
export const ROUTES: readonly ExpandedRoute[] = expandRoutes(ROUTE_TABLE);
export type { ExpandedRoute };
