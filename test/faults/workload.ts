import assert from 'node:assert/strict';
import type { Credentials } from '../helpers/http.js';

/*
 * Users at work while a fault happens: creates, reads, lists, stops, starts and deletes through every replica, each
 * request with a client deadline. Every answer is kept, so that a test can say afterwards that each was an answer
 * (never a timeout, never a dropped connection), that a failure was a 503 telling when to retry, and what was
 * accepted: that is what must have been carried out once the fault is over.
 */

const V1 = '/api/compute/v1';

export interface Answered {
  route: string;
  status: number;
  retryAfter: string | null;
  ms: number;
  /** Set when there was no answer: the deadline passed or the connection failed. */
  failure?: string;
  /** The error code of an error answer. */
  code?: string;
}

/** What the clients were told was accepted, per instance. */
export interface Accepted {
  owner: Credentials;
  desired: 'RUNNING' | 'TERMINATED';
  deleted: boolean;
  /** Boots asked for: the create's, and each start that was not a no-op. */
  boots: number;
}

export interface WorkloadOptions {
  bases: string[];
  users: Credentials[];
  template: string;
  /** The client's deadline for one answer. */
  deadlineMs: number;
  workers?: number;
  /** At most this many live instances per user (below the tier's quota, so that creates are not refused for it). */
  perUser?: number;
}

export class Workload {
  readonly answers: Answered[] = [];
  readonly accepted = new Map<string, Accepted>();
  private running = false;
  private loops: Promise<void>[] = [];
  private turn = 0;

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.workers ?? 4 }, (_, worker) => this.loop(worker));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(worker: number): Promise<void> {
    while (this.running) {
      const user = this.options.users[(worker + this.turn++) % this.options.users.length]!;
      await this.step(user);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** One request of one user: whatever moves that user's instances along. */
  private async step(user: Credentials): Promise<void> {
    const mine = [...this.accepted.entries()].filter(([, a]) => a.owner === user && !a.deleted);
    const roll = Math.random();
    if (mine.length < (this.options.perUser ?? 2) && roll < 0.5) {
      const made = await this.send<{ id: string }>(user, 'POST', '/instances', { template_id: this.options.template });
      if (made?.status === 201) this.accepted.set(made.body.id, { owner: user, desired: 'RUNNING', deleted: false, boots: 1 });
      return;
    }
    if (mine.length === 0 || roll < 0.7) {
      await this.send(user, 'GET', roll < 0.6 ? '/instances' : '/quotas');
      return;
    }
    const [id, state] = mine[Math.floor(Math.random() * mine.length)]!;
    if (roll < 0.78) {
      await this.send(user, 'GET', `/instances/${id}`);
    } else if (roll < 0.95) {
      const operation = state.desired === 'RUNNING' ? 'stop' : 'start';
      const answer = await this.send<{ status: string }>(user, 'POST', `/instances/${id}/${operation}`);
      if (answer?.status === 202) {
        state.desired = operation === 'stop' ? 'TERMINATED' : 'RUNNING';
        if (operation === 'start' && answer.body.status !== 'DONE') state.boots += 1;
      }
    } else {
      const answer = await this.send(user, 'DELETE', `/instances/${id}`);
      if (answer?.status === 204) state.deleted = true;
    }
  }

  private async send<T>(user: Credentials, method: string, path: string, body?: unknown): Promise<{ status: number; body: T } | undefined> {
    const base = this.options.bases[this.turn % this.options.bases.length]!;
    const started = performance.now();
    const route = `${method} ${path.replace(/tw-[0-9a-f-]+/, '{id}')}`;
    try {
      const response = await fetch(`${base}${V1}${path}`, {
        method,
        headers: { ...user.bearer, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.deadlineMs),
      });
      const text = await response.text();
      const parsed = (text ? JSON.parse(text) : undefined) as T & { error?: { code: string } };
      this.answers.push({ route, status: response.status, retryAfter: response.headers.get('retry-after'), ms: performance.now() - started, code: parsed?.error?.code });
      return { status: response.status, body: parsed };
    } catch (error) {
      this.answers.push({ route, status: 0, retryAfter: null, ms: performance.now() - started, failure: (error as Error).message });
      return undefined;
    }
  }

  /**
   * Every request got an answer within its deadline; every failure was a 503 `unavailable` with Retry-After (a
   * dependency's fault), a 409 (the instance was busy) or a 404 (already gone); never a 500. Returns the figures.
   */
  assertAnswered(what: string): { requests: number; failed503: number; maxMs: number; byStatus: string } {
    const problems = this.answers.filter(
      (a) => a.status === 0 || (a.status >= 500 && !(a.status === 503 && a.code === 'unavailable' && Number(a.retryAfter) >= 1)) || a.status === 400 || a.status === 401,
    );
    assert.deepEqual(problems.slice(0, 10), [], `${what}: ${problems.length} answers out of ${this.answers.length} were not what a dependency fault may give`);
    const counts = new Map<number, number>();
    for (const a of this.answers) counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    return {
      requests: this.answers.length,
      failed503: counts.get(503) ?? 0,
      maxMs: Math.round(Math.max(0, ...this.answers.map((a) => a.ms))),
      byStatus: [...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${s}x${n}`).join(' '),
    };
  }
}
