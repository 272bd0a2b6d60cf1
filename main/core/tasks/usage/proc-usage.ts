/**
 * A task tree's usage sampled from /proc, where no cgroup counts it exactly. Each sample finds the
 * tree (the root's descendants and its process group) and reads each member's stat and io.
 *
 * CPU and I/O of a process that exits and is reaped by its parent move into that parent's
 * cutime/cstime and io counters (the kernel adds them at wait()), so a reaped child is counted
 * through its parent; only what leaves the tree another way (an orphan reaped by init, the root
 * itself, reaped by the agent) is kept from its last sample. What a process did after the last
 * sample before it ended is lost: the figures are a lower bound, which `source: "sampled"` says.
 *
 * The usual sample at a task's end finds nothing: the root was reaped and its group is empty. The
 * root leads its group for as long as it exists (it is a session leader, which cannot leave it), and
 * every member is found from the root or the group, so an empty group (one `kill(-pgid, 0)`, which
 * zombies still answer) proves that a look at /proc would find no member; it is not read then.
 */
import { readdirSync } from 'node:fs';
import type { TaskUsage } from '../../protocol/frames.js';
import { groupAlive } from '../process-tree.js';
import { readProcText } from '../proc-read.js';

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux architecture Node runs on */
const TICKS_PER_S = 100;
const PAGE_BYTES = 4096;
const MB = 1024 * 1024;

interface Counters {
  /** own and reaped children's CPU, in ticks */
  cpuTicks: number;
  readBytes: number;
  writeBytes: number;
}

interface Member extends Counters {
  ppid: number;
  rssBytes: number;
}

interface StatLine {
  pid: number;
  ppid: number;
  pgid: number;
  start: number;
  zombie: boolean;
  cpuTicks: number;
  rssBytes: number;
}

/** Where the samples look: procfs, and whether a process group has a member left. */
export interface ProcSource {
  /** the entries of the proc root; null when it cannot be listed (no /proc) */
  list(): string[] | null;
  /** a small file below the proc root (`<pid>/stat`), undefined when gone or not ours to read */
  read(file: string): string | undefined;
  groupAlive(pgid: number): boolean;
}

/** The real /proc, its small files read through one reused buffer (proc-read.ts). */
export function procfs(root = '/proc'): ProcSource {
  return {
    list: () => {
      try {
        return readdirSync(root);
      } catch {
        return null;
      }
    },
    read: (file) => readProcText(`${root}/${file}`),
    groupAlive,
  };
}

export class ProcTreeUsage {
  /** `${pid}:${start}` → its latest figures */
  private readonly last = new Map<string, Member>();
  /** figures of members that left the tree without a member to count them */
  private readonly gone: Counters = { cpuTicks: 0, readBytes: 0, writeBytes: 0 };
  private peakRssBytes = 0;
  private best: Counters = { cpuTicks: 0, readBytes: 0, writeBytes: 0 };
  /** the tree's resident memory at the last sample */
  rssBytes = 0;

  constructor(
    private readonly rootPid: number,
    /** the root's start time (process-tree.ts processStartTime): a reused pid is not the root */
    private readonly rootStart: number | undefined,
    private readonly proc: ProcSource = procfs(),
  ) {}

  /**
   * One look at the tree; cheap enough for a few a second (one readdir, a read per process, three per
   * member), and one signal once the tree is gone.
   */
  sample(): void {
    const stats = this.proc.groupAlive(this.rootPid) ? this.readStats() : [];
    const members = this.treeOf(stats);
    const now = new Map<string, Member>();
    let rss = 0;
    for (const s of members) {
      const key = `${s.pid}:${s.start}`;
      const io = this.readIo(s.pid) ?? this.last.get(key) ?? { readBytes: 0, writeBytes: 0 };
      now.set(key, { ppid: s.ppid, rssBytes: s.rssBytes, cpuTicks: s.cpuTicks, ...pickIo(io) });
      rss += s.rssBytes;
      this.peakRssBytes = Math.max(this.peakRssBytes, s.zombie ? 0 : this.highWater(s.pid));
    }
    const livePids = new Set(members.map((m) => m.pid));
    for (const [key, member] of this.last) {
      if (now.has(key)) continue;
      // reaped by a parent still in the tree: its figures are in that parent's now
      if (livePids.has(member.ppid)) continue;
      this.gone.cpuTicks += member.cpuTicks;
      this.gone.readBytes += member.readBytes;
      this.gone.writeBytes += member.writeBytes;
    }
    this.last.clear();
    for (const [key, member] of now) this.last.set(key, member);
    this.rssBytes = rss;
    this.peakRssBytes = Math.max(this.peakRssBytes, rss);
    const total = sum([this.gone, ...now.values()]);
    // counters only grow; a dip is a reaped child not yet seen in its parent
    this.best = {
      cpuTicks: Math.max(this.best.cpuTicks, total.cpuTicks),
      readBytes: Math.max(this.best.readBytes, total.readBytes),
      writeBytes: Math.max(this.best.writeBytes, total.writeBytes),
    };
  }

  /** The figures so far, after a last sample. */
  result(): TaskUsage {
    this.sample();
    return {
      cpu_seconds: round(this.best.cpuTicks / TICKS_PER_S, 2),
      peak_rss_mb: round(this.peakRssBytes / MB, 1),
      read_mb: round(this.best.readBytes / MB, 2),
      write_mb: round(this.best.writeBytes / MB, 2),
      source: 'sampled',
    };
  }

  private treeOf(stats: StatLine[]): StatLine[] {
    const root = stats.find((s) => s.pid === this.rootPid);
    const rootAlive = root !== undefined && (this.rootStart === undefined || root.start === this.rootStart);
    const children = new Map<number, StatLine[]>();
    for (const s of stats) {
      const list = children.get(s.ppid);
      if (list) list.push(s);
      else children.set(s.ppid, [s]);
    }
    const found = new Map<number, StatLine>();
    // members of the root's group; a group of a reused pid's id cannot exist while the task's has members
    for (const s of stats)
      if (s.pgid === this.rootPid && (this.rootStart === undefined || s.start >= this.rootStart)) found.set(s.pid, s);
    if (rootAlive) found.set(root.pid, root);
    const stack = [...found.values()];
    while (stack.length > 0) {
      const at = stack.pop()!;
      for (const child of children.get(at.pid) ?? []) {
        if (found.has(child.pid)) continue;
        found.set(child.pid, child);
        stack.push(child);
      }
    }
    return [...found.values()];
  }

  private readStats(): StatLine[] {
    const out: StatLine[] = [];
    for (const name of this.proc.list() ?? []) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const stat = this.proc.read(`${pid}/stat`);
      if (stat === undefined) continue;
      // "pid (comm) state ppid pgrp ...": fields after the last ')' from `state` (field 3) on
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 22);
      out.push({
        pid,
        ppid: Number(f[1]),
        pgid: Number(f[2]),
        zombie: f[0] === 'Z' || f[0] === 'X',
        // utime stime cutime cstime (fields 14-17)
        cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
        start: Number(f[19]),
        rssBytes: Number(f[21]) * PAGE_BYTES,
      });
    }
    return out;
  }

  private readIo(pid: number): { readBytes: number; writeBytes: number } | null {
    const text = this.proc.read(`${pid}/io`);
    // gone, or not ours to read (another user's task when the agent is not root)
    if (text === undefined) return null;
    return { readBytes: field(text, 'read_bytes'), writeBytes: field(text, 'write_bytes') };
  }

  /** VmHWM: one process's peak between samples, which the sum of current RSS misses. */
  private highWater(pid: number): number {
    const status = this.proc.read(`${pid}/status`);
    const m = status === undefined ? null : /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  }
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}: (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function pickIo(io: { readBytes: number; writeBytes: number }): { readBytes: number; writeBytes: number } {
  return { readBytes: io.readBytes, writeBytes: io.writeBytes };
}

function sum(all: Counters[]): Counters {
  const total: Counters = { cpuTicks: 0, readBytes: 0, writeBytes: 0 };
  for (const c of all) {
    total.cpuTicks += c.cpuTicks;
    total.readBytes += c.readBytes;
    total.writeBytes += c.writeBytes;
  }
  return total;
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Where /proc is missing (macOS, Windows): zeros, still `sampled`, as docs/protocol.md says. */
export function emptyUsage(): TaskUsage {
  return { cpu_seconds: 0, peak_rss_mb: 0, read_mb: 0, write_mb: 0, source: 'sampled' };
}
