/**
 * Admission: what becomes of a task frame before it runs. A task_id seen before is never run again;
 * a frame the agent will not run (shutting down, work dir refused, denied by policy) is refused with
 * its reason; the rest waits in the ready queue, highest priority first, FIFO among equals, or,
 * while a `depends_on` task has no result on this agent, beside it (docs/protocol.md, Priority and
 * dependencies, decides what the protocol leaves open: failed, unknown and late dependencies, cycles).
 */
import { ErrorCode } from '../protocol/codes.js';
import type { QueuedTaskView, QueueView, QueueViewKept, QueueWait } from '../api.js';
import type { TaskFrame, TaskResultFrame } from '../protocol/frames.js';
import { resolveTaskWorkDir, TaskRefusedError, type WorkLayout } from '../workspace/layout.js';
import type { TaskTable } from './task-table.js';
import type { TaskPolicy } from './task-policy.js';

const QUEUE_VIEW_KEPT: QueueViewKept = 1_000;

export type Admitted =
  /** a redelivery: its result when known (send it again), else it is queued or running */
  | { kind: 'duplicate'; result: TaskResultFrame | undefined }
  | { kind: 'refused'; workDir: string; code: ErrorCode; message: string }
  | { kind: 'queued'; workDir: string; layout: WorkLayout };

export interface Ready {
  frame: TaskFrame;
  workDir: string;
  /** the layout its work dir was checked against: execution checks it again there */
  layout: WorkLayout;
  priority: number;
  /** arrival order: FIFO among equal priorities, also for a task that waited for its dependencies */
  order: number;
  dependsOn: string[];
}

/** A queued task that will never run: a dependency did not succeed or never arrived. */
export interface Blocked {
  ready: Ready;
  message: string;
}

export interface AdmissionOptions {
  table: TaskTable;
  layout: () => WorkLayout;
  policy?: TaskPolicy;
  /** tasks that may wait at once (task.max_queued); more are refused QUEUE_FULL */
  maxQueued?: number;
  /** how long a task waits for a depends_on task that has not arrived (task.dependency_timeout) */
  dependencyTimeoutMs?: number;
  /** waiting tasks whose dependency never arrived in time */
  onBlocked?: (blocked: Blocked[]) => void;
}

export class TaskAdmission {
  /** tasks free to start, in start order */
  private readonly ready: Ready[] = [];
  /** tasks with a dependency that has no result yet, in arrival order */
  private readonly waiting = new Map<string, Waiting>();
  /** dependency id → the waiting tasks that name it */
  private readonly waitersOf = new Map<string, Set<string>>();
  private accepting = true;
  private arrivals = 0;

  constructor(private readonly opts: AdmissionOptions) {}

  get queuedCount(): number {
    return this.ready.length + this.waiting.size;
  }

  get open(): boolean {
    return this.accepting;
  }

  /** First sight of a task id: marks it seen. Call `enqueue` for a `queued` answer. */
  admit(frame: TaskFrame): Admitted {
    const { table } = this.opts;
    const id = frame.task_id;
    if (table.seen(id)) return { kind: 'duplicate', result: table.resultOf(id) };
    table.markSeen(id);
    this.arrived(id);
    if (!this.accepting)
      return { kind: 'refused', workDir: '', code: ErrorCode.AGENT_SHUTDOWN, message: 'the agent is shutting down' };
    const maxQueued = this.opts.maxQueued ?? Infinity;
    if (this.queuedCount >= maxQueued)
      return {
        kind: 'refused',
        workDir: frame.work_dir ?? '',
        code: ErrorCode.QUEUE_FULL,
        message: `${this.queuedCount} tasks are queued already, the most this agent holds (task.max_queued); the task was not run`,
      };
    let workDir: string;
    const layout = this.opts.layout();
    try {
      workDir = resolveTaskWorkDir(layout, id, frame.work_dir, this.opts.policy?.confinement);
    } catch (err) {
      const refused = err instanceof TaskRefusedError ? err : null;
      return {
        kind: 'refused',
        workDir: frame.work_dir ?? '',
        code: refused?.code ?? ErrorCode.WORK_DIR_ERROR,
        message: refused?.message ?? String(err),
      };
    }
    const refusal = this.opts.policy?.check(frame.command);
    if (refusal) return { kind: 'refused', workDir, code: refusal.code, message: refusal.message };
    return { kind: 'queued', workDir, layout };
  }

  /** A frame that failed validation but names its task: false when that id was seen before. */
  admitInvalid(taskId: string): boolean {
    if (this.opts.table.seen(taskId)) return false;
    this.opts.table.markSeen(taskId);
    this.arrived(taskId);
    return true;
  }

  /**
   * Queues an admitted task: ready, or waiting for its dependencies. Returns why it can never run
   * (a dependency that did not succeed, or a cycle it would close), and then queues nothing.
   */
  enqueue(frame: TaskFrame, workDir: string, layout: WorkLayout): string | null {
    const dependsOn = [...new Set(frame.depends_on ?? [])];
    const ready: Ready = { frame, workDir, layout, priority: frame.priority ?? 0, order: this.arrivals++, dependsOn };
    const cycle = this.cycleThrough(frame.task_id, dependsOn);
    if (cycle) return cycle;
    const { table } = this.opts;
    const pending = new Set<string>();
    const missing = new Set<string>();
    for (const id of dependsOn) {
      // queued or running: no result yet (and no journal read to learn that)
      if (table.get(id)) {
        pending.add(id);
        continue;
      }
      const result = table.resultOf(id);
      if (result?.status === 'success') continue;
      if (result) return endedMessage(result);
      // received, not queued or running, and no result kept: it finished too long ago to know how
      if (table.seen(id))
        return `dependency ${id} was received by this agent but its result is no longer kept; the task was not run`;
      pending.add(id);
      missing.add(id);
    }
    table.add({ frame, workDir, phase: 'queued' });
    if (pending.size === 0) this.makeReady(ready);
    else this.wait({ ready, pending, missing, timer: null });
    return null;
  }

  /**
   * A task has its result: whoever waited only for it becomes ready; whoever waited for it and it
   * did not succeed is taken out and handed back, to be reported DEPENDENCY_FAILED.
   */
  settled(result: TaskResultFrame): Blocked[] {
    const blocked: Blocked[] = [];
    for (const id of [...(this.waitersOf.get(result.task_id) ?? [])]) {
      const waiting = this.waiting.get(id)!;
      if (result.status !== 'success') {
        this.unwait(id);
        blocked.push({ ready: waiting.ready, message: endedMessage(result) });
        continue;
      }
      waiting.pending.delete(result.task_id);
      waiting.missing.delete(result.task_id);
      if (waiting.pending.size === 0) {
        this.unwait(id);
        this.makeReady(waiting.ready);
      }
    }
    return blocked;
  }

  next(): Ready | undefined {
    return this.ready.shift();
  }

  /** Takes a queued task out (cancelled before it started). */
  remove(taskId: string): Ready | undefined {
    const waiting = this.waiting.get(taskId);
    if (waiting) {
      this.unwait(taskId);
      return waiting.ready;
    }
    const index = this.ready.findIndex((r) => r.frame.task_id === taskId);
    return index >= 0 ? this.ready.splice(index, 1)[0] : undefined;
  }

  /** Shutting down: nothing new is admitted; what is still queued is handed back. */
  close(): Ready[] {
    this.accepting = false;
    const waiting = [...this.waiting.keys()].map((id) => this.remove(id)!);
    return [...this.ready.splice(0), ...waiting];
  }

  /** Why each queued task waits, in the order they would start (ready ones first). */
  view(running: number, maxConcurrent: number): QueueView {
    const tasks: QueuedTaskView[] = [];
    let higher = 0;
    this.ready.slice(0, QUEUE_VIEW_KEPT).forEach((r, ahead) => {
      if (ahead > 0 && this.ready[ahead - 1]!.priority > r.priority) higher = ahead;
      const wait: QueueWait =
        ahead > 0 ? { kind: 'behind', ahead, higher } : { kind: 'capacity', running, maxConcurrent };
      tasks.push({ taskId: r.frame.task_id, priority: r.priority, wait });
    });
    for (const { ready, pending, missing } of this.waiting.values()) {
      if (tasks.length >= QUEUE_VIEW_KEPT) break;
      const waitingFor = ready.dependsOn.filter((id) => pending.has(id));
      const notReceived = ready.dependsOn.filter((id) => missing.has(id));
      tasks.push({
        taskId: ready.frame.task_id,
        priority: ready.priority,
        wait: { kind: 'dependencies', waitingFor, notReceived },
      });
    }
    return { running, maxConcurrent, tasks, total: this.queuedCount };
  }

  private makeReady(ready: Ready): void {
    let at = this.ready.length;
    while (at > 0 && startsAfter(this.ready[at - 1]!, ready)) at -= 1;
    this.ready.splice(at, 0, ready);
  }

  private wait(waiting: Waiting): void {
    const id = waiting.ready.frame.task_id;
    const ms = this.opts.dependencyTimeoutMs;
    if (ms !== undefined && waiting.missing.size > 0) {
      waiting.timer = setTimeout(() => this.expire(id, ms), ms);
      waiting.timer.unref();
    }
    this.waiting.set(id, waiting);
    for (const dep of waiting.pending) {
      const waiters = this.waitersOf.get(dep);
      if (waiters) waiters.add(id);
      else this.waitersOf.set(dep, new Set([id]));
    }
  }

  private unwait(taskId: string): void {
    const waiting = this.waiting.get(taskId);
    if (!waiting) return;
    if (waiting.timer) clearTimeout(waiting.timer);
    this.waiting.delete(taskId);
    for (const dep of waiting.pending) {
      const waiters = this.waitersOf.get(dep);
      waiters?.delete(taskId);
      if (waiters?.size === 0) this.waitersOf.delete(dep);
    }
  }

  /** A task id seen for the first time: the tasks waiting for it no longer wait for its arrival. */
  private arrived(taskId: string): void {
    for (const id of this.waitersOf.get(taskId) ?? []) this.waiting.get(id)?.missing.delete(taskId);
  }

  /** The wait is over: a dependency that has not arrived by now is taken to never arrive. */
  private expire(taskId: string, ms: number): void {
    const waiting = this.waiting.get(taskId);
    if (!waiting) return;
    waiting.timer = null;
    // all of them are here, queued or running: each ends in a result, which settles this task
    if (waiting.missing.size === 0) return;
    const missing = [...waiting.missing].join(', ');
    this.unwait(taskId);
    const message = `dependency ${missing} never arrived on this agent within ${ms / 1000} s (task.dependency_timeout); the task was not run`;
    this.opts.onBlocked?.([{ ready: waiting.ready, message }]);
  }

  /** A path from `dependsOn` through waiting tasks back to `taskId`: its arrival would close a cycle. */
  private cycleThrough(taskId: string, dependsOn: string[]): string | null {
    const cycle = (path: string[]) =>
      `depends_on forms a cycle (${path.join(' → ')}): none of these tasks could ever start; the task was not run`;
    if (dependsOn.includes(taskId)) return cycle([taskId, taskId]);
    // only a task that someone already waits for can close a cycle
    if (!this.waitersOf.has(taskId)) return null;
    // iterative: a chain of thousands of waiting tasks must not overflow the stack
    const parent = new Map<string, string>(dependsOn.map((id) => [id, taskId]));
    const stack = [...dependsOn];
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const next of this.waiting.get(id)?.ready.dependsOn ?? []) {
        if (next === taskId) {
          const path = [taskId];
          for (let at = id; at !== taskId; at = parent.get(at)!) path.unshift(at);
          return cycle([taskId, ...path]);
        }
        if (parent.has(next)) continue;
        parent.set(next, id);
        stack.push(next);
      }
    }
    return null;
  }
}

interface Waiting {
  ready: Ready;
  /** dependencies without a result yet */
  pending: Set<string>;
  /** of those, the ones this agent has not received */
  missing: Set<string>;
  /** task.dependency_timeout, while one is missing */
  timer: NodeJS.Timeout | null;
}

function endedMessage(result: TaskResultFrame): string {
  const code = result.error_code ? ` (${result.error_code})` : '';
  return `dependency ${result.task_id} ended ${result.status}${code}; the task was not run`;
}

/** `a` starts after `b`: a lower priority, or the same priority and a later arrival. */
function startsAfter(a: Ready, b: Ready): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.order > b.order);
}
