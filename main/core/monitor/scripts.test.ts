import { describe, expect, it, vi } from 'vitest';
import { alive } from '../../../e2e/lib/proc.js';
import { parseValue, runProbe, ScriptMonitor, type CustomValue, type ScriptSpec, type Timers } from './scripts.js';

const posix = process.platform !== 'win32';
const shell = ['/bin/sh', '-c'];
const probe = (command: string, timeout = 5) =>
  runProbe({ name: 't', command, interval: 60, timeout }, { shell, env: { PATH: process.env.PATH } });

describe('parseValue', () => {
  it.each<[string | null, CustomValue]>([
    ['42\n', 42],
    [' -3.5e2 \r\nrest', -350],
    ['12 files\n', '12 files'],
    ['\nsecond line', 'unknown'],
    ['', 'unknown'],
    [null, 'unknown'],
    ['Infinity', 'Infinity'],
    ['x'.repeat(300), 'x'.repeat(256)],
  ])('%j → %j', (output, value) => expect(parseValue(output)).toEqual(value));
});

describe.runIf(posix)('runProbe', () => {
  it('reads the first line as a number or a string', async () => {
    expect(await probe('echo 17; echo 18')).toBe(17);
    expect(await probe('echo degraded')).toBe('degraded');
  });

  it('is "unknown" for a script that prints nothing or cannot start', async () => {
    expect(await probe('true')).toBe('unknown');
    expect(
      await runProbe({ name: 't', command: 'x', interval: 1, timeout: 1 }, { shell: ['/nonexistent'], env: {} }),
    ).toBe('unknown');
  });

  it('kills a hanging script and what it started at the timeout, and says "unknown"', async () => {
    const pidFile = `/tmp/ats-probe-hang-${process.pid}-${Date.now()}`;
    const started = Date.now();
    const value = await probe(`sleep 30 & echo $! > ${pidFile}; sleep 30`, 0.5);
    expect(value).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(3000);
    const { readFileSync, rmSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    rmSync(pidFile);
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 2000 });
  });

  it('kills a background child the script leaves behind', async () => {
    const pidFile = `/tmp/ats-probe-${process.pid}-${Date.now()}`;
    expect(await probe(`sleep 30 & echo $! > ${pidFile}; echo 1`)).toBe(1);
    const { readFileSync, rmSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    rmSync(pidFile);
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 2000 });
  });

  it('reads at most a few KB of a script that prints 10 MB, and does not wait for it to finish printing', async () => {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    // without a newline: the whole 10 MB would be one line
    const value = await probe("head -c 10485760 /dev/zero | tr '\\0' 'y'", 10);
    expect(value).toBe('y'.repeat(256));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(process.memoryUsage().rss - before).toBeLessThan(8 * 1024 * 1024);
  });
});

function fakeClock(): Timers & { advance(ms: number): Promise<void> } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => (timers = timers.filter((t) => t.id !== id)),
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        await new Promise((r) => setImmediate(r));
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = end;
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('ScriptMonitor', () => {
  const spec = (name: string, interval: number): ScriptSpec => ({ name, command: name, interval, timeout: 5 });

  it('runs each script on its own interval and keeps the latest value', async () => {
    const clock = fakeClock();
    const runs: string[] = [];
    let n = 0;
    const monitor = new ScriptMonitor(
      [spec('fast', 10), spec('slow', 30)],
      async (s) => {
        runs.push(`${s.name}@${clock.now()}`);
        return s.name === 'fast' ? ++n : 'ok';
      },
      clock,
    );
    expect(monitor.values()).toEqual({ fast: 'unknown', slow: 'unknown' });
    monitor.start();
    await clock.advance(35_000);
    // two timers due at the same instant may fire in either order
    expect([...runs].sort()).toEqual(['fast@0', 'fast@10000', 'fast@20000', 'fast@30000', 'slow@0', 'slow@30000']);
    expect(monitor.values()).toEqual({ fast: 4, slow: 'ok' });
    await monitor.stop();
  });

  it('never starts a run while the previous one of the same script goes on', async () => {
    const clock = fakeClock();
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const monitor = new ScriptMonitor(
      [spec('slow', 1)],
      async (_s, signal) => {
        running += 1;
        most = Math.max(most, running);
        starts.push(clock.now());
        // a run takes 2.5 s of a 1 s interval
        await new Promise<void>((r) => {
          clock.setTimeout(r, 2500);
          signal.addEventListener('abort', () => r());
        });
        running -= 1;
        return 1;
      },
      clock,
    );
    monitor.start();
    await clock.advance(10_000);
    expect(most).toBe(1);
    expect(starts).toEqual([0, 2500, 5000, 7500, 10000]);
    await monitor.stop();
  });

  it('turns a runner that throws into "unknown" and goes on', async () => {
    const clock = fakeClock();
    const errors: unknown[] = [];
    let calls = 0;
    const monitor = new ScriptMonitor(
      [spec('flaky', 5)],
      async () => {
        calls += 1;
        if (calls === 2) throw new Error('boom');
        return calls;
      },
      clock,
      (_s, err) => errors.push(err),
    );
    monitor.start();
    await clock.advance(1);
    expect(monitor.values()).toEqual({ flaky: 1 });
    await clock.advance(5000);
    expect(monitor.values()).toEqual({ flaky: 'unknown' });
    expect(errors).toHaveLength(1);
    await clock.advance(5000);
    expect(monitor.values()).toEqual({ flaky: 3 });
    await monitor.stop();
  });

  it('stop() aborts a running probe and starts nothing more', async () => {
    const clock = fakeClock();
    let calls = 0;
    const monitor = new ScriptMonitor(
      [spec('hang', 1)],
      (_s, signal) => {
        calls += 1;
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve('unknown')));
      },
      clock,
    );
    monitor.start();
    await clock.advance(1);
    await monitor.stop();
    await clock.advance(10_000);
    expect(calls).toBe(1);
  });
});
