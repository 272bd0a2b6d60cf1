/**
 * The retention policy (`task.cleanup`): old tasks' logs and the directories the agent created for
 * them go; what is in use and what the agent did not create stay.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TASK_ID_PATTERN } from '../protocol/frames.js';
import type { WorkLayout } from './layout.js';
import type { TaskDirRecord, TaskDirs } from './task-dirs.js';
import { isInside } from './work-dir-guard.js';

export interface CleanupPolicy {
  /** keep at most this many newest tasks; 0 = no count limit */
  keep_tasks: number;
  /** remove tasks older than this many days; 0 = no age limit */
  keep_days: number;
  /** also remove work dirs that existed before their task (config only, never from the platform) */
  remove_existing_dirs?: boolean;
}

/** What queued and running tasks use: their ids and their work dirs. */
export interface InUse {
  ids: ReadonlySet<string>;
  dirs: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the tasks the policy lets go and returns their ids. A task is its log file and, when the
 * agent created it for that task (task-dirs.ts), its work dir; its age is the newer of the two.
 * Tasks in use count among the newest but are never touched, nor is a directory that holds, or lies
 * inside, a directory in use. One entry that can't be removed doesn't stop the others: it is simply
 * not in the result, and is tried again next time.
 */
export async function cleanupTasks(
  layout: WorkLayout,
  policy: CleanupPolicy,
  inUse: InUse,
  taskDirs: TaskDirs,
  now = Date.now(),
): Promise<string[]> {
  if (policy.keep_tasks === 0 && policy.keep_days === 0) return [];

  const records = new Map(taskDirs.list().map((r) => [r.task_id, r]));
  const newestFirst = [...(await taskAges(layout, records))].sort((a, b) => b[1] - a[1]);
  const removed: string[] = [];
  for (const [index, [id, mtime]] of newestFirst.entries()) {
    if (inUse.ids.has(id)) continue;
    const beyondCount = policy.keep_tasks > 0 && index >= policy.keep_tasks;
    const tooOld = policy.keep_days > 0 && now - mtime > policy.keep_days * DAY_MS;
    if (!beyondCount && !tooOld) continue;
    const record = records.get(id);
    if (record && inUse.dirs.some((d) => isInside(record.dir, d) || isInside(d, record.dir))) continue;
    try {
      if (record && (record.created || policy.remove_existing_dirs)) await removeDir(record, layout);
      await fs.promises.rm(layout.taskLogFile(id), { force: true });
      if (record) taskDirs.forget(id);
      removed.push(id);
    } catch {
      // left for the next run; the caller logs what was removed
    }
  }
  return removed;
}

/** The work dir, then each parent that mkdir created for it while it is empty. */
async function removeDir(record: TaskDirRecord, layout: WorkLayout): Promise<void> {
  // a record is the agent's own, but a directory that holds the work root is never a task's
  if (isInside(record.dir, layout.root)) return;
  // rm works on lstat: a symlink inside a task dir is unlinked, never followed
  await fs.promises.rm(record.dir, { recursive: true, force: true });
  const top = record.created ? record.created_top : undefined;
  if (!top || !isInside(top, record.dir)) return;
  for (let dir = path.dirname(record.dir); isInside(top, dir) && dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      await fs.promises.rmdir(dir);
    } catch {
      return; // not empty: someone else's now
    }
  }
}

/** Every task with a log file or a recorded work dir, with its newest mtime. */
async function taskAges(layout: WorkLayout, records: Map<string, TaskDirRecord>): Promise<Map<string, number>> {
  const ages = new Map<string, number>();
  const note = async (id: string, file: string) => {
    try {
      const { mtimeMs } = await fs.promises.lstat(file);
      ages.set(id, Math.max(ages.get(id) ?? 0, mtimeMs));
    } catch {
      // gone meanwhile (or never made): the task still counts, with what else it has
      if (!ages.has(id)) ages.set(id, 0);
    }
  };
  for (const record of records.values()) await note(record.task_id, record.dir);
  for (const entry of await readDir(layout.taskLogsDir)) {
    const id = entry.name.slice(0, -'.log'.length);
    if (entry.isFile() && entry.name.endsWith('.log') && TASK_ID_PATTERN.test(id))
      await note(id, path.join(layout.taskLogsDir, entry.name));
  }
  return ages;
}

async function readDir(dir: string): Promise<fs.Dirent[]> {
  try {
    return await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
