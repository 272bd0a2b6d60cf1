/**
 * Where a task may work. A task runs whatever the platform sends, so its directory must never be
 * one the agent relies on: inside the work root (state/ holds the journal, whose pids the next start
 * kills; logs/; cache/; agent-id), the work root itself (`git clean -fdx` there wipes the journal),
 * the tasks/ folder itself (every task's directory), nor any directory that contains one of those.
 * `tasks/<name>/…` and any other directory below the root are fine, as are directories inside the
 * roots that `task.allowed_work_dirs` lists.
 *
 * Every rule is checked twice: on the path as written and on its real path (the real path of its
 * longest existing prefix, the rest appended), so that no symlink leads a task out or into the
 * agent's own files. What this cannot close: a symlink that a running task creates after the check
 * (TOCTOU). The scheduler checks again right before it creates the directory and starts the task,
 * which leaves a window of microseconds; with `task.run_as` a task can only create links inside
 * directories its user owns, never in the agent's.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Confinement {
  /** roots besides the work root where tasks may work (task.allowed_work_dirs), absolute */
  allowedRoots?: readonly string[];
  /** other work roots whose agent files stay out of reach: the local root, which holds the journal */
  agentRoots?: readonly string[];
  /** the agent's files outside its roots (its config and token files), absolute: `git clean` in a task's dir must not reach them */
  agentFiles?: readonly string[];
}

/** Directories and files the agent keeps in a work root; nothing below them is a task's. */
const SEALED = ['state', 'logs', 'cache', 'agent-id'] as const;
const TASKS = 'tasks';

/**
 * Why `dir` (absolute, normalised) must not be a task's work dir, as a phrase that completes
 * "work_dir … ", or null when it may be. Every task is checked twice, so the paths are compared as
 * strings once normalised (path.relative per pair cost more than the rest of a task's admission).
 */
export function confinementViolation(dir: string, workRoot: string, c: Confinement = {}): string | null {
  const at = normal(dir);
  const allowed = c.allowedRoots ?? [];
  const allowedAt = allowed.map(normal);
  if (!within(normal(workRoot), at) && !allowedAt.some((r) => within(r, at))) {
    const others = allowed.length ? ` or any root of task.allowed_work_dirs (${allowed.join(', ')})` : '';
    return `is outside the work root ${workRoot}${others}`;
  }
  const sameAllowed = allowedAt.indexOf(at);
  if (sameAllowed >= 0)
    return `is the root ${allowed[sameAllowed]} of task.allowed_work_dirs itself; a task works in a directory below it`;
  const seen = new Set<string>();
  for (const root of [workRoot, ...(c.agentRoots ?? [])]) {
    const r = normal(root);
    if (seen.has(r)) continue;
    seen.add(r);
    if (r === at)
      return `is the work root ${root} itself, where the agent keeps its journal, logs and tasks; a task works in a directory below it`;
    if (child(r, TASKS) === at)
      return `is the tasks folder ${path.join(root, TASKS)} itself, which holds every task's directory; use tasks/<name>`;
    for (const name of SEALED) {
      if (within(child(r, name), at))
        return `is inside the agent's own ${path.join(root, name)}; tasks may not work in state/, logs/, cache/ or agent-id`;
    }
    // what holds the work root holds all of the agent's files in it
    if (within(at, r)) return `contains the agent's own ${root}; a task's directory may not hold the agent's files`;
  }
  for (const file of c.agentFiles ?? []) {
    if (within(at, normal(file)))
      return `contains the agent's own ${file}; a task's directory may not hold the agent's files`;
  }
  return null;
}

/**
 * The checked work dir (absolute) for `requested`, resolved against the work root, and the real path
 * it leads to (symlinks resolved as far as the path exists); throws a refusal naming the rule.
 */
export function confineWorkDir(
  requested: string,
  workRoot: string,
  c: Confinement = {},
): { dir: string; real: string } {
  if (requested.includes('\0')) throw new Error(`work_dir ${JSON.stringify(requested)} contains a NUL character`);
  const target = path.resolve(workRoot, requested);
  const said = `work_dir ${JSON.stringify(requested)}${target === requested ? '' : ` (${target})`}`;
  const lexical = confinementViolation(target, workRoot, c);
  if (lexical) throw new Error(`${said} ${lexical}`);

  const real = (p: string) => realpathOfExisting(p, said);
  const realTarget = real(target);
  const realViolation = confinementViolation(realTarget, real(workRoot), {
    allowedRoots: (c.allowedRoots ?? []).map(real),
    agentRoots: (c.agentRoots ?? []).map(real),
    agentFiles: (c.agentFiles ?? []).map(real),
  });
  if (realViolation) throw new Error(`${said} leads through a symlink to ${realTarget}, which ${realViolation}`);
  return { dir: target, real: realTarget };
}

export function isInside(root: string, candidate: string): boolean {
  return within(normal(root), normal(candidate));
}

/** `candidate` is `root` or below it; both from normal() */
function within(root: string, candidate: string): boolean {
  return (
    candidate.startsWith(root) &&
    (candidate.length === root.length || root.endsWith(path.sep) || candidate[root.length] === path.sep)
  );
}

/** `name` in `dir`, both from normal() */
function child(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

/** Absolute, normalised (no `.`, `..`, doubled or trailing separator) and case-folded where case is ignored. */
function normal(p: string): string {
  return fold(path.resolve(p));
}

/** Windows and macOS file systems ignore case by default: `STATE` is `state` there. */
function fold(p: string): string {
  return process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p;
}

/** The real path of the longest existing part of `p`, with the rest (to be created later) appended. */
function realpathOfExisting(p: string, said: string): string {
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
    throw new Error(`${said} cannot be resolved: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * lstat, not stat: a dangling symlink exists, and must be resolved rather than skipped over. A task's
 * dir is usually missing when checked: no Error is built for that.
 */
function exists(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}
