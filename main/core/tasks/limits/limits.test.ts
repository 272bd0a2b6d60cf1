import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCgroupBase, TaskCgroup } from './cgroup.js';
import { allocationFailed, rlimitPlan } from './rlimit.js';

/** A fake cgroup v2 tree: plain files where the kernel has its interface files. */
function fakeCgroupFs(controllers: string, subtreeBusy = false): { root: string; self: string; own: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'ats-cgroupfs-'));
  const own = path.join(root, 'system.slice', 'ats-agent.service');
  mkdirSync(own, { recursive: true });
  writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids');
  writeFileSync(path.join(own, 'cgroup.controllers'), controllers);
  // a directory where the file is: writing it fails like the kernel's EBUSY would not; EISDIR stands for "refused"
  if (subtreeBusy) mkdirSync(path.join(own, 'cgroup.subtree_control'));
  const self = path.join(root, 'self-cgroup');
  writeFileSync(self, '0::/system.slice/ats-agent.service\n');
  return { root, self, own };
}

describe.skipIf(process.platform !== 'linux')('cgroup v2', () => {
  it('a v1 or hybrid host (no cgroup.controllers at the root) is named as such', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ats-cgroupfs-'));
    const self = path.join(root, 'self');
    writeFileSync(self, '4:memory:/x\n0::/\n');
    expect(findCgroupBase(root, self)).toEqual({
      ok: false,
      why: `no cgroup v2 hierarchy with controllers at ${root} (a cgroup v1 or hybrid host)`,
    });
  });

  it('enables the controllers it needs for the task groups, and names the missing ones', () => {
    const fs = fakeCgroupFs('cpu memory');
    const found = findCgroupBase(fs.root, fs.self);
    expect(found).toEqual({ ok: true, base: { dir: fs.own, controllers: new Set(['memory', 'cpu']) } });
    expect(readFileSync(path.join(fs.own, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu');
    if (!found.ok) return;
    const { group, unenforced } = TaskCgroup.create(found.base, 't1', {
      memory_mb: 100,
      cpu_percent: 150,
      max_processes: 20,
    });
    expect(unenforced).toEqual(['max_processes']);
    expect(group.dir).toBe(path.join(fs.own, 'task-t1'));
    expect(readFileSync(path.join(group.dir, 'memory.max'), 'utf8')).toBe(String(100 * 1024 * 1024));
    expect(readFileSync(path.join(group.dir, 'cpu.max'), 'utf8')).toBe('150000 100000');
  });

  it('without a memory controller, or where the group is not delegated, there is no cgroup', () => {
    const noMemory = fakeCgroupFs('cpu pids');
    expect(findCgroupBase(noMemory.root, noMemory.self)).toMatchObject({ ok: false, why: /no memory controller/ });
    const refused = fakeCgroupFs('cpu memory pids', true);
    expect(findCgroupBase(refused.root, refused.self)).toMatchObject({
      ok: false,
      why: /not delegated to it \(EISDIR\)/,
    });
  });

  it('reads exact usage and the OOM kill from the group', () => {
    const fs = fakeCgroupFs('cpu memory pids io');
    const found = findCgroupBase(fs.root, fs.self);
    if (!found.ok) throw new Error(found.why);
    const { group } = TaskCgroup.create(found.base, 't2', { memory_mb: 64 });
    const put = (file: string, text: string) => writeFileSync(path.join(group.dir, file), text);
    put('cpu.stat', 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    put('memory.peak', String(200 * 1024 * 1024));
    put('io.stat', '8:0 rbytes=1048576 wbytes=3145728 rios=1 wios=2\n8:16 rbytes=1048576 wbytes=0\n');
    put('memory.events', 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n');
    expect(group.usage()).toEqual({ cpu_seconds: 2.5, peak_rss_mb: 200, read_mb: 2, write_mb: 3, source: 'cgroup' });
    expect(group.oomKilled()).toBe(false);
    put('memory.events', 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n');
    expect(group.oomKilled()).toBe(true);
  });
});

describe('rlimits', () => {
  it('memory is RLIMIT_DATA, processes RLIMIT_NPROC unless the task is root, cpu never', () => {
    expect(rlimitPlan('/usr/bin/prlimit', { memory_mb: 100, max_processes: 10, cpu_percent: 50 }, 1000)).toEqual({
      prefix: ['/usr/bin/prlimit', `--data=${100 * 1024 * 1024}:${100 * 1024 * 1024}`, '--nproc=10:10', '--'],
      unenforced: ['cpu_percent'],
    });
    expect(rlimitPlan('/usr/bin/prlimit', { max_processes: 10 }, 0)).toBeNull();
    expect(rlimitPlan('/usr/bin/prlimit', { memory_mb: 1, max_processes: 10 }, 0)?.unenforced).toEqual([
      'max_processes',
    ]);
  });

  it('knows what runtimes print when an allocation fails', () => {
    for (const line of [
      'RangeError: Array buffer allocation failed',
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      'MemoryError',
      "terminate called after throwing an instance of 'std::bad_alloc'",
      'java.lang.OutOfMemoryError: Java heap space',
      'fatal error: runtime: out of memory',
      'memory allocation of 1048576 bytes failed',
      'tail: memory exhausted',
    ])
      expect(allocationFailed(line), line).toBe(true);
    expect(allocationFailed('AssertionError: expected 3 to equal 4')).toBe(false);
  });
});
