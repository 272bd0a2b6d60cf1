/**
 * The operator's hooks around a task (config `hooks`): `pre_task` before the command, `post_task`
 * after every end. Each hook runs like a task (runner.ts): the task's shell, dir, environment and
 * user, its own process group, its whole tree ended at `hooks.timeout`. Its output goes to the task
 * log as agent-stream lines, masked like the command's. Hooks come from the config only: a task
 * frame has no field that sets one.
 *
 * Order: pre_task → command → post_task. A failing pre_task (non-zero exit, timeout, no start) ends
 * the task `error` / HOOK_FAILED and the command does not run; post_task still runs, so that it can
 * undo what pre_task did halfway. A failing post_task changes nothing of the result.
 */
import { ErrorCode } from '../protocol/codes.js';
import type { OutputBatch } from './output-batcher.js';
import {
  startTask,
  type RunHooks,
  type RunningTask,
  type RunOutcome,
  type RunSpec,
  type StopReason,
} from './runner.js';
import { unrun } from './reporting.js';
import { maskText } from './secret-masker.js';

export interface HookSettings {
  pre_task?: string;
  post_task?: string;
  /** seconds each hook may run */
  timeout: number;
}

export type HookName = 'pre_task' | 'post_task';

/** how much of a failing pre_task's stderr the result's error text quotes */
const STDERR_QUOTED_CHARS = 1_000;

/** The command between the operator's hooks, as one RunningTask: a stop reaches whatever runs now. */
export function startWithHooks(
  spec: RunSpec,
  handlers: RunHooks,
  hooks: HookSettings | undefined,
  start: typeof startTask = startTask,
  /** the hooks' own handlers: the command's may hold what only the command has (its limits' samples) */
  hookHandlers: RunHooks = handlers,
): RunningTask {
  if (!hooks?.pre_task && !hooks?.post_task) return start(spec, handlers);
  return new HookedRun(spec, handlers, hooks, start, hookHandlers);
}

class HookedRun implements RunningTask {
  readonly done: Promise<RunOutcome>;
  private current: RunningTask | null = null;
  private phase: 'pre_task' | 'command' | 'post_task' = 'pre_task';
  private stopReason: StopReason | null = null;
  private paused = false;

  constructor(
    private readonly spec: RunSpec,
    private readonly handlers: RunHooks,
    private readonly hooks: HookSettings,
    private readonly start: typeof startTask,
    private readonly hookHandlers: RunHooks,
  ) {
    const startedAt = new Date();
    this.done = this.life().then(
      (outcome) => ({ ...outcome, startedAt, finishedAt: new Date() }),
      (err: unknown) =>
        unrun(
          'error',
          ErrorCode.TASK_EXECUTION_FAILED,
          `the agent failed running the task's hooks: ${String(err)}`,
          startedAt,
        ),
    );
  }

  get pid(): number | undefined {
    return this.current?.pid;
  }

  stop(reason: StopReason): void {
    // the command has ended: its status stands; only a shutdown cuts the post_task hook short
    if (this.phase === 'post_task') {
      if (reason === 'shutdown') this.current?.stop(reason);
      return;
    }
    this.stopReason ??= reason;
    this.current?.stop(reason);
  }

  pause(): void {
    this.paused = true;
    this.current?.pause();
  }

  resume(): void {
    this.paused = false;
    this.current?.resume();
  }

  private async life(): Promise<Omit<RunOutcome, 'startedAt' | 'finishedAt'>> {
    let outcome: Omit<RunOutcome, 'startedAt' | 'finishedAt'> | null = null;
    if (this.hooks.pre_task) {
      const pre = await this.runHook('pre_task', this.hooks.pre_task, this.spec.env);
      if (this.stopReason) outcome = stoppedBefore(this.stopReason);
      else if (pre.status !== 'success') outcome = preTaskFailed(pre, this.hooks.timeout);
    }
    if (!outcome && this.stopReason) outcome = stoppedBefore(this.stopReason);
    if (!outcome) {
      this.phase = 'command';
      outcome = await this.follow(this.start(this.spec, this.handlers));
    }
    this.phase = 'post_task';
    if (this.hooks.post_task) {
      await this.runHook('post_task', this.hooks.post_task, {
        ...this.spec.env,
        ATS_TASK_STATUS: outcome.status,
        ATS_TASK_EXIT_CODE: String(outcome.exitCode),
      });
    }
    return outcome;
  }

  private async runHook(name: HookName, command: string, env: Record<string, string>): Promise<RunOutcome> {
    // at shutdown the agent must stop within its grace period: a post_task hook gets no longer
    const timeoutS =
      this.stopReason === 'shutdown' ? Math.min(this.hooks.timeout, this.spec.killGraceMs / 1000) : this.hooks.timeout;
    const say = (text: string) => this.handlers.onOutput({ stream: 'agent', text: `[${name}] ${text}` });
    say(`$ ${maskText(command, this.spec.secrets ?? [])}`);
    // the task's limits (launch) hold its command, not the operator's hooks
    const run = this.start(
      { ...this.spec, command, env, timeoutMs: timeoutS * 1000, launch: undefined },
      { onSpawn: this.hookHandlers.onSpawn, onOutput: (batch) => this.hookHandlers.onOutput(asHookLines(name, batch)) },
    );
    const outcome = await this.follow(run);
    const seconds = (outcome.finishedAt.getTime() - outcome.startedAt.getTime()) / 1000;
    say(`${describe(outcome, timeoutS)} after ${seconds.toFixed(2)} s`);
    return outcome;
  }

  private async follow(run: RunningTask): Promise<RunOutcome> {
    this.current = run;
    if (this.paused) run.pause();
    try {
      return await run.done;
    } finally {
      this.current = null;
    }
  }
}

/** A hook's stdout and stderr both become agent lines, each marked with the hook's name. */
function asHookLines(name: HookName, batch: OutputBatch): OutputBatch {
  const text = batch.text
    .split('\n')
    .map((line) => `[${name}] ${line}`)
    .join('\n');
  // relabelled, the stdout and stderr lines share one stream: a half line cannot continue there
  return { stream: 'agent', text };
}

function describe(outcome: RunOutcome, timeoutS: number): string {
  switch (outcome.status) {
    case 'success':
      return 'exit 0';
    case 'failed':
      return `failed: exit ${outcome.exitCode}${outcome.signal ? ` (${outcome.signal})` : ''}`;
    case 'timeout':
      return `timed out (hooks.timeout ${timeoutS} s)`;
    case 'cancelled':
      return 'stopped (the task was cancelled)';
    case 'error':
      return `failed: ${outcome.error}`;
  }
}

function preTaskFailed(pre: RunOutcome, timeoutS: number): Omit<RunOutcome, 'startedAt' | 'finishedAt'> {
  const stderr = pre.error.trim().slice(-STDERR_QUOTED_CHARS);
  const why =
    pre.status === 'timeout'
      ? `timed out after ${timeoutS} s (hooks.timeout)`
      : pre.status === 'failed'
        ? `exited with ${pre.exitCode}${pre.signal ? ` (${pre.signal})` : ''}${stderr ? `: ${stderr}` : ''}`
        : `could not run: ${pre.error}`;
  return unrun('error', ErrorCode.HOOK_FAILED, `the pre_task hook ${why}; the command did not run`);
}

function stoppedBefore(reason: StopReason): Omit<RunOutcome, 'startedAt' | 'finishedAt'> {
  return reason === 'shutdown'
    ? unrun('error', ErrorCode.AGENT_SHUTDOWN, 'the agent shut down during the pre_task hook; the command did not run')
    : unrun('cancelled', ErrorCode.TASK_CANCELLED, 'cancelled during the pre_task hook; the command did not run');
}
