/**
 * Linux /proc readings: a process tree (a pid and all its descendants), its resident memory and
 * its CPU time. Every reading tolerates processes that exit while it runs.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on every Linux ABI Node runs on. */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  /** utime + stime of the process itself, in ticks */
  ownTicks: number;
  /** cutime + cstime: its reaped children, in ticks */
  childTicks: number;
}

export function readStat(pid: number, file = `/proc/${pid}/stat`): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may contain spaces and ')', so split after the last ')'
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // after comm: [0] state [1] ppid ... [11] utime [12] stime [13] cutime [14] cstime
  return {
    pid,
    ppid: Number(f[1]),
    state: f[0]!,
    ownTicks: Number(f[11]) + Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
  };
}

/** `root` and every live descendant of it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const tree: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export const rssKb = (pid: number): number => statusKb(pid, 'VmRSS');
/** Anonymous resident memory (heap, stacks): what a fork copies the page tables of. */
export const rssAnonKb = (pid: number): number => statusKb(pid, 'RssAnon');
/** The process's peak RSS since it started (or since resetPeak). */
export const peakRssKb = (pid: number): number => statusKb(pid, 'VmHWM');

/** Sum of VmRSS over the tree (shared pages are counted once per process, like `ps`). */
export function treeRssKb(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + rssKb(pid), 0);
}

/**
 * CPU time of the tree in ticks: each live process's own time, plus the root's reaped children
 * (a descendant that exited was reaped by its parent, and a parent that exited was reaped by the
 * root, so cutime of the root covers them once they are waited for).
 */
export function treeCpuTicks(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const st = readStat(pid);
    if (!st) continue;
    ticks += st.ownTicks + (pid === root ? st.childTicks : 0);
  }
  return ticks;
}

/** Reset VmHWM (Linux ≥ 4.0). False when not permitted. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Polls the tree's summed RSS and returns its maximum when stopped. */
export function pollTreePeak(root: number, everyMs = 25): () => number {
  let peak = 0;
  const tick = () => {
    peak = Math.max(peak, treeRssKb(root));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return () => {
    clearInterval(timer);
    tick();
    return peak;
  };
}

/**
 * CPU time of one process in ms (utime + stime): `main` its main thread (the event loop), `all`
 * every thread (GC and libuv's pool too). Less sensitive to the machine's load than wall time.
 */
export function processCpuMs(pid: number): { main: number; all: number } {
  const main = readStat(pid, `/proc/${pid}/task/${pid}/stat`);
  const all = readStat(pid);
  return { main: ((main?.ownTicks ?? 0) * 1000) / CLK_TCK, all: ((all?.ownTicks ?? 0) * 1000) / CLK_TCK };
}
