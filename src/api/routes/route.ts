import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest, FastifySchema, RawRequestDefaultExpression, RawServerDefault, RouteGenericInterface } from 'fastify';
import type { IdempotentWrite, StoredResponse } from '../../domain/idempotency.js';
import type { GaleMetrics } from '../../observability/metrics.js';
import type { Access, ApiServices } from '../services.js';
import type { Parts, RouteDoc } from './route-schema.js';

/*
 * A route is one definition: where it is, who may call it, its schemas and words for the OpenAPI document, whether it
 * is idempotent, and its handler. The table (index.ts) lists the definitions; registration (register.ts) turns each
 * into a Fastify route, claiming and replaying Idempotency-Keys for those that take one, so handlers never do.
 */

/**
 * Who may call a route. `twins` is an instance route that comes twice from one definition: the owner's under
 * /instances (scope user), and compute admins' over anyone's under /admin/instances (scope admin, operationId adminX,
 * tag admin). Its handler is made once for each, and learns which from its context.
 */
export type RouteScope = Access | 'twins';

/**
 * A named readiness check, one per dependency: resolves when it can be used (with a word on how it stands,
 * 'ok' if none), throws with a message saying what is wrong. A check that reports a degraded dependency without
 * throwing (the rate-limit store, whose outage the API rides out) does not make the replica unready.
 */
export type ReadinessChecks = Record<string, () => Promise<string | void>>;

/** What a handler is made with, once per registration. */
export interface RouteContext {
  services: ApiServices;
  /** The access of this registration: a twin's handler is made once as user and once as admin. */
  scope: Access;
  /** What only the operability routes use: the readiness checks, the metrics and the served document. */
  operability: { readiness: ReadinessChecks; metrics: GaleMetrics; document: () => unknown };
}

/**
 * An idempotent route whose answer is kept and sent again: the handler returns the change's outcome, and the table
 * sends answer(outcome), the same bytes a repeat with the key gets (marked Idempotent-Replayed).
 */
export interface Replayable<T> {
  answer(outcome: T, services: ApiServices): StoredResponse;
}

/**
 * An idempotent route whose answer cannot be sent again (it holds a secret, which is not kept): the store keeps
 * receipt(outcome) for the key, the handler answers by itself, and a repeat is refused with refusal(receipt, key).
 */
export interface NotReplayable<T> {
  receipt(outcome: T): StoredResponse;
  refusal(receipt: StoredResponse, key: string): Error;
}

/** The route's words and schemas, as route-schema.ts documents them; access and idempotency come from the definition. */
export interface RouteBase extends Omit<RouteDoc, 'access' | 'idempotent'> {
  /** Fastify's form (/instances/:id), under the API base unless atRoot. */
  path: string;
  scope: RouteScope;
  /** Served outside the API base: the operability probes (/healthz, /readyz, /metrics). */
  atRoot?: true;
  /** A twins route's admin twin, where its words differ from the owner's route. */
  admin?: { summary?: string; errors?: RouteDoc['errors'] };
  /** Component schemas this route brings, which it refers to by $id (Type.Ref): registered with the app. */
  schemas?: TSchema[];
}

/** The request a handler gets, typed by the schemas its route declares. */
export type RequestOf<D extends RouteBase> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  FastifySchema & Parts<D>,
  TypeBoxTypeProvider
>;

/** The write to hand the store with the change: the caller's key and the answer to keep, or undefined without a key. */
export type WriteOf<T> = IdempotentWrite<T> | undefined;

/** What the store is handed with the change, and what the handler returns: the outcome, when the table answers. */
type OutcomeOf<D> = D extends { idempotent: Replayable<infer T> } ? T : D extends { idempotent: NotReplayable<infer T> } ? T : never;
type ReturnOf<D> = D extends { idempotent: Replayable<infer T> } ? T : unknown;

/** Makes a route's handler, once per registration (twice for twins), so that it may keep what it needs between requests. */
export type HandlerFactory<D extends RouteBase> = (
  context: RouteContext,
) => (request: RequestOf<D>, reply: FastifyReply, write: WriteOf<OutcomeOf<D>>) => Promise<ReturnOf<D>> | ReturnOf<D>;

/** A definition as the table holds it, its types erased. */
export interface RouteDefinition extends RouteBase {
  idempotent?: Replayable<never> | NotReplayable<never>;
  handler: (context: RouteContext) => (request: FastifyRequest, reply: FastifyReply, write: WriteOf<unknown>) => unknown;
}

/**
 * A route from its definition and its handler. The handler is a second argument so that TypeScript types its request
 * from the definition's schemas; an idempotent route's handler is handed the write for the store, and a replayable
 * one returns the change's outcome, which the table answers with.
 */
export function defineRoute<D extends RouteBase & { idempotent?: Replayable<never> | NotReplayable<never> }>(definition: D, handler: HandlerFactory<D>): RouteDefinition {
  return { ...definition, handler } as unknown as RouteDefinition;
}
