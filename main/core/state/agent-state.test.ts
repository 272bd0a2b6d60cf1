import { describe, expect, it } from 'vitest';
import type { AgentEvent, LogFileProblem } from '../api.js';
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
