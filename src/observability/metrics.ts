import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FinishedOperation } from '../domain/store.js';
import { RequestTally } from './request-tally.js';

/** The same path from src/observability and from dist/observability. */
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * prom-client's process metrics include gauges named *_total (open handles, requests, resources), which Prometheus'
 * conventions keep for counters and promtool rejects; their per-type siblings (nodejs_active_handles{type}) stay.
 */
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface MetricSources {
  /** Instances whose reconciler work is due or under way. */
  queueDepth(): Promise<number>;
  /** Live instances counted by status. */
  instancesByStatus(): Promise<Array<{ status: string; count: number }>>;
  /** Statements this process has sent to the database. */
  storeQueries(): number;
  /** Event streams and waits open on this process. */
  openStreams(): number;
  openWaits(): number;
  /** Replicas alive by their heartbeats in the store, this one included (replica-liveness.ts). */
  liveReplicas(): number;
}

/**
 * Gale's Prometheus metrics, one registry per server (so tests and several servers in one process do not
 * share counters). Gauges that reflect the store are read when scraped, never maintained by hand.
 */
export class GaleMetrics {
  readonly registry = new Registry();
  /** HTTP requests answered, counted and timed (gale_http_requests_total, gale_http_request_duration_seconds). */
  readonly httpRequests: RequestTally;
  readonly rateLimitRejections: Counter<'tier'>;
  readonly quotaRejections: Counter<'tier'>;
  readonly reconcileOutcomes: Counter<'action' | 'outcome'>;
  readonly rateLimitFallbacks: Counter<'backend'>;
  /** 1 while the shared rate-limit store answers, 0 while its circuit is open and counts fall back to memory. */
  readonly rateLimitStoreUp: Gauge<'backend'>;
  private readonly operationDuration: Histogram<'kind' | 'provider' | 'outcome'>;
  /** Event streams ended, by why: the client left, the server shut down, the client did not read, its timeout. */
  readonly eventStreamsEnded: Counter<'reason'>;

  constructor(sources: MetricSources, private readonly providerName: string) {
    const registers = [this.registry];
    // Under their standard names (process_*, nodejs_*), so that stock dashboards and alerts work as they are.
    collectDefaultMetrics({ register: this.registry });
    for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    new Gauge({
      name: 'gale_build_info',
      help: 'Always 1; the labels say which Gale and which Node.js this process runs',
      labelNames: ['version', 'nodejs'],
      registers,
    }).set({ version, nodejs: process.versions.node }, 1);
    this.operationDuration = new Histogram({
      name: 'gale_operation_duration_seconds',
      help: 'Time from the acceptance of an operation (create, start, stop, restart, reset, delete) to its completion, by how it ended',
      labelNames: ['kind', 'provider', 'outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.httpRequests = new RequestTally(
      this.registry,
      {
        counter: 'gale_http_requests_total',
        counterHelp: 'HTTP requests answered, by route pattern and status',
        histogram: 'gale_http_request_duration_seconds',
        histogramHelp: 'Time to answer HTTP requests',
      },
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    this.rateLimitRejections = new Counter({ name: 'gale_rate_limit_rejections_total', help: 'Requests refused with 429', labelNames: ['tier'], registers });
    this.quotaRejections = new Counter({ name: 'gale_quota_rejections_total', help: 'Creates refused for quota', labelNames: ['tier'], registers });
    this.rateLimitFallbacks = new Counter({
      name: 'gale_rate_limit_fallbacks_total',
      help: 'Requests counted in this replica\'s memory because the shared rate-limit store (Redis, PostgreSQL) did not answer',
      labelNames: ['backend'],
      registers,
    });
    this.rateLimitStoreUp = new Gauge({
      name: 'gale_rate_limit_store_up',
      help: 'Whether the shared rate-limit store (Redis, PostgreSQL) answers: 0 while this replica counts in its own memory instead',
      labelNames: ['backend'],
      registers,
    });
    this.reconcileOutcomes = new Counter({
      name: 'gale_reconciler_operations_total',
      help: 'Reconciler claims finished on this replica, by the action claimed for and how it ended',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.eventStreamsEnded = new Counter({
      name: 'gale_event_streams_ended_total',
      help: 'GET /events streams ended, by reason: client (it left), shutdown, slow (it did not read and was cut off), timeout',
      labelNames: ['reason'],
      registers,
    });
    new Counter({
      name: 'gale_store_queries_total',
      help: 'Statements this process has sent to its database',
      registers,
      collect() {
        this.reset();
        this.inc(sources.storeQueries());
      },
    });
    new Gauge({
      name: 'gale_event_streams',
      help: 'GET /events streams open on this process',
      registers,
      collect() {
        this.set(sources.openStreams());
      },
    });
    new Gauge({
      name: 'gale_waits',
      help: 'Operation and instance waits open on this process',
      registers,
      collect() {
        this.set(sources.openWaits());
      },
    });
    new Gauge({
      name: 'gale_replicas',
      help: 'Replicas alive by their heartbeats in the store at this replica\'s last heartbeat, this one included',
      registers,
      collect() {
        this.set(sources.liveReplicas());
      },
    });
    new Gauge({
      name: 'gale_reconciler_queue_depth',
      help: 'Instances with reconciler work due or under way',
      registers,
      async collect() {
        this.set(await sources.queueDepth());
      },
    });
    new Gauge({
      name: 'gale_instances',
      help: 'Live instances by status and provider',
      labelNames: ['status', 'provider'],
      registers,
      async collect() {
        this.reset();
        for (const { status, count } of await sources.instancesByStatus()) this.set({ status, provider: providerName }, count);
      },
    });
  }

  /** Operations the reconciler finished; a no-op (done when accepted) never reaches the reconciler and is not timed. */
  observeFinishedOperations(operations: FinishedOperation[]): void {
    for (const operation of operations) {
      const seconds = Math.max(0, operation.finishedAt - operation.createdAt) / 1000;
      this.operationDuration.observe({ kind: operation.kind, provider: this.providerName, outcome: operation.state }, seconds);
    }
  }
}
