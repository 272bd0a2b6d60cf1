/**
 * Admission: what becomes of a task frame before it runs. A task_id seen before is never run again;
 * a frame the agent will not run (shutting down, work dir refused, denied by policy) is refused with
 * its reason; the rest waits in the ready queue, highest priority first, FIFO among equals.
 */
import { ErrorCode } from '../protocol/codes.js';
import type { TaskFrame, TaskResultFrame } from '../protocol/frames.js';
import { resolveTaskWorkDir, TaskRefusedError, type WorkLayout } from '../workspace/layout.js';
import type { TaskTable } from './task-table.js';
import type { TaskPolicy } from './task-policy.js';

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
}

export interface AdmissionOptions {
  table: TaskTable;
  layout: () => WorkLayout;
  policy?: TaskPolicy;
}

export class TaskAdmission {
  private readonly ready: Ready[] = [];
  private accepting = true;

  constructor(private readonly opts: AdmissionOptions) {}

  get queuedCount(): number {
    return this.ready.length;
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
    if (!this.accepting)
      return { kind: 'refused', workDir: '', code: ErrorCode.AGENT_SHUTDOWN, message: 'the agent is shutting down' };
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
    return true;
  }

  enqueue(frame: TaskFrame, workDir: string, layout: WorkLayout, priority = 0): void {
    this.opts.table.add({ frame, workDir, phase: 'queued' });
    let at = this.ready.length;
    while (at > 0 && this.ready[at - 1]!.priority < priority) at -= 1;
    this.ready.splice(at, 0, { frame, workDir, layout, priority });
  }

  next(): Ready | undefined {
    return this.ready.shift();
  }

  /** Takes a queued task out (cancelled before it started). */
  remove(taskId: string): Ready | undefined {
    const index = this.ready.findIndex((r) => r.frame.task_id === taskId);
    return index >= 0 ? this.ready.splice(index, 1)[0] : undefined;
  }

  /** Shutting down: nothing new is admitted; what is still queued is handed back. */
  close(): Ready[] {
    this.accepting = false;
    return this.ready.splice(0);
  }
}
