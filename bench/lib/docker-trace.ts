/*
 * Every Engine API call made in this process (the in-process Gale's and the bench's own), with when it was sent and
 * answered, so that a concurrent batch can be cut into phases per container. Hooked into docker-modem's dial, which
 * every dockerode call goes through; off unless traceEngineCalls() is called, so the plain bench measures nothing extra.
 */
import type Dockerode from 'dockerode';
import { summarize } from './docker-stats.js';

export interface EngineCall {
  /** create, start, inspect, remove, list, events, info, other. */
  kind: string;
  /** The container's name (gale-<instance id>), where the call names it or its id was seen created. */
  name: string | undefined;
  sentAt: number;
  answeredAt: number;
  status: number | undefined;
}

export const engineTrace: EngineCall[] = [];
const nameOfId = new Map<string, string>();

function kindOf(method: string, path: string): { kind: string; ref: string | undefined } {
  const p = path.replace(/^\/v[\d.]+/, '');
  let m: RegExpMatchArray | null;
  if ((m = /^\/containers\/create\?name=([^&]+)/.exec(p)) || p.startsWith('/containers/create')) return { kind: 'create', ref: m?.[1] };
  if ((m = /^\/containers\/([^/?]+)\/json/.exec(p))) return { kind: 'inspect', ref: m[1] };
  if ((m = /^\/containers\/([^/?]+)\/start/.exec(p))) return { kind: 'start', ref: m[1] };
  if (method === 'DELETE' && (m = /^\/containers\/([^/?]+)/.exec(p))) return { kind: 'remove', ref: m[1] };
  if (p.startsWith('/containers/json')) return { kind: 'list', ref: undefined };
  if (p.startsWith('/events')) return { kind: 'events', ref: undefined };
  if (p.startsWith('/info')) return { kind: 'info', ref: undefined };
  return { kind: 'other', ref: undefined };
}

export function traceEngineCalls(docker: Dockerode): void {
  const proto = Object.getPrototypeOf(docker.modem) as { dial: (options: { method: string; path: string; options?: unknown }, callback: (error: unknown, data: unknown) => void) => unknown };
  const dial = proto.dial;
  proto.dial = function (this: unknown, options, callback) {
    const sentAt = performance.now();
    // dial prefixes the API version onto options.path; read it first.
    const { kind, ref } = kindOf(options.method, options.path);
    const query = options.options as { name?: string } | undefined;
    return dial.call(this, options, (error: unknown, data: unknown) => {
      const id = (data as { Id?: string } | undefined)?.Id;
      const name = kind === 'create' ? query?.name ?? ref : ref !== undefined ? nameOfId.get(ref) ?? ref : undefined;
      if (kind === 'create' && id && name) nameOfId.set(id, name);
      const status = (error as { statusCode?: number } | null)?.statusCode ?? (error ? undefined : 200);
      engineTrace.push({ kind, name, sentAt, answeredAt: performance.now(), status });
      callback(error, data);
    });
  };
}

/** A phase's time after the batch began, at the median container and the last one. */
function phaseLine(label: string, at: (number | undefined)[]): string {
  const known = at.filter((x): x is number => x !== undefined);
  const s = summarize(known);
  return `  ${label.padEnd(30)} median ${s.median.toFixed(0).padStart(6)} ms  last ${s.max.toFixed(0).padStart(6)} ms  (n=${known.length})`;
}

/** Where a batch's time went, per container, from the engine calls made since `from` (BENCH_TRACE=1). */
export function phases(prefix: string, names: string[], from: number, extra: Record<string, (number | undefined)[]>): string {
  const calls = engineTrace.filter((c) => c.sentAt >= from && c.name !== undefined && names.includes(c.name));
  const first = (name: string, kind: string, field: 'sentAt' | 'answeredAt') => calls.find((c) => c.name === name && c.kind === kind)?.[field];
  const rel = (x: number | undefined) => (x === undefined ? undefined : x - from);
  const lines = [`${prefix}: engine calls ${Object.entries(countBy(calls.map((c) => c.kind))).map(([k, n]) => `${k} ${n}`).join(', ')}`];
  for (const [label, xs] of Object.entries(extra)) lines.push(phaseLine(label, xs));
  lines.push(phaseLine('first engine call sent', names.map((n) => rel(calls.find((c) => c.name === n)?.sentAt))));
  lines.push(phaseLine('create sent', names.map((n) => rel(first(n, 'create', 'sentAt')))));
  lines.push(phaseLine('create answered', names.map((n) => rel(first(n, 'create', 'answeredAt')))));
  lines.push(phaseLine('start sent', names.map((n) => rel(first(n, 'start', 'sentAt')))));
  lines.push(phaseLine('start answered', names.map((n) => rel(first(n, 'start', 'answeredAt')))));
  return lines.join('\n');
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** This process's CPU time since `since`, in ms: the Gale under test shares it with the bench's own requests. */
export function cpuMs(since: NodeJS.CpuUsage): string {
  const used = process.cpuUsage(since);
  return ((used.user + used.system) / 1000).toFixed(0);
}
