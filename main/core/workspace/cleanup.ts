/**
 * The retention policy (`task.cleanup`): old task dirs and task logs go, running tasks stay.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TASK_ID_PATTERN } from '../protocol/frames.js';
import type { WorkLayout } from './layout.js';

export interface CleanupPolicy {
  /** keep at most this many newest tasks; 0 = no count limit */
  keep_tasks: number;
  /** remove tasks older than this many days; 0 = no age limit */
  keep_days: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the tasks the policy lets go and returns their ids. A task is its dir and its log file;
 * its age is the newer of the two. Running tasks count among the newest but are never touched. One entry that can't be removed doesn't stop the others: it is
 * simply not in the result, and is tried again next time.
 */
export async function cleanupTasks(
  layout: WorkLayout,
  policy: CleanupPolicy,
  active: ReadonlySet<string>,
  now = Date.now(),
): Promise<string[]> {
  if (policy.keep_tasks === 0 && policy.keep_days === 0) return [];

  const newestFirst = [...(await taskAges(layout))].sort((a, b) => b[1] - a[1]);
  const removed: string[] = [];
  for (const [index, [id, mtime]] of newestFirst.entries()) {
    if (active.has(id)) continue;
    const beyondCount = policy.keep_tasks > 0 && index >= policy.keep_tasks;
    const tooOld = policy.keep_days > 0 && now - mtime > policy.keep_days * DAY_MS;
    if (!beyondCount && !tooOld) continue;
    try {
      // rm works on lstat: a symlink inside a task dir is unlinked, never followed
      await fs.promises.rm(layout.taskDir(id), { recursive: true, force: true });
      await fs.promises.rm(layout.taskLogFile(id), { force: true });
      removed.push(id);
    } catch {
      // left for the next run; the caller logs what was removed
    }
  }
  return removed;
}

/** Every task id found on disk with its newest mtime (dir or log file). */
async function taskAges(layout: WorkLayout): Promise<Map<string, number>> {
  const ages = new Map<string, number>();
  const note = async (id: string, file: string) => {
    if (!TASK_ID_PATTERN.test(id)) return;
    try {
      const { mtimeMs } = await fs.promises.lstat(file);
      ages.set(id, Math.max(ages.get(id) ?? 0, mtimeMs));
    } catch {
      // gone meanwhile
    }
  };

  for (const entry of await readDir(layout.tasksDir)) {
    if (entry.isDirectory()) await note(entry.name, path.join(layout.tasksDir, entry.name));
  }
  for (const entry of await readDir(layout.taskLogsDir)) {
    if (entry.isFile() && entry.name.endsWith('.log')) {
      await note(entry.name.slice(0, -'.log'.length), path.join(layout.taskLogsDir, entry.name));
    }
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
