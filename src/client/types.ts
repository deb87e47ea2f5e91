import type { components, operations } from './generated/api.js';
import type { ROUTES } from './generated/routes.js';

/*
 * Every type the client shows is read off the generated types of the served OpenAPI document (generated/api.ts):
 * what a route takes (path, query, body) and what it answers, by its operationId. Nothing here is written by hand
 * about a route, so a route added to the server is typed here once the file is regenerated.
 */

type Schemas = components['schemas'];

export type Instance = Schemas['Instance'];
export type InstanceStatus = Instance['status'];
export type CreateInstanceRequest = Schemas['CreateInstanceRequest'];
export type Operation = Schemas['Operation'];
export type OperationStatus = Operation['status'];
export type OperationList = Schemas['OperationList'];
export type AdminInstanceList = Schemas['AdminInstanceList'];
export type Template = Schemas['Template'];
export type Quotas = Schemas['Quotas'];
/** The caller: user, roles, customer and the limits of their tier (GET /me). */
export type Me = Schemas['Me'];
export type SerialPortOutput = Schemas['SerialPortOutput'];
export type ErrorEnvelope = Schemas['Error'];
/** The codes the document lists; a client must tolerate others (a newer server), so any string is accepted too. */
export type ErrorCode = ErrorEnvelope['error']['code'] | (string & {});
/** A change, as GET /events sends it. */
export type GaleEvent = Schemas['Event'];
export type EventType = GaleEvent['type'];
/** The notice that events after the Last-Event-ID sent could not be kept: read the state afresh. */
export type StreamGap = Schemas['StreamGap'];
export type StreamMessage = GaleEvent | StreamGap;

/** An operationId of the document: a route the client can call. */
export type OperationId = keyof operations & keyof typeof ROUTES;

type Op<K extends OperationId> = operations[K];
type ParametersOf<K extends OperationId> = Op<K> extends { parameters: infer P } ? P : never;

/** The path parameters a route needs ({id}, {templateID}), or never. */
export type PathParamsOf<K extends OperationId> = ParametersOf<K> extends { path: infer P } ? P : never;
/** The query parameters a route takes, or never. */
export type QueryOf<K extends OperationId> = ParametersOf<K> extends { query?: infer Q } ? Exclude<Q, undefined> : never;
/** The JSON body a route takes, or never. */
export type BodyOf<K extends OperationId> = Op<K> extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;

type Responses<K extends OperationId> = Op<K>['responses'];
type SuccessStatus = 200 | 201 | 202 | 204;
type ContentOf<R> = R extends { content: infer C } ? ('application/json' extends keyof C ? C['application/json'] : string) : undefined;

/** What a route answers when it succeeds: the JSON of its 2xx, a string for text, undefined for 204. */
export type SuccessOf<K extends OperationId> = { [S in SuccessStatus & keyof Responses<K>]: ContentOf<Responses<K>[S]> }[SuccessStatus & keyof Responses<K>];

/** What every call can be given besides the route's own parameters. */
export interface CallBasics {
  /** Extra request headers (after the client's own, before authentication). */
  headers?: Record<string, string>;
  /** Aborts the request, and any wait for a retry. */
  signal?: AbortSignal;
  /** On routes that take one: the Idempotency-Key to send (a new UUID when absent). Reuse it to repeat a request safely. */
  idempotencyKey?: string;
  /**
   * Whether the request changes nothing, so that it may be retried as a GET is. GETs are safe without saying so;
   * POST /operations/{id}/wait is safe too, and the client says so itself.
   */
  safe?: boolean;
}

type IsNever<T> = [T] extends [never] ? true : false;

/** The options of a call of route K: its path parameters, query and body, each required when the route requires it. */
export type CallOptions<K extends OperationId> = CallBasics &
  (IsNever<PathParamsOf<K>> extends true ? { path?: undefined } : { path: PathParamsOf<K> }) &
  (IsNever<QueryOf<K>> extends true ? { query?: undefined } : { query?: QueryOf<K> }) &
  (IsNever<BodyOf<K>> extends true ? { body?: undefined } : { body: BodyOf<K> });

/** The argument list of a call of route K: the options may be left out when nothing in them is required. */
export type CallArgs<K extends OperationId> = IsNever<PathParamsOf<K>> extends true
  ? IsNever<BodyOf<K>> extends true
    ? [options?: CallOptions<K>]
    : [options: CallOptions<K>]
  : [options: CallOptions<K>];

/** A successful answer: the decoded body, the status and the headers (x-operation-id, Location, RateLimit-*). */
export interface ApiResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

/** Routes that answer a page at a time: they take a pageToken and answer a nextPageToken. */
export type PagedOperationId = {
  [K in OperationId]: IsNever<QueryOf<K>> extends true
    ? never
    : 'pageToken' extends keyof QueryOf<K>
      ? 'nextPageToken' extends keyof SuccessOf<K>
        ? K
        : never
      : never;
}[OperationId];

/** The items of a page: the element type of its one array (instances, operations). */
export type ItemOf<Page> = { [P in keyof Page]-?: NonNullable<Page[P]> extends ReadonlyArray<infer I> ? I : never }[keyof Page];
