/**
 * The cgroup path's gate against the real kernel: the task's shell is in its group before it runs
 * the command, and the group's own counters give its CPU. Needs a writable cgroup v2 mount; one with
 * no controllers (a hybrid host's /sys/fs/cgroup/unified) is enough for this, not for limits.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultShell, startTask } from '../runner.js';
import { TaskCgroup } from './cgroup.js';
import { GATE } from './task-resources.js';

function writableCgroup2(): { dir: string } | { why: string } {
  if (process.platform !== 'linux') return { why: 'not Linux' };
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[2] === 'cgroup2')
    .map((l) => l.split(' ')[1]!);
  for (const dir of mounts) {
    const probe = path.join(dir, `ats-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
      return { dir };
    } catch {
      // not ours to write
    }
  }
  return { why: mounts.length ? `no writable cgroup2 mount (${mounts.join(', ')})` : 'no cgroup2 mount' };
}

const found = writableCgroup2();

describe('cgroup gate', () => {
  it.skipIf(!('dir' in found))(
    `moves the shell into the task's group before the command runs${'why' in found ? ` (skipped: ${found.why})` : ''}`,
    async () => {
      const base = { dir: (found as { dir: string }).dir, controllers: new Set<string>() };
      const taskId = `gate-${randomUUID().slice(0, 8)}`;
      const { group, unenforced } = TaskCgroup.create(base, taskId, { max_processes: 5 });
      expect(unenforced).toEqual(['max_processes']);
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'ats-gate-'));
      try {
        const outputs: string[] = [];
        const run = startTask(
          {
            taskId,
            command: 'cat /proc/self/cgroup; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done',
            cwd: tmp,
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
            timeoutMs: 30_000,
            killGraceMs: 300,
            shell: defaultShell(),
            logFile: path.join(tmp, 'task.log'),
            resultMaxBytes: 64 * 1024,
            launch: { prefix: GATE, gate: (pid) => group.addProcess(pid) },
          },
          { onOutput: (b) => outputs.push(b.text) },
        );
        const outcome = await run.done;
        expect(outcome.status).toBe('success');
        // the first thing the command does already runs inside the group
        const groupPath = `/${path.relative(base.dir, group.dir)}`;
        expect(outcome.output).toContain(`0::${groupPath}\n`);
        expect(outcome.output.endsWith('done\n')).toBe(true);
        expect(group.usage()?.cpu_seconds).toBeGreaterThan(0);
        expect(group.oomKilled()).toBe(false);
      } finally {
        expect(group.remove()).toBe(true);
      }
    },
  );
});
