/** Time is injected everywhere so that tests can drive it and nothing reads Date.now() behind our back. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with second precision, the form the spec's examples use: 2024-01-01T00:00:00Z. */
export function formatTimestamp(epochMs: number): string {
  // toISOString is always YYYY-MM-DDTHH:MM:SS.sssZ for the years we store; dropping the milliseconds by slicing
  // is cheaper than a replace, and this runs once per instance in every list.
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}
