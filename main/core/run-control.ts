/**
 * Pause, resume, drain and the ephemeral agent (PROTOCOL.md, Agent control): whether queued tasks may
 * start, and when an agent with nothing left to run ends. The platform's frames, the CLI's signals and
 * the UI's buttons all come here, so they can never disagree on the state.
 */
import type { CommandResult, ControlView } from './api.js';
import type { Logger } from './logging/logger.js';

export interface RunControlOptions {
  /** no queued task starts while true (the scheduler's hold) */
  hold: (held: boolean) => void;
  /** settles once no task runs */
  whenIdle: () => Promise<void>;
  /** the drained agent ends: close with 1000, exit 0 (running tasks, if any, are stopped with their grace) */
  end: (why: string) => Promise<void>;
  onChange: (view: ControlView) => void;
  log: Logger;
  /** run exactly one task, then drain */
  ephemeral: boolean;
  /** seconds a drain waits for running tasks before it stops them; null: as long as they take */
  drainTimeoutS: number | null;
}

export class RunControl {
  private paused = false;
  private draining = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(private readonly opts: RunControlOptions) {}

  view(): ControlView {
    return { paused: this.paused || this.draining, draining: this.draining, ephemeral: this.opts.ephemeral };
  }

  /** `who` names the source in the log: "the platform", "SIGQUIT", "the UI". */
  pause(who: string): CommandResult {
    if (this.draining) return { ok: true, message: 'draining: no new task starts anyway' };
    if (this.paused) return { ok: true };
    this.paused = true;
    this.opts.log.info(`paused by ${who}: queued tasks wait, running ones go on`);
    this.changed();
    return { ok: true };
  }

  resume(who: string): CommandResult {
    // a drain is a promise to the operator that the agent goes away: only a new start undoes it
    if (this.draining) {
      this.opts.log.warn(`resume from ${who} ignored: the agent is draining and exits once nothing runs`);
      return { ok: false, message: 'the agent is draining: it exits once nothing runs, and cannot be resumed' };
    }
    if (!this.paused) return { ok: true };
    this.paused = false;
    this.opts.log.info(`resumed by ${who}`);
    this.changed();
    return { ok: true };
  }

  drain(who: string): CommandResult {
    if (this.draining) return { ok: true };
    this.draining = true;
    const limit = this.opts.drainTimeoutS;
    this.opts.log.info(
      `draining (${who}): no new task starts; the agent exits once nothing runs${limit === null ? '' : ` (at most ${limit} s, then running tasks are stopped)`}`,
    );
    this.changed();
    if (limit !== null) {
      this.drainTimer = setTimeout(() => this.finish(`the drain timeout (${limit} s) passed`), limit * 1000);
    }
    this.opts
      .whenIdle()
      .then(() => this.finish('nothing runs any more'))
      .catch((err: unknown) => this.opts.log.error(`drain: ${(err as Error)?.message ?? String(err)}`));
    return { ok: true };
  }

  /** A queued task is being started: an ephemeral agent takes no other. */
  taskStarting(taskId: string): void {
    if (this.opts.ephemeral && !this.draining) this.drain(`ephemeral: task ${taskId} is its one task`);
  }

  /** The agent stops for another reason: no timer outlives it. */
  dispose(): void {
    this.ended = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
  }

  private finish(why: string): void {
    if (this.ended) return;
    this.dispose();
    this.opts.log.info(`drained: ${why}; stopping`);
    this.opts.end(why).catch((err: unknown) => this.opts.log.error(`ending after the drain failed: ${String(err)}`));
  }

  private changed(): void {
    this.opts.hold(this.paused || this.draining);
    this.opts.onChange(this.view());
  }
}
