/**
 * Limits as rlimits, where no cgroup can be made: `prlimit` (util-linux) sets them and then runs
 * the task's shell in the same process, so they hold from its first instruction and are inherited by
 * everything it starts. What rlimits can express, per process:
 * - memory_mb → RLIMIT_DATA (heap and private writable mappings, since Linux 4.7). Not RLIMIT_AS:
 *   runtimes that reserve address space they never touch (V8, the JVM, Go) would not even start.
 * - max_processes → RLIMIT_NPROC, which counts every process of the task's user and which the
 *   kernel never applies to root: not enforceable for a task that runs as root.
 * - cpu_percent: no rlimit is a rate (RLIMIT_CPU is total seconds), so never enforceable here.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { LimitName } from '../../protocol/frames.js';
import type { CgroupLimits } from './cgroup.js';

const MB = 1024 * 1024;

/**
 * What a program prints when an allocation fails under RLIMIT_DATA (it gets ENOMEM, no signal):
 * glibc/C, C++, Python, Node/V8, the JVM, Go, Rust.
 */
const ALLOCATION_FAILED =
  /out of memory|cannot allocate memory|MemoryError|bad_alloc|memory exhausted|allocation failed|failed to allocate|OutOfMemoryError|memory allocation of \d+ bytes failed/i;

export function allocationFailed(stderrTail: string): boolean {
  return ALLOCATION_FAILED.test(stderrTail);
}

export interface RlimitPlan {
  /** the argv before the task's shell */
  prefix: string[];
  unenforced: LimitName[];
}

/** The prlimit argv for `limits`; null when nothing of them can be expressed. */
export function rlimitPlan(prlimit: string, limits: CgroupLimits, taskUid: number): RlimitPlan | null {
  const args: string[] = [];
  const unenforced: LimitName[] = [];
  if (limits.memory_mb !== undefined) {
    const bytes = Math.floor(limits.memory_mb * MB);
    args.push(`--data=${bytes}:${bytes}`);
  }
  if (limits.max_processes !== undefined) {
    if (taskUid === 0) unenforced.push('max_processes');
    else args.push(`--nproc=${limits.max_processes}:${limits.max_processes}`);
  }
  if (limits.cpu_percent !== undefined) unenforced.push('cpu_percent');
  if (args.length === 0) return null;
  return { prefix: [prlimit, ...args, '--'], unenforced };
}

/** The prlimit program on PATH (or in the usual places), or null. */
export function findPrlimit(envPath = process.env.PATH ?? ''): string | null {
  if (process.platform !== 'linux') return null;
  const dirs = [
    ...envPath.split(path.delimiter).filter((d) => path.isAbsolute(d)),
    '/usr/bin',
    '/bin',
    '/usr/sbin',
    '/sbin',
  ];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'prlimit');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}
