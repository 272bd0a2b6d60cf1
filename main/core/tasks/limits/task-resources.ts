/**
 * One task's resources from start to result: its `limits` (a cgroup where the agent can make one,
 * else rlimits, cgroup.ts / rlimit.ts) and its `usage` (the cgroup's exact counters, else samples of
 * /proc, usage/proc-usage.ts). Without a cgroup the memory limit is also held tree-wide by the
 * samples: RLIMIT_DATA is per process, so a tree over its limit in sum is ended by the agent.
 */
import type { LimitName, LimitsApplied, TaskFrame, TaskUsage } from '../../protocol/frames.js';
import { ErrorCode } from '../../protocol/codes.js';
import type { TaskLaunch, RunOutcome } from '../runner.js';
import { ProcTreeUsage, emptyUsage } from '../usage/proc-usage.js';
import { TaskCgroup, type CgroupLookup } from './cgroup.js';
import { allocationFailed, rlimitPlan } from './rlimit.js';

/** What the host offers every task: found once per agent. */
export interface ResourceHost {
  cgroup: () => CgroupLookup;
  prlimit: string | null;
}

export interface ResourceReport {
  usage: TaskUsage;
  limits_applied?: LimitsApplied;
  limits_unenforced?: LimitName[];
}

/** How often the tree is sampled: soon after the start (short tasks), then every second. */
const SAMPLE_STEPS_MS = [100, 200, 400, 800];
const SAMPLE_EVERY_MS = 1_000;
/** while a memory limit is held by sampling */
const WATCH_EVERY_MS = 250;
/** waits on fd 3 until the agent has moved it into the group, then runs the shell in its place */
export const GATE = ['/bin/sh', '-c', 'read -r _ <&3; exec 3<&-; exec "$@"', 'ats-agent-gate'];

export class TaskResources {
  readonly launch: TaskLaunch | undefined;
  /** agent lines for the task's log: how its limits are held, or why not */
  readonly notes: string[] = [];
  private readonly applied: LimitsApplied | undefined;
  private readonly unenforced: LimitName[] = [];
  private readonly cgroup: TaskCgroup | null = null;
  private movedIn = false;
  private sampler: ProcTreeUsage | null = null;
  private timer: NodeJS.Timeout | null = null;
  private step = 0;
  private overLimit = false;
  private readonly memoryLimitMb: number | undefined;

  constructor(
    frame: TaskFrame,
    taskUid: number,
    host: ResourceHost,
    /** the tree went past memory_mb where only sampling sees the sum: the task is to be ended */
    private readonly onOverLimit: (message: string) => void,
  ) {
    const limits = frame.limits ?? undefined;
    this.memoryLimitMb = limits?.memory_mb;
    if (!limits || Object.keys(limits).length === 0) return;
    const requested = (Object.keys(limits) as LimitName[]).filter((k) => limits[k] !== undefined);
    const found = host.cgroup();
    if (found.ok) {
      try {
        const { group, unenforced } = TaskCgroup.create(found.base, frame.task_id, limits);
        this.cgroup = group;
        this.applied = 'cgroup';
        this.unenforced.push(...unenforced);
        this.launch = {
          prefix: GATE,
          gate: (pid) => {
            group.addProcess(pid);
            this.movedIn = true;
          },
        };
        this.notes.push(`limits held by the cgroup ${group.dir}`);
        this.noteUnenforced();
        return;
      } catch (err) {
        this.notes.push(`cannot create the task's cgroup (${(err as Error).message}); using rlimits`);
      }
    }
    const plan = host.prlimit ? rlimitPlan(host.prlimit, limits, taskUid) : null;
    if (plan) {
      this.applied = 'rlimit';
      this.unenforced.push(...plan.unenforced);
      this.launch = { prefix: plan.prefix };
      this.notes.push(
        `limits held by rlimits (${found.ok ? 'no cgroup' : found.why})${limits.memory_mb !== undefined ? `; memory_mb is RLIMIT_DATA per process, and the agent ends the tree when its sampled total passes ${limits.memory_mb} MB` : ''}`,
      );
    } else {
      this.applied = 'none';
      this.unenforced.push(...requested);
      this.notes.push(
        `the task's limits cannot be enforced here (${found.ok ? 'no cgroup' : found.why}; ${host.prlimit ? 'no rlimit expresses them' : 'no prlimit program'})`,
      );
    }
    this.noteUnenforced();
  }

  /** The task's root runs: the samples start. */
  started(pid: number, start: number | undefined): void {
    this.sampler = new ProcTreeUsage(pid, start);
    this.schedule();
  }

  /** After the run: the usage, and the outcome with what the limits did to it. */
  finish(outcome: RunOutcome): { outcome: RunOutcome; report: ResourceReport } {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const sampled = this.sampler?.result() ?? emptyUsage();
    let usage = sampled;
    let next = outcome;
    if (this.cgroup && this.movedIn) {
      const exact = this.cgroup.usage();
      if (exact) usage = { ...exact, peak_rss_mb: exact.peak_rss_mb ?? sampled.peak_rss_mb };
      if (outcome.status === 'failed' && this.cgroup.oomKilled()) next = overLimit(outcome, this.memoryLimitMb);
    } else if (
      this.applied === 'rlimit' &&
      this.memoryLimitMb !== undefined &&
      outcome.status === 'failed' &&
      outcome.errorCode === null &&
      allocationFailed(outcome.error)
    ) {
      next = overLimit(outcome, this.memoryLimitMb);
    }
    if (this.cgroup && !this.cgroup.remove()) this.notes.push(`the cgroup ${this.cgroup.dir} could not be removed`);
    const applied = this.cgroup && !this.movedIn ? 'none' : this.applied;
    return {
      outcome: next,
      report: {
        usage,
        ...(applied ? { limits_applied: applied, limits_unenforced: [...new Set(this.unenforced)] } : {}),
      },
    };
  }

  private noteUnenforced(): void {
    if (this.unenforced.length) this.notes.push(`not enforceable here: ${this.unenforced.join(', ')}`);
  }

  private schedule(): void {
    const watching = this.memoryLimitMb !== undefined && this.applied !== 'cgroup';
    const wait = this.step < SAMPLE_STEPS_MS.length ? SAMPLE_STEPS_MS[this.step++]! : SAMPLE_EVERY_MS;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.sampler!.sample();
        this.watch();
        this.schedule();
      },
      watching ? Math.min(wait, WATCH_EVERY_MS) : wait,
    );
    this.timer.unref();
  }

  private watch(): void {
    const limit = this.memoryLimitMb;
    if (limit === undefined || this.applied === 'cgroup' || this.overLimit || !this.sampler) return;
    const mb = this.sampler.rssBytes / (1024 * 1024);
    if (mb <= limit) return;
    this.overLimit = true;
    this.onOverLimit(`the task's processes use ${mb.toFixed(0)} MB, past its memory limit of ${limit} MB`);
  }
}

function overLimit(outcome: RunOutcome, limitMb: number | undefined): RunOutcome {
  const why = `the task went past its memory limit${limitMb !== undefined ? ` of ${limitMb} MB` : ''}`;
  return {
    ...outcome,
    status: 'failed',
    errorCode: ErrorCode.TASK_RESOURCE_LIMIT,
    error: outcome.error ? `${outcome.error}\n${why}` : why,
  };
}
