/** What each benchmark returns: figures for the table, with their raw per-run values. */

export interface Figure {
  /** the benchmark it belongs to (idle, sampling, …) */
  bench: string;
  /** what is measured, as shown in the table */
  name: string;
  /** the goal as text, e.g. "≤ 60 MB"; absent for context figures */
  goal?: string;
  /** the headline number (a median over runs) */
  value: number | null;
  unit: string;
  /** how the headline number spreads, e.g. "min–max 40.1–42.3" */
  spread?: string;
  /** number of runs (or samples) behind the value */
  runs: number;
  /** true/false when there is a goal, null when it could not be measured */
  met?: boolean | null;
  note?: string;
  /** raw per-run values */
  samples?: number[];
}

export interface BenchContext {
  quick: boolean;
  /** node flags for every agent started (e.g. --cpu-prof) */
  agentNodeArgs(label: string): string[];
  log(message: string): void;
}

export interface Bench {
  name: string;
  /** rough duration, for the plan printed at start */
  estimateS(quick: boolean): number;
  run(ctx: BenchContext): Promise<Figure[]>;
}
