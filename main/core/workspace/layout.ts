/**
 * The work root's layout (spec 2.3.1) and the rule that keeps every task inside it.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ErrorCode, ExitCode, FatalError } from '../protocol/codes.js';
import { TASK_ID_PATTERN } from '../protocol/frames.js';

export interface WorkLayout {
  root: string;
  tasksDir: string;
  logsDir: string;
  taskLogsDir: string;
  cacheDir: string;
  taskDir(id: string): string;
  taskLogFile(id: string): string;
}

/** A task the agent won't run as asked: it is answered with an `error` result, the agent goes on. */
export class TaskRefusedError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = ErrorCode.WORK_DIR_ERROR,
  ) {
    super(message);
    this.name = 'TaskRefusedError';
  }
}

export function workLayout(root: string): WorkLayout {
  const abs = path.resolve(root);
  const tasksDir = path.join(abs, 'tasks');
  const logsDir = path.join(abs, 'logs');
  const taskLogsDir = path.join(logsDir, 'tasks');
  return {
    root: abs,
    tasksDir,
    logsDir,
    taskLogsDir,
    cacheDir: path.join(abs, 'cache'),
    taskDir: (id) => path.join(tasksDir, id),
    taskLogFile: (id) => path.join(taskLogsDir, `${id}.log`),
  };
}

/** Creates the layout and proves that the agent can write in each of its directories. */
export async function prepareWorkDir(root: string): Promise<WorkLayout> {
  const layout = workLayout(root);
  for (const dir of [layout.tasksDir, layout.logsDir, layout.taskLogsDir, layout.cacheDir]) {
    await attempt(layout.root, `cannot create ${dir}`, () => fs.promises.mkdir(dir, { recursive: true }));
    // root passes every access() check whatever the mode bits say: only a real write tells the truth
    const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    await attempt(layout.root, `cannot write in ${dir}`, () => fs.promises.writeFile(probe, '', { flag: 'wx' }));
    await attempt(layout.root, `cannot remove ${probe}`, () => fs.promises.unlink(probe));
  }
  return layout;
}

async function attempt(root: string, what: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new FatalError(
      'WORK_DIR_ERROR',
      `Work dir ${root} is not usable: ${what} (${reason})`,
      ExitCode.WORK_DIR_ERROR,
    );
  }
}

/**
 * The directory a task runs in: `tasks/{taskId}` unless the task asks for another one, which must
 * stay inside the work root, also once symlinks are followed. Does not create it.
 */
export function resolveTaskWorkDir(layout: WorkLayout, taskId: string, requested?: string | null): string {
  // the id becomes a path component: it must never be able to walk anywhere
  if (!TASK_ID_PATTERN.test(taskId)) {
    throw new TaskRefusedError(
      `task_id ${JSON.stringify(taskId)} is not a valid directory name`,
      ErrorCode.INVALID_TASK,
    );
  }
  if (!requested) return layout.taskDir(taskId);

  const target = path.resolve(layout.root, requested);
  if (!isInside(layout.root, target)) {
    throw new TaskRefusedError(`work_dir ${requested} resolves to ${target}, outside the work root ${layout.root}`);
  }
  const realRoot = realpathOfExisting(layout.root, requested);
  const realTarget = realpathOfExisting(target, requested);
  if (!isInside(realRoot, realTarget)) {
    throw new TaskRefusedError(
      `work_dir ${requested} leads through a symlink to ${realTarget}, outside the work root ${realRoot}`,
    );
  }
  return target;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The real path of the longest existing part of `p`, with the rest (to be created later) appended. */
function realpathOfExisting(p: string, requested: string): string {
  let existing = p;
  const rest: string[] = [];
  while (!exists(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  try {
    return path.join(fs.realpathSync.native(existing), ...rest);
  } catch (e) {
    // a dangling or looping symlink: where it would lead can't be proved
    throw new TaskRefusedError(`work_dir ${requested} cannot be resolved: ${(e as Error).message}`);
  }
}

/** lstat, not stat: a dangling symlink exists, and must be resolved rather than skipped over. */
function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
