/** Summary statistics of one series of timings, in milliseconds. */
export interface Summary {
  n: number;
  median: number;
  p90: number;
  mean: number;
  min: number;
  max: number;
}

/** Linear interpolation between closest ranks: with 10 samples, nearest-rank p90 would simply be the 9th value. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    mean: sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * The median of gale[i] / raw[i] over cycles run back to back. Neighbouring cycles share the machine's load of the
 * moment, so on a busy host this varies less than the ratio of the two medians.
 */
export function pairedRatio(gale: readonly number[], raw: readonly number[]): number {
  const ratios = gale.slice(0, raw.length).map((g, i) => g / raw[i]!);
  return percentile([...ratios].sort((a, b) => a - b), 0.5);
}

const ms = (x: number): string => `${x.toFixed(0).padStart(6)} ms`;

/** One line per operation: raw and Gale side by side, and Gale's cost as a ratio of raw. */
export function formatRow(label: string, gale: Summary, raw: Summary, paired: number): string {
  const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a').padStart(5);
  return [
    label.padEnd(18),
    `raw median ${ms(raw.median)}  p90 ${ms(raw.p90)}`,
    `gale median ${ms(gale.median)}  p90 ${ms(gale.p90)}`,
    `ratio median ${ratio(gale.median, raw.median)}  p90 ${ratio(gale.p90, raw.p90)}  paired ${paired.toFixed(2)}`,
  ].join(' | ');
}
