/**
 * Receive times of task frames, taken with performance.now() in the simulator's 'frame' event
 * (emitted synchronously right after the frame is parsed), so sub-millisecond latencies show.
 */
import type { PlatformSimulator, ReceivedFrame } from '../../platform/simulator.js';

export interface TaskTimes {
  sentAt: number;
  firstLogAt?: number;
  lastLogAt?: number;
  resultAt?: number;
  result?: ReceivedFrame;
  /** task_log frames received, duplicates included */
  logFrames: number;
  /** distinct seqs */
  seqs: Set<number>;
}

export class TaskTracker {
  private readonly tasks = new Map<string, TaskTimes>();
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly onFrame = (frame: ReceivedFrame) => {
    if (frame?.type !== 'task_log' && frame?.type !== 'task_result') return;
    const now = performance.now();
    const t = this.tasks.get(frame.task_id);
    if (!t) return;
    if (frame.type === 'task_log') {
      t.firstLogAt ??= now;
      t.lastLogAt = now;
      t.logFrames += 1;
      if (typeof frame.seq === 'number') t.seqs.add(frame.seq);
    } else if (t.resultAt === undefined) {
      t.resultAt = now;
      t.result = frame;
      this.resultCount += 1;
      for (const w of this.waiters.get(frame.task_id) ?? []) w();
      this.waiters.delete(frame.task_id);
      for (const w of this.anyWaiters.splice(0)) w();
    }
  };
  private anyWaiters: Array<() => void> = [];
  resultCount = 0;

  constructor(private readonly sim: PlatformSimulator) {
    sim.on('frame', this.onFrame);
  }

  detach(): void {
    this.sim.off('frame', this.onFrame);
  }

  /** Dispatch a task and start its clock. */
  dispatch(taskId: string, command: string, extra: Record<string, unknown> = {}): TaskTimes {
    const t: TaskTimes = { sentAt: performance.now(), logFrames: 0, seqs: new Set() };
    this.tasks.set(taskId, t);
    this.sim.dispatch({ task_id: taskId, command, ...extra });
    return t;
  }

  times(taskId: string): TaskTimes | undefined {
    return this.tasks.get(taskId);
  }

  /** Resolves with the task's times once its result arrived. */
  result(taskId: string, timeoutMs: number): Promise<TaskTimes> {
    const t = this.tasks.get(taskId);
    if (!t) return Promise.reject(new Error(`task ${taskId} was never dispatched`));
    if (t.resultAt !== undefined) return Promise.resolve(t);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no task_result for ${taskId} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list = this.waiters.get(taskId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve(t);
      });
      this.waiters.set(taskId, list);
    });
  }

  /** Resolves once `count` results in total have arrived. */
  async results(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.resultCount < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.resultCount} of ${count} task_results within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.anyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
