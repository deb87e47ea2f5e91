/** Time is injected everywhere so that tests can drive it and nothing reads Date.now() behind our back. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with second precision, the form the spec's examples use: 2024-01-01T00:00:00Z. */
export function formatTimestamp(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
