import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../process-tree.js';
import { ProcTreeUsage, procfs, type ProcSource } from './proc-usage.js';

interface FakeProcess {
  pid: number;
  ppid: number;
  pgid: number;
  /** utime, in ticks (1/100 s) */
  ticks: number;
  start: number;
  writeBytes?: number;
}

/** A /proc of the given processes, counting what is read of it. */
function fakeProc(world: { processes: FakeProcess[]; groupAlive: boolean }) {
  const reads = { list: 0, files: [] as string[] };
  const source: ProcSource = {
    list: () => {
      reads.list++;
      return world.processes.map((p) => String(p.pid));
    },
    read: (file) => {
      reads.files.push(file);
      const [pid, name] = file.split('/');
      const p = world.processes.find((q) => String(q.pid) === pid);
      if (!p) return undefined;
      if (name === 'stat')
        return `${p.pid} (a (b) c) S ${p.ppid} ${p.pgid} ${p.pgid} 0 -1 4194560 0 0 0 0 ${p.ticks} 0 0 0 20 0 1 0 ${p.start} 1000 256 x`;
      if (name === 'io') return `rchar: 0\nwchar: 0\nread_bytes: 0\nwrite_bytes: ${p.writeBytes ?? 0}\n`;
      return 'Name:\tx\nVmHWM:\t    1024 kB\n';
    },
    groupAlive: () => world.groupAlive,
  };
  return { source, reads };
}

describe('ProcTreeUsage', () => {
  it('once the group is empty the last look reads nothing of /proc, and keeps what earlier samples saw', () => {
    const world = {
      processes: [{ pid: 500, ppid: 1, pgid: 500, ticks: 150, start: 9000, writeBytes: 3 * 1024 * 1024 }],
      groupAlive: true,
    };
    const { source, reads } = fakeProc(world);
    const usage = new ProcTreeUsage(500, 9000, source);
    usage.sample();
    expect(reads.list).toBe(1);
    // the root was reaped and nothing is left in its group
    world.processes = [];
    world.groupAlive = false;
    reads.list = 0;
    reads.files = [];
    expect(usage.result()).toEqual({ cpu_seconds: 1.5, peak_rss_mb: 1, read_mb: 0, write_mb: 3, source: 'sampled' });
    expect(reads).toEqual({ list: 0, files: [] });
    expect(usage.rssBytes).toBe(0);
  });

  it('while the group has a member the last look reads /proc: what only it sees is counted', () => {
    const world = {
      processes: [
        // the root was reaped; a member of its group, and that member's child in a session of its own
        { pid: 610, ppid: 1, pgid: 600, ticks: 40, start: 9100 },
        { pid: 611, ppid: 610, pgid: 611, ticks: 60, start: 9200, writeBytes: 1024 * 1024 },
        { pid: 700, ppid: 1, pgid: 700, ticks: 5000, start: 100 },
      ],
      groupAlive: true,
    };
    const { source, reads } = fakeProc(world);
    const usage = new ProcTreeUsage(600, 9000, source);
    expect(usage.result()).toMatchObject({ cpu_seconds: 1, write_mb: 1 });
    expect(reads.list).toBe(1);
    expect(reads.files).toContain('611/io');
    expect(reads.files).not.toContain('700/io');
  });

  describe.skipIf(process.platform !== 'linux')('on real processes', () => {
    const NODE = process.execPath;

    function counting(source: ProcSource): { source: ProcSource; reads: () => number } {
      let n = 0;
      return {
        source: {
          list: () => (n++, source.list()),
          read: (file) => (n++, source.read(file)),
          groupAlive: source.groupAlive,
        },
        reads: () => n,
      };
    }

    async function exited(child: ChildProcess): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }

    it('a task that exited with nothing left costs no look at /proc', async () => {
      const child = spawn('/bin/sh', ['-c', 'exit 0'], { detached: true, stdio: 'ignore' });
      const proc = counting(procfs());
      const usage = new ProcTreeUsage(child.pid!, processStartTime(child.pid!), proc.source);
      await exited(child);
      expect(usage.result().cpu_seconds).toBe(0);
      expect(proc.reads()).toBe(0);
    });

    it('after the root exits, a setsid escapee below a member still in the group is counted', async () => {
      // the subshell stays in the group and waits; its child leaves for a session of its own, burns
      // 0.4 s of CPU (not of the clock: the machine may be busy), says so and sleeps: only a look at
      // /proc after the root is gone can see that CPU
      const burn = `${NODE} -e "while(process.cpuUsage().user<4e5); console.log('burnt', process.pid); setTimeout(()=>{}, 10000)"`;
      const child = spawn('/bin/sh', ['-c', `(setsid ${burn} & wait) & exit 0`], {
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      try {
        const proc = counting(procfs());
        const usage = new ProcTreeUsage(child.pid!, processStartTime(child.pid!), proc.source);
        await exited(child);
        for await (const chunk of child.stdout!) if (/burnt \d+\n/.test((out += String(chunk)))) break;
        expect(usage.result().cpu_seconds).toBeGreaterThanOrEqual(0.3);
        expect(proc.reads()).toBeGreaterThan(0);
      } finally {
        const escapee = Number(/burnt (\d+)/.exec(out)?.[1]);
        for (const target of [-child.pid!, ...(escapee > 1 ? [escapee] : [])]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
    });
  });
});
