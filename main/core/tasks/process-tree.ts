/**
 * Ending a task's whole process tree, not just the process the agent started: the most common
 * complaint about CI agents is work left running after a cancel (a test server, a browser, `sleep`).
 *
 * POSIX: every task leads its own process group, which one signal reaches. On Linux, /proc also
 * finds what left the group: descendants that called setpgid/setsid, and orphans re-parented to
 * init that still carry the task's environment cookie `ATS_AGENT_TASK=<agent id>/<task id>` (tree-key.ts).
 * Windows: `taskkill /T /F`, which follows the parent links of processes still alive.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readProcText } from './proc-read.js';
import { treeCookie } from './tree-key.js';

const IS_WINDOWS = process.platform === 'win32';
const HAS_PROC = process.platform === 'linux';
const POLL_MS = 50;
/** after SIGKILL: how long to keep re-killing (a tree still forking) before giving up */
const KILL_PATIENCE_MS = 2_000;
/** how long the look at a task's end waits for processes caught in the middle of an exec */
const MID_EXEC_PATIENCE_MS = 500;
/** PF_KTHREAD in the flags of /proc/<pid>/stat: kernel threads have no environment */
const KERNEL_THREAD = 0x00200000;

interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  zombie: boolean;
  /** clock ticks after boot */
  start: number;
  kernel: boolean;
}

/** What the agent knows of a task's root process beyond its pid, to tell it from a later holder of that pid. */
export interface RootIdentity {
  /** its start time (processStartTime, read at spawn) */
  start: number | undefined;
  /** whether the agent has reaped it (the child's exit was seen): from then on its pid is anyone's */
  reaped?: () => boolean;
}

/**
 * The live processes of a task's tree (Linux; elsewhere the group leader while its group lives).
 * `rootPid` undefined means the root is unknown (e.g. a previous agent run's): only the cookie
 * counts then, because a pid from the past may belong to an unrelated process by now.
 * `root.start` limits the cookie search to processes started since: reading every process's
 * environment after every task would cost more than the task. With `root`, the root pid counts only
 * while it names the task's process or group (usableRoot).
 */
export function listTreeProcesses(rootPid: number | undefined, treeKey: string, root?: RootIdentity): number[] {
  return scanTree(rootPid, treeKey, root).pids;
}

/**
 * The tree, and `unsure`: processes started since the root whose environment reads empty, as it
 * does in the middle of an exec (a setsid escapee between fork and exec looks so for a moment
 * under load); a second look tells whether they carry the cookie.
 */
function scanTree(
  rootPid: number | undefined,
  treeKey: string,
  root?: RootIdentity,
): { pids: number[]; unsure: number } {
  const bornAfter = root?.start;
  rootPid = usableRoot(rootPid, root);
  if (!HAS_PROC) return { pids: rootPid !== undefined && groupAlive(rootPid) ? [rootPid] : [], unsure: 0 };
  const entries = readProcTable();
  const found = new Set<number>();
  if (rootPid !== undefined) {
    const children = new Map<number, number[]>();
    for (const e of entries) {
      if (e.pgid === rootPid) found.add(e.pid);
      const siblings = children.get(e.ppid);
      if (siblings) siblings.push(e.pid);
      else children.set(e.ppid, [e.pid]);
    }
    const stack = [rootPid];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      found.add(pid);
      for (const child of children.get(pid) ?? []) if (!found.has(child)) stack.push(child);
    }
  }
  const cookie = treeCookie(treeKey);
  let unsure = 0;
  for (const e of entries) {
    if (found.has(e.pid) || (bornAfter !== undefined && e.start < bornAfter)) continue;
    const carries = hasCookie(e.pid, cookie);
    if (carries === true) found.add(e.pid);
    else if (carries === 'empty' && bornAfter !== undefined && !e.kernel && !e.zombie) unsure += 1;
  }
  // zombies are already dead (only waiting to be reaped) and cannot be signalled away
  const alive = new Set(entries.filter((e) => !e.zombie && e.pid !== process.pid).map((e) => e.pid));
  return { pids: [...found].filter((pid) => alive.has(pid)), unsure };
}

/** The look at a task's end: empty only once no process is caught mid-exec (bounded). */
async function settledTree(rootPid: number | undefined, treeKey: string, root?: RootIdentity): Promise<number[]> {
  const giveUpAt = Date.now() + MID_EXEC_PATIENCE_MS;
  for (;;) {
    const { pids, unsure } = scanTree(rootPid, treeKey, root);
    if (pids.length > 0 || unsure === 0 || Date.now() >= giveUpAt) return pids;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends `signal` to the task's group and to every other process of its tree; one already gone is no error. */
export function signalTree(
  rootPid: number | undefined,
  treeKey: string,
  signal: NodeJS.Signals,
  root?: RootIdentity,
): void {
  rootPid = usableRoot(rootPid, root);
  if (IS_WINDOWS) {
    if (rootPid !== undefined) taskkill(rootPid).catch(() => undefined); // it resolves on error too
    return;
  }
  if (rootPid !== undefined) sendSignal(-rootPid, signal);
  for (const pid of listTreeProcesses(rootPid, treeKey, root)) sendSignal(pid, signal);
}

/**
 * SIGTERM to the tree, then SIGKILL to whatever is left after `graceMs`. Resolves as soon as
 * nothing is left (or, for a tree that cannot be killed, after a bounded wait).
 */
export async function stopTree(
  rootPid: number | undefined,
  treeKey: string,
  graceMs: number,
  root?: RootIdentity,
): Promise<void> {
  rootPid = usableRoot(rootPid, root);
  if (IS_WINDOWS) {
    if (rootPid !== undefined) await taskkill(rootPid);
    return;
  }
  // after a normal exit there is usually nothing left: one look, no signals
  if ((await settledTree(rootPid, treeKey, root)).length === 0) return;
  signalTree(rootPid, treeKey, 'SIGTERM', root);
  if (await waitUntilGone(rootPid, treeKey, graceMs, root)) return;
  const giveUpAt = Date.now() + KILL_PATIENCE_MS;
  do {
    signalTree(rootPid, treeKey, 'SIGKILL', root);
    if (await waitUntilGone(rootPid, treeKey, POLL_MS, root)) return;
  } while (Date.now() < giveUpAt);
}

/**
 * 0 would signal the agent's own group and 1 is init, whose descendants are everything. Once the
 * root has exited and been reaped, its pid may name another process, and the id of its group too
 * (a stranger that takes the pid and calls setsid leads a group of that id):
 * - reaped (the agent saw the exit): a process that holds the pid now is someone else's, even one
 *   started in the same clock tick as the root (start times are 10 ms coarse, and a pid can be
 *   reused faster than that). The group id counts while no process holds the pid: Linux reuses no
 *   pid while a group of that id has members, so those members are the task's.
 * - not known to be reaped, start known: a pid that now starts at another time is someone else's;
 *   a pid no process holds counts while the task's group has members (it may outlive its leader).
 * What stays open: the last member exiting and the id being reused between this look and the
 * signal (microseconds; a pidfd would close it, Node has none).
 */
function usableRoot(rootPid: number | undefined, root?: RootIdentity): number | undefined {
  if (rootPid === undefined || rootPid <= 1) return undefined;
  if (root === undefined) return rootPid;
  if (root.reaped?.()) return processExists(rootPid) || !groupAlive(rootPid) ? undefined : rootPid;
  if (root.start === undefined) return rootPid;
  const now = processStartTime(rootPid);
  if (now !== undefined) return now === root.start ? rootPid : undefined;
  return groupAlive(rootPid) ? rootPid : undefined;
}

async function waitUntilGone(
  rootPid: number | undefined,
  treeKey: string,
  withinMs: number,
  root?: RootIdentity,
): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const { pids, unsure } = scanTree(rootPid, treeKey, root);
    if (pids.length === 0 && unsure === 0) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
  }
}

/** A process's start time (clock ticks after boot, Linux): with its pid, it names one process for good. */
export function processStartTime(pid: number): number | undefined {
  if (!HAS_PROC) return undefined;
  const stat = readProcText(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 20)[19]);
}

function readProcTable(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readProcText(`/proc/${pid}/stat`);
    if (stat === undefined) continue; // exited while we listed
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 20);
    entries.push({
      pid,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      zombie: fields[0] === 'Z' || fields[0] === 'X',
      start: Number(fields[19]),
      kernel: (Number(fields[6]) & KERNEL_THREAD) !== 0,
    });
  }
  return entries;
}

/** Whether the process carries the cookie; 'empty': its environment reads empty (mid-exec, or none at all). */
export function hasCookie(pid: number, cookie: Buffer): boolean | 'empty' {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false; // gone, or not ours to read
  }
  if (environ.length === 0) return 'empty';
  for (let at = environ.indexOf(cookie); at !== -1; at = environ.indexOf(cookie, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}

function processExists(pid: number): boolean {
  return signalZeroReaches(pid);
}

/** The group has a member (or one not ours to signal): `kill(-pgid, 0)`. */
export function groupAlive(pgid: number): boolean {
  return signalZeroReaches(-pgid);
}

/** kill(target, 0): true when a process (or group member) exists there, ours to signal or not */
function signalZeroReaches(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: already gone, which is the goal; EPERM: not ours to end, nothing more we can do
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') throw err;
  }
}

function taskkill(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const killer = spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    killer.once('error', () => resolve());
    killer.once('close', () => resolve());
  });
}
