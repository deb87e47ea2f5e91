/*
 * gale/client: the typed client of Gale's Compute Instance API (docs/client.md). Its types are generated from the
 * OpenAPI document the server serves (src/client/generated, `npm run generate:client`); it imports nothing else of
 * Gale, and nothing outside the platform (fetch, streams, crypto.randomUUID).
 */
export { Gale, type GaleOptions } from './gale.js';
export type { Credentials } from './transport.js';
export { InstanceActions, Instances, AdminInstances, type MutationOptions, type RequestOptions, type SharedInstanceOperation } from './instances.js';
export { Operations, Templates } from './catalog.js';
export { AdminUsers } from './accounts.js';
export type { EventsOptions } from './events.js';
export type { StatusWaitOptions, WaitOptions } from './waits.js';
export { DEFAULT_RETRY_POLICY, type RetryNotice, type RetryPolicy } from './retry.js';
export {
  GaleApiError,
  GaleConnectionError,
  OperationFailedError,
  OperationTimeoutError,
  StatusUnreachableError,
  WaitTimeoutError,
  type ApiErrorParts,
} from './errors.js';
export { SseParser, type SseMessage } from './sse.js';
export { ROUTES, type RouteEntry } from './generated/routes.js';
export type { components, operations, paths } from './generated/api.js';
export type * from './types.js';
