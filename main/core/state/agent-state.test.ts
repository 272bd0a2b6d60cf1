import { describe, expect, it } from 'vitest';
import type { AgentEvent, LogFileProblem, SystemInfo, TaskView } from '../api.js';
import { AgentState } from './agent-state.js';

function newState(): AgentState {
  return new AgentState(
    { version: '1', agentId: 'a', mode: 'headless', hostname: 'h', pid: 1, startedAt: '', runningAsRoot: false },
    {
      phase: 'starting',
      serverUrl: 'ws://x',
      environmentId: null,
      workDir: '/w',
      connectedSince: null,
      nextAttemptAt: null,
      attempt: 0,
      lastError: null,
    },
  );
}

describe('the log file in the state', () => {
  it('announces a problem when it starts, changes or ends, and counts every lost line', () => {
    const state = newState();
    const events: AgentEvent[] = [];
    state.subscribe((e) => events.push(e));
    const problem: LogFileProblem = { path: '/w/logs/agent.log', message: 'EISDIR', since: 't0' };

    state.setLogFile(problem, 1);
    state.setLogFile({ ...problem }, 2);
    state.setLogFile({ ...problem }, 3);
    expect(state.snapshot().logFileProblem).toEqual(problem);
    state.setLogFile({ ...problem, message: 'ENOSPC' }, 4);
    state.setLogFile(null, 4);

    expect(events.filter((e) => e.type === 'log-file')).toEqual([
      { type: 'log-file', problem },
      { type: 'log-file', problem: { ...problem, message: 'ENOSPC' } },
      { type: 'log-file', problem: null },
    ]);
    expect(events.filter((e) => e.type === 'counters')).toHaveLength(4);
    expect(state.snapshot().counters.logLinesLost).toBe(4);
    expect(state.snapshot().logFileProblem).toBeNull();
  });
});

describe('the output kept for the UI', () => {
  const chunk = (seq: number) => ({ seq, stream: 'stdout' as const, text: 'x'.repeat(16 * 1024), at: 't' });
  const kept = (state: AgentState, id: string) => state.taskOutput(id).reduce((n, c) => n + c.text.length, 0);

  it('one task keeps its last 256 K characters', () => {
    const state = newState();
    for (let seq = 1; seq <= 40; seq++) state.appendOutput('one', chunk(seq));
    expect(kept(state, 'one')).toBe(256 * 1024);
    expect(state.taskOutput('one').at(-1)?.seq).toBe(40);
  });

  it('64 tasks printing at once keep 4 M characters between them, not 64 × 256 K', () => {
    const state = newState();
    for (let seq = 1; seq <= 40; seq++) for (let t = 0; t < 64; t++) state.appendOutput(`t${t}`, chunk(seq));
    const total = Array.from({ length: 64 }, (_, t) => kept(state, `t${t}`)).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(kept(state, 't63')).toBeGreaterThan(0);
  });
});

describe('the metrics recorded from a heartbeat', () => {
  const base = {
    cpu: { usage_percent: 12 },
    memory: { usage_percent: 40 },
    disk: { usage_percent: 'unknown' },
  } as unknown as SystemInfo;
  const record = (extra: Partial<SystemInfo>) => {
    const state = newState();
    state.recordHeartbeat({ ...base, ...extra }, new Date('2026-01-01T10:00:00Z'));
    return state.snapshot().metrics[0]!;
  };

  it('a heartbeat without the fleet extensions adds none of their fields (so no chart)', () => {
    expect(record({})).toEqual({ at: '2026-01-01T10:00:00.000Z', cpu: 12, memory: 40, disk: null });
  });

  it('records load 1-min, network rx+tx and disk read+write, and numeric script values', () => {
    const point = record({
      load_average: [1.5, 0.7, 0.2],
      network_io: { rx_bytes_per_s: 3000, tx_bytes_per_s: 1000 },
      disk_io: { read_bytes_per_s: 512, write_bytes_per_s: 2048 },
      custom: { queue: 42, hang: 'unknown' },
    });
    expect(point).toMatchObject({ load: 1.5, network: 4000, diskIo: 2560, custom: { queue: 42, hang: null } });
  });

  it('"unknown" and non-finite rates are null, a gap in the chart, not zero', () => {
    const point = record({
      load_average: 'unknown',
      network_io: 'unknown',
      disk_io: { read_bytes_per_s: Number.NaN, write_bytes_per_s: 1 },
    });
    expect(point).toMatchObject({ load: null, network: null, diskIo: null });
  });

  it('keeps at most 8 script series per point, the first ones configured', () => {
    const custom = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`s${i}`, i]));
    const kept = Object.keys(record({ custom }).custom ?? {});
    expect(kept).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']);
  });
});

describe('the tasks kept for the UI', () => {
  const view = (id: string, finishedAt: string | null): TaskView => ({
    taskId: id,
    command: 'true',
    phase: finishedAt ? 'success' : 'running',
    workDir: '/w',
    receivedAt: 't',
    startedAt: 't',
    finishedAt,
    duration: null,
    exitCode: null,
    signal: null,
    errorCode: null,
    error: null,
    pid: null,
    outputSeq: 0,
  });
  const ids = (state: AgentState) => state.snapshot().tasks.map((t) => t.taskId);

  it('keeps the newest 200 finished tasks and the output of the newest 20; a running task is never dropped', () => {
    const state = newState();
    state.upsertTask(view('long', null)); // runs through all of it
    for (let n = 1; n <= 300; n++) {
      state.upsertTask(view(`t${n}`, null));
      state.appendOutput(`t${n}`, { seq: 1, stream: 'stdout', text: `out ${n}`, at: 't' });
      state.updateTask(`t${n}`, { phase: 'success', finishedAt: 't' });
    }
    expect(ids(state)).toEqual(['long', ...Array.from({ length: 200 }, (_, i) => `t${101 + i}`)]);
    expect(state.taskOutput('t280')).toEqual([]);
    expect(state.taskOutput('t281').map((c) => c.text)).toEqual(['out 281']);
    expect(state.taskOutput('t300').map((c) => c.text)).toEqual(['out 300']);
  });
});
