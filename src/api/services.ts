import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CatalogIndex } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { ProviderCapabilities, SerialOutput } from '../domain/provider.js';
import type { EventStore, InstanceStore, UserStore } from '../domain/store.js';
import type { LiveEvents } from './events/live-events.js';
import type { Tier, Tiers } from '../domain/tiers.js';
import type { AuthFailureGuard } from './auth-failures.js';
import type { Authenticator, Principal } from './authenticator.js';
import type { RequestLimiter } from './limiter/request-limiter.js';

/** Everything a route handler may use, built once by the composition root. */
export interface ApiServices {
  store: InstanceStore & UserStore & EventStore;
  /** The event hub, and the caps on open streams and waits (GET /events, the wait routes). */
  events: LiveEvents;
  catalog: CatalogIndex;
  tiers: Tiers;
  defaultTier: string;
  authenticator: Authenticator;
  /** Counts failed authentications and turns those past the allowance into 429s. */
  authFailures: AuthFailureGuard;
  limiter: RequestLimiter;
  clock: Clock;
  /** How long an Idempotency-Key is remembered (config retention.idempotencyKeysMs). */
  idempotencyKeyTtlMs: number;
  /** What the backend can do beyond the basics: an operation it cannot carry out is refused before it is accepted. */
  /** What the provider of a zone can do. */
  capabilitiesOf(zone: string): ProviderCapabilities;
  /** An instance's console output from byte start (GET .../serialPortOutput); null when its provider has no console. */
  serialConsole: (instanceId: string, start: number) => Promise<SerialOutput | null>;
  /** Byte-exact answers for operators who need the spec's literal text (config `compat`). */
  compat: { emptyAccepted: boolean };
  /** Tells the reconciler that there is new work, so it need not wait for its next poll. */
  onWorkQueued: () => void;
}

export type GaleApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Who may call a route: anyone, any authenticated user (rate limited), or compute admins (not rate limited). */
export type Access = 'public' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export function tierOf(services: Pick<ApiServices, 'tiers' | 'defaultTier'>, tierName: string): Tier {
  return services.tiers[tierName] ?? services.tiers[services.defaultTier]!;
}

/** The authenticated caller; routes with access 'user' or 'admin' always have one. */
export function principalOf(request: { principal: Principal | undefined }): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}
