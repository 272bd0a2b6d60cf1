/**
 * The work root's layout (spec 2.3.1) and the rule that keeps every task inside it.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ErrorCode, ExitCode, FatalError } from '../protocol/codes.js';
import { TASK_ID_PATTERN } from '../protocol/frames.js';
import { confineWorkDir, type Confinement } from './work-dir-guard.js';

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

/**
 * Creates the layout and proves that the agent can write in each of its directories. None of them
 * stays writable by group or others: a `task.run_as` user must not rename the agent's files away.
 */
export async function prepareWorkDir(root: string): Promise<WorkLayout> {
  const layout = workLayout(root);
  for (const dir of [layout.tasksDir, layout.logsDir, layout.taskLogsDir, layout.cacheDir]) {
    await attempt(layout.root, `cannot create ${dir}`, () => fs.promises.mkdir(dir, { recursive: true }));
    await attempt(layout.root, `cannot restrict ${dir}`, () => denyOthersWrite(dir));
    // root passes every access() check whatever the mode bits say: only a real write tells the truth
    const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    await attempt(layout.root, `cannot write in ${dir}`, () => fs.promises.writeFile(probe, '', { flag: 'wx' }));
    await attempt(layout.root, `cannot remove ${probe}`, () => fs.promises.unlink(probe));
  }
  return layout;
}

async function denyOthersWrite(dir: string): Promise<void> {
  for (const d of [path.dirname(dir), dir]) {
    const { mode, uid } = await fs.promises.stat(d);
    // only what the agent owns, and never a sticky directory (/tmp): there others cannot rename the
    // agent's entries anyway, and its mode is the machine's
    if (mode & 0o022 && !(mode & 0o1000) && uid === process.getuid?.()) await fs.promises.chmod(d, mode & 0o7755);
  }
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
 * pass the confinement rules (work-dir-guard.ts), also once symlinks are followed. Does not create it.
 */
export function resolveTaskWorkDir(
  layout: WorkLayout,
  taskId: string,
  requested?: string | null,
  confinement?: Confinement,
): string {
  return confineTaskWorkDir(layout, taskId, requested, confinement).dir;
}

/** resolveTaskWorkDir, with the real path the checked directory leads to. */
export function confineTaskWorkDir(
  layout: WorkLayout,
  taskId: string,
  requested?: string | null,
  confinement?: Confinement,
): { dir: string; real: string } {
  // the id becomes a path component: it must never be able to walk anywhere
  if (!TASK_ID_PATTERN.test(taskId)) {
    throw new TaskRefusedError(
      `task_id ${JSON.stringify(taskId)} is not a valid directory name`,
      ErrorCode.INVALID_TASK,
    );
  }
  try {
    // the default dir too: a symlink left at tasks/<id> must not lead anywhere
    return confineWorkDir(requested || layout.taskDir(taskId), layout.root, confinement);
  } catch (err) {
    throw new TaskRefusedError(`${(err as Error).message}; the task was not run`, ErrorCode.INVALID_TASK);
  }
}
