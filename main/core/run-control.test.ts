import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ControlView } from './api.js';
import type { Logger } from './logging/logger.js';
import { RunControl, type RunControlOptions } from './run-control.js';

function setup(over: Partial<RunControlOptions> = {}) {
  const holds: boolean[] = [];
  const views: ControlView[] = [];
  const ends: string[] = [];
  const lines: string[] = [];
  let idle!: () => void;
  const idleP = new Promise<void>((r) => (idle = r));
  const log: Logger = {
    debug: () => {},
    info: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
  };
  const control = new RunControl({
    hold: (h) => holds.push(h),
    whenIdle: () => idleP,
    end: async (why) => {
      ends.push(why);
    },
    onChange: (v) => views.push(v),
    log,
    ephemeral: false,
    drainTimeoutS: null,
    ...over,
  });
  return { control, holds, views, ends, lines, idle };
}

const flush = () => new Promise((r) => setImmediate(r));

afterEach(() => vi.useRealTimers());

describe('RunControl', () => {
  it('pause holds the queue and resume releases it; repeating either changes nothing', () => {
    const s = setup();
    expect(s.control.pause('the platform')).toEqual({ ok: true });
    expect(s.control.pause('the UI')).toEqual({ ok: true });
    expect(s.control.view()).toEqual({ paused: true, draining: false, ephemeral: false });
    expect(s.control.resume('the UI')).toEqual({ ok: true });
    expect(s.control.resume('the UI')).toEqual({ ok: true });
    expect(s.holds).toEqual([true, false]);
    expect(s.views.map((v) => v.paused)).toEqual([true, false]);
    expect(s.lines.join('\n')).toMatch(/paused by the platform[\s\S]*resumed by the UI/);
  });

  it('drain holds, waits for the running tasks, then ends once; resume cannot undo it', async () => {
    const s = setup();
    s.control.drain('SIGQUIT');
    expect(s.control.view()).toEqual({ paused: true, draining: true, ephemeral: false });
    expect(s.control.resume('the platform')).toMatchObject({ ok: false, message: expect.stringMatching(/draining/) });
    s.control.drain('the platform');
    await flush();
    expect(s.ends).toEqual([]);
    s.idle();
    await flush();
    expect(s.ends).toEqual(['nothing runs any more']);
    expect(s.holds).toEqual([true]);
  });

  it('--drain-timeout: a drain that waits too long ends anyway (the running tasks get stopped)', async () => {
    vi.useFakeTimers();
    const s = setup({ drainTimeoutS: 30 });
    s.control.drain('SIGQUIT');
    await vi.advanceTimersByTimeAsync(29_000);
    expect(s.ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.ends).toEqual(['the drain timeout (30 s) passed']);
    s.idle();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.ends).toHaveLength(1);
  });

  it('ephemeral: the first task started drains the agent; a non-ephemeral one goes on', async () => {
    const eph = setup({ ephemeral: true });
    expect(eph.control.view()).toMatchObject({ paused: false, ephemeral: true });
    eph.control.taskStarting('t-1');
    expect(eph.control.view()).toMatchObject({ paused: true, draining: true });
    expect(eph.lines.join('\n')).toMatch(/ephemeral: task t-1 is its one task/);
    eph.idle();
    await flush();
    expect(eph.ends).toHaveLength(1);

    const plain = setup();
    plain.control.taskStarting('t-1');
    expect(plain.control.view().paused).toBe(false);
    expect(plain.holds).toEqual([]);
  });

  it('dispose: a stopping agent keeps no drain timer', () => {
    vi.useFakeTimers();
    const s = setup({ drainTimeoutS: 5 });
    s.control.drain('SIGQUIT');
    s.control.dispose();
    vi.advanceTimersByTime(10_000);
    expect(s.ends).toEqual([]);
  });
});
