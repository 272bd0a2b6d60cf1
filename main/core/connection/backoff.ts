/**
 * Reconnect delays: exponential from 1 s up to 60 s, each randomised between half and all of its
 * step ("equal jitter") so that a fleet of agents dropped together does not reconnect in step.
 * After an established connection drops, the first wait is 3 s (the spec), jittered by up to 20 %.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  afterDropMs?: number;
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  private dropped = false;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly afterDropMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 1_000;
    this.maxMs = opts.maxMs ?? 60_000;
    this.afterDropMs = opts.afterDropMs ?? 3_000;
    this.random = opts.random ?? Math.random;
  }

  /** An authenticated session ended: the next wait is the after-drop pause. */
  afterDrop(): void {
    this.failures = 0;
    this.dropped = true;
  }

  /** Authentication succeeded: start over. */
  reset(): void {
    this.failures = 0;
    this.dropped = false;
  }

  /** Failed attempts since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The wait before the next attempt; counts this as one more failure. */
  next(): number {
    if (this.dropped) {
      this.dropped = false;
      return Math.round(this.afterDropMs * (1 + 0.2 * this.random()));
    }
    const step = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures += 1;
    return Math.round(step / 2 + (step / 2) * this.random());
  }
}
