/**
 * Which directory each task worked in, and whether the agent created it for that task. Cleanup
 * trusts only this: it removes a directory the agent made for a task, never one that was there
 * before (a platform's shared checkout) unless the config opts in, and never a directory it merely
 * finds under tasks/. One small file per task in the agent's state dir (out of every task's reach),
 * written right after the directory is made: a crash in between leaves a directory that is never
 * removed, the safe way round.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFile } from 'node:fs';
import path from 'node:path';
import { TASK_ID_PATTERN } from '../protocol/frames.js';

export interface TaskDirRecord {
  task_id: string;
  /** the task's work dir, absolute */
  dir: string;
  /** the agent created it for this task */
  created: boolean;
  /** the topmost directory that mkdir created for it (the work dir or one of its parents) */
  created_top?: string;
}

export class TaskDirs {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'task-dirs');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // the journal and these records: no task user reads or writes them
    chmodSync(stateDir, 0o700);
    chmodSync(this.dir, 0o700);
  }

  /**
   * Creates the task's work dir (with missing parents), at once: the task starts in it; throws
   * mkdir's error. Records whether it made it off the task's start path: the returned promise
   * settles with that write (until it lands the directory counts as not the agent's, the safe way).
   * With fs's callbacks: fs/promises' writeFile cost the main thread several times as much.
   */
  prepare(taskId: string, workDir: string): Promise<void> {
    const top = mkdirSync(workDir, { recursive: true });
    const record: TaskDirRecord = { task_id: taskId, dir: workDir, created: top !== undefined };
    if (top !== undefined) record.created_top = top;
    return new Promise((resolve, reject) =>
      writeFile(this.fileOf(taskId), JSON.stringify(record), { mode: 0o600 }, (err) => (err ? reject(err) : resolve())),
    );
  }

  list(): TaskDirRecord[] {
    const records: TaskDirRecord[] = [];
    for (const name of safeReaddir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const r = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as TaskDirRecord;
        if (typeof r.task_id === 'string' && TASK_ID_PATTERN.test(r.task_id) && typeof r.dir === 'string')
          records.push(r);
      } catch {
        // torn by a crash: the directory stays, which is safe
      }
    }
    return records;
  }

  forget(taskId: string): void {
    rmSync(this.fileOf(taskId), { force: true });
  }

  private fileOf(taskId: string): string {
    return path.join(this.dir, `${taskId}.json`);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
