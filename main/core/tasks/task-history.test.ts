/**
 * The history a UI lists: journal entries (what survives a restart) merged with the state's live
 * tasks, newest first, filtered by status and by a part of the id or command, and bounded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../api.js';
import type { TaskStatus } from '../protocol/frames.js';
import { TaskJournal, type JournalEntry } from './journal.js';
import { MAX_HISTORY_PAGE, historyView, taskHistory } from './task-history.js';

function finished(id: string, status: TaskStatus, at: string, command = `run ${id}`): JournalEntry {
  return {
    task_id: id,
    phase: 'finished',
    command,
    received_at: at,
    delivered: true,
    result: {
      type: 'task_result',
      task_id: id,
      status,
      exit_code: status === 'success' ? 0 : 1,
      output: '',
      error: status === 'error' ? 'spawn failed' : '',
      duration: 1.25,
      timestamp: at,
      started_at: at,
      ...(status === 'error' ? { error_code: 'AGENT_RESTARTED' } : {}),
    },
  };
}

const live = (id: string, phase: TaskView['phase'], at: string): TaskView => ({
  ...historyView(finished(id, 'success', at))!,
  phase,
  finishedAt: null,
  duration: null,
  exitCode: null,
});

const ENTRIES = [
  finished('t-1', 'success', '2026-01-01T10:00:00.000Z', 'npm test'),
  finished('t-2', 'failed', '2026-01-01T11:00:00.000Z', 'pytest -x'),
  finished('t-3', 'error', '2026-01-01T12:00:00.000Z'),
  { task_id: 't-4', phase: 'running', command: 'sleep 9', received_at: '2026-01-01T13:00:00.000Z' } as JournalEntry,
];

describe('taskHistory', () => {
  it('lists finished journal entries newest first, with status, exit, duration, start and error code', () => {
    const page = taskHistory(ENTRIES, [], {});
    expect(page.tasks.map((t) => t.taskId)).toEqual(['t-3', 't-2', 't-1']);
    expect(page.total).toBe(3);
    expect(page.tasks[0]).toMatchObject({
      phase: 'error',
      exitCode: 1,
      duration: 1.25,
      startedAt: '2026-01-01T12:00:00.000Z',
      errorCode: 'AGENT_RESTARTED',
      error: 'spawn failed',
    });
  });

  it("the state's view of a task wins over the journal's", () => {
    const page = taskHistory(ENTRIES, [live('t-1', 'running', '2026-01-02T00:00:00.000Z')], {});
    expect(page.tasks[0]).toMatchObject({ taskId: 't-1', phase: 'running' });
    expect(page.total).toBe(3);
  });

  it('filters by status and searches id or command in any case', () => {
    expect(taskHistory(ENTRIES, [], { status: 'failed' }).tasks.map((t) => t.taskId)).toEqual(['t-2']);
    expect(taskHistory(ENTRIES, [], { search: 'NPM' }).tasks.map((t) => t.taskId)).toEqual(['t-1']);
    expect(taskHistory(ENTRIES, [], { search: 't-3' }).tasks.map((t) => t.taskId)).toEqual(['t-3']);
    expect(taskHistory(ENTRIES, [], { status: 'success', search: 'pytest' })).toEqual({ tasks: [], total: 0 });
  });

  it('is bounded: limit, and never more than MAX_HISTORY_PAGE', () => {
    const many = Array.from({ length: MAX_HISTORY_PAGE + 50 }, (_, i) =>
      finished(`m-${i}`, 'success', new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()),
    );
    expect(taskHistory(many, [], { limit: 5 }).tasks.map((t) => t.taskId)).toEqual(
      Array.from({ length: 5 }, (_, i) => `m-${MAX_HISTORY_PAGE + 49 - i}`),
    );
    const all = taskHistory(many, [], { limit: 10_000 });
    expect(all.tasks).toHaveLength(MAX_HISTORY_PAGE);
    expect(all.total).toBe(MAX_HISTORY_PAGE + 50);
  });
});

describe('TaskJournal.list', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every readable entry without blocking and skips torn or foreign files', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ats-journal-list-'));
    const journal = new TaskJournal(dir);
    for (const e of ENTRIES) await journal.write(e);
    writeFileSync(path.join(dir, 'tasks', 'torn.json'), '{"task_id":');
    writeFileSync(path.join(dir, 'tasks', 'foreign.json'), JSON.stringify({ task_id: '../x' }));
    writeFileSync(path.join(dir, 'tasks', 'note.txt'), 'not an entry');
    const ids = (await journal.list()).map((e) => e.task_id).sort();
    expect(ids).toEqual(['t-1', 't-2', 't-3', 't-4']);
  });
});
