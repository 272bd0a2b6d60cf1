/**
 * The cheap look at a task's end (Linux): is anything of it left? Usually not, and proving so with
 * process-tree.ts's full look reads every process's /proc entry after every task, which costs more
 * than a short task itself. This look answers "nothing left" only when it is sure; anything else
 * goes to the full look (and its signals), which stays the authority.
 *
 * Sure means: the task's process group has no member (one `kill(-pgid, 0)`), so only what left the
 * group can be left, and nothing that started since the task carries its cookie `ATS_AGENT_TASK=<agent id>/<task id>` (tree-key.ts).
 * Linux hands out pids cyclically, so what started since the task's root holds a pid after the
 * root's, up to the last one handed out: only those few entries are read. That holds unless the
 * pids went all the way round since, which needs about as many forks as there are free pids: the
 * forks counted by /proc/stat since the task started say when that cannot have happened.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { groupAlive, hasCookie } from './process-tree.js';
import { readProcText } from './proc-read.js';
import { treeCookie } from './tree-key.js';

const HAS_PROC = process.platform === 'linux';
/** pids below this are never handed out again after the first wrap (the kernel's RESERVED_PIDS) */
const FIRST_REUSED_PID = 300;
/** a window of up to this many pids is cheaper to probe one by one (existsSync, no Error built for
 * a missing one: ~5 µs each) than to list all of /proc (~0.1–0.2 ms with 150 processes) */
const PROBE_AT_MOST = 32;

/** Taken just before a task's root is spawned: the kernel's counters then. */
export interface PidWindow {
  /** forks since boot (/proc/stat `processes`) */
  forks: number;
  /** processes and threads alive, each holding a pid (/proc/loadavg) */
  threads: number;
}

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
  treeKey: string,
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
  const cookie = treeCookie(treeKey);
  for (const pid of pidsAfter(rootPid, last)) {
    const stat = readStat(pid);
    // gone since the listing, older than the task, dead or the kernel's own: not the task's
    if (!stat || stat.start < rootStart || stat.dead || stat.kernel) continue;
    // carrying the cookie, or mid-exec (an empty environment): only the full look can tell
    if (hasCookie(pid, cookie) !== false) return false;
  }
  return true;
}

/**
 * The pids after `root` and up to `last` in the kernel's cyclic handing out that may name a process:
 * a short window is probed pid by pid (a thread's id is probed too, which only makes the look less
 * sure), a longer or wrapped one taken from the listing of /proc.
 */
function pidsAfter(root: number, last: number): number[] {
  if (last >= root && last - root <= PROBE_AT_MOST) {
    const probed: number[] = [];
    for (let pid = root + 1; pid <= last; pid++) if (existsSync(`/proc/${pid}`)) probed.push(pid);
    return probed;
  }
  const listed: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && (last >= root ? pid > root && pid <= last : pid > root || pid <= last))
      listed.push(pid);
  }
  return listed;
}

function readNumber(file: string): number | undefined {
  const n = Number(readProcText(file));
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
  const fields = readProcText('/proc/loadavg')?.trim().split(' ');
  const threads = Number(fields?.[3]?.split('/')[1]);
  const lastPid = Number(fields?.[4]);
  return Number.isInteger(threads) && Number.isInteger(lastPid) ? { threads, lastPid } : undefined;
}

/** PF_KTHREAD in the flags of /proc/<pid>/stat */
const KERNEL_THREAD = 0x00200000;

function readStat(pid: number): { start: number; dead: boolean; kernel: boolean } | undefined {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid pgrp session tty tpgid flags ...": comm may hold spaces and parentheses,
  // so count after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 20);
  const start = Number(fields[19]);
  if (!Number.isInteger(start)) return undefined;
  return {
    start,
    dead: fields[0] === 'Z' || fields[0] === 'X',
    kernel: (Number(fields[6]) & KERNEL_THREAD) !== 0,
  };
}
