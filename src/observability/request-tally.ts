import type { Metric, Registry } from 'prom-client';

type Labels = { method: string; route: string; status: string };

interface Entry {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket, not cumulative: [i] counts those in (bounds[i-1], bounds[i]], the last those above all. */
  perBucket: number[];
}

/**
 * gale_http_requests_total and gale_http_request_duration_seconds, tallied as plain numbers per method, route and
 * status, and written in prom-client's exposition (the same lines its Counter and Histogram write) when scraped.
 * prom-client's own inc and observe validate and hash their labels on every call, and at a few thousand requests a
 * second that was about 7% of a GET by id; here a request costs a map lookup and three additions.
 */
export class RequestTally {
  private readonly entries = new Map<string, Entry>();

  constructor(
    registry: Registry,
    private readonly names: { counter: string; counterHelp: string; histogram: string; histogramHelp: string },
    private readonly bounds: readonly number[],
  ) {
    registry.registerMetric(this.counterMetric());
    registry.registerMetric(this.histogramMetric());
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { labels: { method, route, status: String(status) }, count: 0, sum: 0, perBucket: new Array<number>(this.bounds.length + 1).fill(0) };
      this.entries.set(key, entry);
    }
    entry.count++;
    entry.sum += seconds;
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket++;
    entry.perBucket[bucket]!++;
  }

  private counterMetric(): Metric {
    const { counter: name, counterHelp: help } = this.names;
    return this.metric(name, help, 'counter', () => [...this.entries.values()].map((entry) => ({ labels: { ...entry.labels }, value: entry.count })));
  }

  private histogramMetric(): Metric {
    const { histogram: name, histogramHelp: help } = this.names;
    return this.metric(name, help, 'histogram', () =>
      [...this.entries.values()].flatMap((entry) => {
        let cumulative = 0;
        const buckets = this.bounds.map((bound, i) => {
          cumulative += entry.perBucket[i]!;
          return { labels: { le: bound, ...entry.labels }, value: cumulative, metricName: `${name}_bucket` };
        });
        return [
          ...buckets,
          { labels: { le: '+Inf', ...entry.labels }, value: entry.count, metricName: `${name}_bucket` },
          { labels: { ...entry.labels }, value: entry.sum, metricName: `${name}_sum` },
          { labels: { ...entry.labels }, value: entry.count, metricName: `${name}_count` },
        ];
      }),
    );
  }

  /** What a Registry needs of a metric: its name, and get() as prom-client's own metrics answer it. */
  private metric(name: string, help: string, type: 'counter' | 'histogram', values: () => unknown[]): Metric {
    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.entries.clear(),
    } as unknown as Metric;
  }
}
