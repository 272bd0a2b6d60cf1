/**
 * The cheap look at a task's end (Linux): is anything of it left? Usually not, and proving so with
 * process-tree.ts's full look reads every process's /proc entry after every task, which costs more
 * than a short task itself. This look answers "nothing left" only when it is sure; anything else
 * goes to the full look (and its signals), which stays the authority.
 *
 * Sure means: the task's process group has no member (one `kill(-pgid, 0)`), so only what left the
 * group can be left, and nothing that started since the task carries its cookie `ATS_TASK_ID=<id>`.
 * Linux hands out pids cyclically, so what started since the task's root holds a pid after the
 * root's, up to the last one handed out: only those few entries are read. That holds unless the
 * pids went all the way round since, which needs about as many forks as there are free pids: the
 * forks counted by /proc/stat since the task started say when that cannot have happened.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { groupAlive } from './process-tree.js';

const HAS_PROC = process.platform === 'linux';
/** pids below this are never handed out again after the first wrap (the kernel's RESERVED_PIDS) */
const FIRST_REUSED_PID = 300;

/** Taken just before a task's root is spawned: the kernel's counters then. */
export interface PidWindow {
  /** forks since boot (/proc/stat `processes`) */
  forks: number;
  /** processes and threads alive, each holding a pid (/proc/loadavg) */
  threads: number;
}

const scratch = Buffer.allocUnsafe(4096);
let pidMax: number | undefined;

/** The counters before a spawn; undefined where they cannot be read (not Linux, no /proc). */
export function openPidWindow(): PidWindow | undefined {
  if (!HAS_PROC) return undefined;
  const forks = forkCount();
  const load = loadAverage();
  return forks === undefined || load === undefined ? undefined : { forks, threads: load.threads };
}

/**
 * True only when nothing of the task can be running: its group is empty and no process started
 * since `rootStart` (the root's start time, clock ticks after boot) carries the task's cookie.
 */
export function nothingLeft(
  window: PidWindow | undefined,
  rootPid: number | undefined,
  taskId: string,
  rootStart: number | undefined,
): boolean {
  if (!window || rootPid === undefined || rootPid <= 1 || rootStart === undefined) return false;
  if (groupAlive(rootPid)) return false;
  const last = loadAverage()?.lastPid;
  const forks = forkCount();
  const max = (pidMax ??= readNumber('/proc/sys/kernel/pid_max'));
  if (last === undefined || forks === undefined || max === undefined) return false;
  // pids in use at any moment since: at most those then (threads, plus the groups and sessions they
  // hold, each led by a pid: ×3) and every fork since; the window is sure while it cannot have wrapped
  const forked = forks - window.forks;
  if (2 * forked + 3 * window.threads >= max - FIRST_REUSED_PID) return false;
  const cookie = Buffer.from(`ATS_TASK_ID=${taskId}\0`);
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !startedAfter(pid, rootPid, last)) continue;
    const start = startTime(pid);
    // gone since the listing, or older than the task: not the task's
    if (start === undefined || start < rootStart) continue;
    if (hasCookie(pid, cookie)) return false;
  }
  return true;
}

/** `pid` lies after `root` and up to `last` in the kernel's cyclic handing out of pids. */
function startedAfter(pid: number, root: number, last: number): boolean {
  return last >= root ? pid > root && pid <= last : pid > root || pid <= last;
}

function readSmall(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return scratch.toString('latin1', 0, readSync(fd, scratch, 0, scratch.length, 0));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function readNumber(file: string): number | undefined {
  const n = Number(readSmall(file));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function forkCount(): number | undefined {
  // /proc/stat outgrows the scratch buffer on big machines (a line per cpu, the interrupt counts)
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'latin1');
  } catch {
    return undefined;
  }
  const at = stat.indexOf('\nprocesses ');
  const n = at < 0 ? NaN : Number.parseInt(stat.slice(at + 11, at + 32), 10);
  return Number.isInteger(n) ? n : undefined;
}

/** "0.15 0.30 0.41 2/345 6789": running/total scheduling entities, then the last pid handed out */
function loadAverage(): { threads: number; lastPid: number } | undefined {
  const fields = readSmall('/proc/loadavg')?.trim().split(' ');
  const threads = Number(fields?.[3]?.split('/')[1]);
  const lastPid = Number(fields?.[4]);
  return Number.isInteger(threads) && Number.isInteger(lastPid) ? { threads, lastPid } : undefined;
}

function startTime(pid: number): number | undefined {
  const stat = readSmall(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ...": comm may hold spaces and parentheses, so count after the last ')'
  const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 20)[19]);
  return Number.isInteger(start) ? start : undefined;
}

function hasCookie(pid: number, cookie: Buffer): boolean {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false; // gone, or not ours to read: the full look could not read it either
  }
  for (let at = environ.indexOf(cookie); at !== -1; at = environ.indexOf(cookie, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}
