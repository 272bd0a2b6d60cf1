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
