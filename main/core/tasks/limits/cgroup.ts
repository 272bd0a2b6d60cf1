/**
 * A cgroup v2 per task, where the agent may create one: limits the kernel enforces on the whole
 * tree, and usage it counts exactly. The agent's own cgroup must be delegated to it (systemd
 * `Delegate=yes`, a container with a writable cgroupfs, or root on a v2 host). Because v2 lets a
 * group with processes of its own hand no controller to its children, the agent first moves itself
 * into a child `agent/` group; each task then gets a sibling `task-<id>`.
 *
 * A v1 host (or a hybrid one, where v2 holds no controllers) has none of this: findCgroupBase says
 * why and the limits fall back to rlimits (rlimit.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LimitName, TaskUsage } from '../../protocol/frames.js';
import { round } from '../usage/proc-usage.js';

export interface CgroupBase {
  /** where task groups are created */
  dir: string;
  /** the controllers task groups get: `memory`, `cpu`, `pids` */
  controllers: Set<string>;
}

export type CgroupLookup = { ok: true; base: CgroupBase } | { ok: false; why: string };

const WANTED = ['memory', 'cpu', 'pids'];
const CPU_PERIOD_US = 100_000;
const MB = 1024 * 1024;

/**
 * The cgroup under which task groups go, made ready once. `fsRoot` and `selfCgroup` are the
 * kernel's files; tests point them at a fake tree.
 */
export function findCgroupBase(
  fsRoot = '/sys/fs/cgroup',
  selfCgroup = '/proc/self/cgroup',
  selfPid = process.pid,
): CgroupLookup {
  if (process.platform !== 'linux') return { ok: false, why: 'cgroups exist only on Linux' };
  let own: string | undefined;
  try {
    own = readFileSync(selfCgroup, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
  } catch (err) {
    return { ok: false, why: `cannot read ${selfCgroup}: ${(err as Error).message}` };
  }
  if (own === undefined || !existsSync(path.join(fsRoot, 'cgroup.controllers')))
    return {
      ok: false,
      why: `no cgroup v2 hierarchy with controllers at ${fsRoot} (a cgroup v1 or hybrid host)`,
    };
  const dir = path.join(fsRoot, own);
  let available: string[];
  try {
    available = readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean);
  } catch (err) {
    return { ok: false, why: `cannot read the agent's cgroup ${dir}: ${(err as Error).message}` };
  }
  const controllers = WANTED.filter((c) => available.includes(c));
  if (!controllers.includes('memory'))
    return { ok: false, why: `the agent's cgroup ${dir} has no memory controller (it has: ${available.join(' ')})` };
  const enable = controllers.map((c) => `+${c}`).join(' ');
  try {
    try {
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), enable);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      // processes of its own (the agent): they move to a leaf first
      const leaf = path.join(dir, 'agent');
      mkdirSync(leaf, { recursive: true });
      writeFileSync(path.join(leaf, 'cgroup.procs'), String(selfPid));
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), enable);
    }
  } catch (err) {
    return {
      ok: false,
      why: `the agent's cgroup ${dir} is not delegated to it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    };
  }
  return { ok: true, base: { dir, controllers: new Set(controllers) } };
}

export interface CgroupLimits {
  memory_mb?: number;
  cpu_percent?: number;
  max_processes?: number;
}

/** One task's group: created with its limits before the task runs, removed after. */
export class TaskCgroup {
  private constructor(readonly dir: string) {}

  /** The limits the group's controllers cannot hold are returned in `unenforced`. */
  static create(
    base: CgroupBase,
    taskId: string,
    limits: CgroupLimits,
  ): { group: TaskCgroup; unenforced: LimitName[] } {
    let dir = path.join(base.dir, `task-${taskId}`);
    // left by a previous run of the agent: removable once empty, else a new name
    if (existsSync(dir) && !tryRmdir(dir)) dir = `${dir}-${Date.now()}`;
    mkdirSync(dir);
    const group = new TaskCgroup(dir);
    const unenforced: LimitName[] = [];
    try {
      if (limits.memory_mb !== undefined) {
        group.write('memory.max', String(Math.floor(limits.memory_mb * MB)));
        // no swapping past the limit, and one process over it ends the whole tree
        group.writeIfPresent('memory.swap.max', '0');
        group.writeIfPresent('memory.oom.group', '1');
      }
      if (limits.cpu_percent !== undefined) {
        if (base.controllers.has('cpu'))
          group.write(
            'cpu.max',
            `${Math.max(1000, Math.round((limits.cpu_percent / 100) * CPU_PERIOD_US))} ${CPU_PERIOD_US}`,
          );
        else unenforced.push('cpu_percent');
      }
      if (limits.max_processes !== undefined) {
        if (base.controllers.has('pids')) group.write('pids.max', String(limits.max_processes));
        else unenforced.push('max_processes');
      }
    } catch (err) {
      group.remove();
      throw err;
    }
    return { group, unenforced };
  }

  /** Puts a process (the task's root, before it runs the command) into the group. */
  addProcess(pid: number): void {
    this.write('cgroup.procs', String(pid));
  }

  /** The kernel ended a process of the group for going past memory.max. */
  oomKilled(): boolean {
    const events = this.read('memory.events') ?? '';
    return /^oom_(group_)?kill [1-9]/m.test(events);
  }

  /** Exact figures; `peak_rss_mb` null where the kernel has no memory.peak (before 5.19). */
  usage(): (Omit<TaskUsage, 'peak_rss_mb'> & { peak_rss_mb: number | null }) | null {
    const cpu = this.read('cpu.stat');
    if (cpu === null) return null;
    const usec = Number(/^usage_usec (\d+)/m.exec(cpu)?.[1] ?? 0);
    const peak = this.read('memory.peak');
    let rbytes = 0;
    let wbytes = 0;
    for (const line of (this.read('io.stat') ?? '').split('\n')) {
      rbytes += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
      wbytes += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
    }
    return {
      cpu_seconds: round(usec / 1e6, 2),
      peak_rss_mb: peak === null ? null : round(Number(peak.trim()) / MB, 1),
      read_mb: round(rbytes / MB, 2),
      write_mb: round(wbytes / MB, 2),
      source: 'cgroup',
    };
  }

  /** Removes the group once its processes are gone (the runner ended the tree); a leftover is logged by the caller. */
  remove(): boolean {
    return tryRmdir(this.dir);
  }

  private write(file: string, value: string): void {
    writeFileSync(path.join(this.dir, file), value);
  }

  private writeIfPresent(file: string, value: string): void {
    if (existsSync(path.join(this.dir, file))) this.write(file, value);
  }

  private read(file: string): string | null {
    try {
      return readFileSync(path.join(this.dir, file), 'utf8');
    } catch {
      return null;
    }
  }
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
