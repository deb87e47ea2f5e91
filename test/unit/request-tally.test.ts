import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { RequestTally } from '../../src/observability/request-tally.js';

/* The tally writes exactly the lines prom-client's own Counter and Histogram write for the same requests. */
test("the request tally's exposition is prom-client's, line for line", async () => {
  const bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  const names = { counter: 'x_requests_total', counterHelp: 'Requests', histogram: 'x_duration_seconds', histogramHelp: 'Durations' };
  const labelNames = ['method', 'route', 'status'] as const;
  const theirs = new Registry();
  const counter = new Counter({ name: names.counter, help: names.counterHelp, labelNames, registers: [theirs] });
  const histogram = new Histogram({ name: names.histogram, help: names.histogramHelp, labelNames, buckets: bounds, registers: [theirs] });
  const ours = new Registry();
  const tally = new RequestTally(ours, names, bounds);

  const requests: Array<[string, string, number, number]> = [
    ['GET', '/api/compute/v1/instances/:id', 200, 0.0004],
    ['GET', '/api/compute/v1/instances/:id', 200, 0.0005],
    ['GET', '/api/compute/v1/instances/:id', 200, 0.003],
    ['GET', '/api/compute/v1/instances/:id', 404, 0.0007],
    ['POST', '/api/compute/v1/instances', 201, 7],
    ['GET', 'unmatched', 404, 0.02],
  ];
  for (const [method, route, status, seconds] of requests) {
    counter.inc({ method, route, status: String(status) });
    histogram.observe({ method, route, status: String(status) }, seconds);
    tally.observe(method, route, status, seconds);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  ours.resetMetrics();
  theirs.resetMetrics();
  assert.equal(await ours.metrics(), await theirs.metrics());
});
