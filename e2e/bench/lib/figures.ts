import { max, median, min, num } from './stats.js';
import type { Figure } from './types.js';

/** A figure from per-run values: the median, with min–max as its spread. */
export function fromRuns(
  bench: string,
  name: string,
  runs: number[],
  unit: string,
  goal?: { text: string; ok: (median: number) => boolean },
  note?: string,
): Figure {
  const value = runs.length ? median(runs) : null;
  return {
    bench,
    name,
    goal: goal?.text,
    value,
    unit,
    spread: runs.length > 1 ? `${num(min(runs))}–${num(max(runs))}` : undefined,
    runs: runs.length,
    met: goal ? (value === null ? null : goal.ok(value)) : undefined,
    note,
    samples: runs,
  };
}

export const atMost = (limit: number, unit: string) => ({
  text: `≤ ${limit} ${unit}`.trim(),
  ok: (v: number) => v <= limit,
});
export const atLeast = (limit: number, unit: string) => ({
  text: `≥ ${limit} ${unit}`.trim(),
  ok: (v: number) => v >= limit,
});
