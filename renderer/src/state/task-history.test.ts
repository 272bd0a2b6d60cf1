import { describe, expect, it } from 'vitest';
import type { TaskView } from '../../../main/core/api.js';
import { historyTotal, matchesFilter, mergeHistory } from './useTaskHistory.js';

const view = (taskId: string, phase: TaskView['phase'], command = `run ${taskId}`): TaskView => ({
  taskId,
  command,
  phase,
  workDir: '',
  receivedAt: '2026-01-01T00:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  duration: null,
  exitCode: null,
  signal: null,
  errorCode: null,
  error: null,
  pid: null,
  outputSeq: 0,
});

describe('mergeHistory', () => {
  it('puts the journal tasks (newest first from the agent) before the live ones, oldest first, live winning', () => {
    const history = [view('h-3', 'failed'), view('live-1', 'success'), view('h-1', 'success')];
    const live = [view('live-1', 'running'), view('live-2', 'queued')];
    const merged = mergeHistory(live, history);
    expect(merged.map((t) => `${t.taskId}:${t.phase}`)).toEqual([
      'h-1:success',
      'h-3:failed',
      'live-1:running',
      'live-2:queued',
    ]);
  });
});

describe('matchesFilter', () => {
  const t = view('Build-42', 'failed', 'npm run Test');
  it('matches by status, and by a part of the id or command in any case', () => {
    expect(matchesFilter(t, { status: '', search: '' })).toBe(true);
    expect(matchesFilter(t, { status: 'failed', search: 'build' })).toBe(true);
    expect(matchesFilter(t, { status: '', search: ' RUN TEST ' })).toBe(true);
    expect(matchesFilter(t, { status: 'success', search: '' })).toBe(false);
    expect(matchesFilter(t, { status: '', search: 'deploy' })).toBe(false);
  });
});

describe('historyTotal', () => {
  it('counts the tasks shown since the page was asked for (it said 0 beside two finished tasks)', () => {
    const page = { tasks: [view('old', 'success')], total: 7 };
    expect(historyTotal(page, [view('old', 'success')])).toBe(7);
    expect(historyTotal({ tasks: [], total: 0 }, [view('a', 'failed'), view('b', 'cancelled')])).toBe(2);
    expect(historyTotal(page, [view('old', 'success'), view('new', 'running')])).toBe(8);
  });
});
