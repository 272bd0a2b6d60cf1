/** Small statistics and formatting helpers for the benchmark. */

export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Linear interpolation between closest ranks; p in 0..100. NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);
export const min = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : Number.NaN);
export const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : Number.NaN);

/** A number with a sensible number of significant digits for a table. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.1) return x.toFixed(3);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
