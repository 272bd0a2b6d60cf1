/**
 * The scheduler's parts on their own, with fakes (no process is started): the task table, admission,
 * reporting (journal before outbox, seq, unknown journal fields kept) and recovery (journal and
 * outbox agree: one result per task across restarts).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../logging/logger.js';
import { ErrorCode } from '../protocol/codes.js';
import type { OnConfirmed, TaskFrame, TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import { onlineAgentState } from '../state/test-state.js';
import { workLayout } from '../workspace/layout.js';
import { TaskAdmission } from './admission.js';
import { TaskJournal, type JournalEntry } from './journal.js';
import { recoverTasks, type DeliveryLedger } from './recovery.js';
import { TaskReporting, unrun } from './reporting.js';
import { SEEN_KEPT, TaskTable } from './task-table.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'ats-pipeline-'));
const task = (id: string, command = 'echo hi'): TaskFrame => ({ type: 'task', task_id: id, command });
const resultOf = (id: string): TaskResultFrame => ({
  type: 'task_result',
  task_id: id,
  status: 'success',
  exit_code: 0,
  output: 'hi\n',
  error: '',
  duration: 0.1,
  timestamp: '2026-01-01T00:00:00.000Z',
});
const entry = (id: string, more: Partial<JournalEntry> = {}): JournalEntry => ({
  task_id: id,
  phase: 'queued',
  command: 'echo hi',
  received_at: '2026-01-01T00:00:00.000Z',
  ...more,
});

/** An outbox as recovery sees it: pending results with their callbacks, confirmed ones. */
function ledger(pending: TaskResultFrame[] = [], confirmed: string[] = []) {
  const callbacks = new Map<string, OnConfirmed>();
  /** results confirmed in an earlier run whose journal write recovery waits for */
  const kept = new Map<string, Promise<unknown>>();
  const fake: DeliveryLedger = {
    pendingResult: (id) => pending.find((r) => r.task_id === id),
    resultConfirmed: (id) => confirmed.includes(id),
    confirmedResult: () => undefined,
    whenResultConfirmed: (id, cb) => {
      if (!pending.some((r) => r.task_id === id)) return false;
      callbacks.set(id, cb);
      return true;
    },
    keepConfirmedUntil: (id, recorded) => kept.set(id, recorded),
  };
  return { fake, callbacks, kept };
}

function pipeline(opts: { pending?: TaskResultFrame[]; confirmed?: string[] } = {}) {
  const dir = tmp();
  const journal = new TaskJournal(path.join(dir, 'state'));
  const table = new TaskTable(journal);
  const sent: Array<TaskLogFrame | TaskResultFrame> = [];
  const reporting = new TaskReporting({
    table,
    journal,
    deliver: (frame, onConfirmed) => {
      sent.push(frame);
      onConfirmed?.();
    },
    state: onlineAgentState(),
    log: quiet,
    onTaskFinished: () => {},
  });
  const { fake, callbacks, kept } = ledger(opts.pending, opts.confirmed);
  const recover = (entries: JournalEntry[]) =>
    recoverTasks(entries, {
      table,
      journal,
      reporting,
      delivery: fake,
      deliver: (frame, onConfirmed) => {
        sent.push(frame);
        onConfirmed?.();
      },
      killGraceS: 0.1,
      log: quiet,
    });
  return { dir, journal, table, reporting, sent, recover, callbacks, kept };
}

describe('TaskTable', () => {
  it('remembers seen ids up to its bound, and older ones through the journal', async () => {
    const dir = tmp();
    const journal = new TaskJournal(dir);
    await journal.write(entry('old'));
    const table = new TaskTable(journal);
    table.markSeen('old');
    table.markSeen('memory-only');
    for (let i = 0; i < SEEN_KEPT; i++) table.markSeen(`t${i}`);
    expect(table.seen('old')).toBe(true); // out of memory, in the journal
    expect(table.seen('memory-only')).toBe(false); // past the bound and never journaled
    expect(table.seen(`t${SEEN_KEPT - 1}`)).toBe(true);
    expect(table.seen('../../etc/passwd')).toBe(false);
  });

  it('counts seq per task from 1 and forgets a task once it is finished', () => {
    const table = new TaskTable({ read: () => undefined });
    expect([table.nextSeq('a'), table.nextSeq('a'), table.nextSeq('b')]).toEqual([1, 2, 1]);
    table.add({ frame: task('a'), workDir: '/w/a', phase: 'queued' });
    expect(table.activeIds()).toEqual(new Set(['a']));
    table.finish('a');
    expect(table.activeIds().size).toBe(0);
    expect(table.nextSeq('a')).toBe(1);
  });
});

describe('TaskAdmission', () => {
  const admission = () => {
    const table = new TaskTable({ read: () => undefined });
    return new TaskAdmission({ table, layout: () => workLayout(path.join(tmp(), 'work')) });
  };

  it('never admits a task id twice', () => {
    const a = admission();
    expect(a.admit(task('a'))).toMatchObject({ kind: 'queued' });
    expect(a.admit(task('a'))).toEqual({ kind: 'duplicate', result: undefined });
    expect(a.admitInvalid('a')).toBe(false);
    expect(a.admitInvalid('b')).toBe(true);
    expect(a.admitInvalid('b')).toBe(false);
  });

  it('refuses a work dir outside the work root, and anything once closed', () => {
    const a = admission();
    expect(a.admit({ ...task('out'), work_dir: '/etc' })).toMatchObject({ kind: 'refused' });
    a.close();
    expect(a.admit(task('late'))).toMatchObject({ kind: 'refused', code: ErrorCode.AGENT_SHUTDOWN });
  });

  it('the ready queue: higher priority first, FIFO among equals; a queued task can be taken out', () => {
    const a = admission();
    const layout = workLayout('/w');
    a.enqueue(task('low-1'), '/w', layout);
    a.enqueue({ ...task('high'), priority: 5 }, '/w', layout);
    a.enqueue({ ...task('low-2'), priority: 0 }, '/w', layout);
    a.enqueue(task('low-3'), '/w', layout);
    expect(a.remove('low-2')?.frame.task_id).toBe('low-2');
    expect([a.next(), a.next(), a.next(), a.next()].map((r) => r?.frame.task_id)).toEqual([
      'high',
      'low-1',
      'low-3',
      undefined,
    ]);
  });
});

describe('TaskReporting', () => {
  it('numbers output by task and ends it with one result, journaled', async () => {
    const p = pipeline();
    p.reporting.received(task('a'), new Date());
    p.reporting.output('a', { stream: 'stdout', text: 'one' });
    p.reporting.output('a', { stream: 'stderr', text: 'two' });
    p.reporting.finish(task('a'), unrun('error', ErrorCode.TASK_EXECUTION_FAILED, 'x'));
    expect(p.sent.map((f) => (f.type === 'task_log' ? f.seq : 'result'))).toEqual([1, 2, 'result']);
    await p.journal.flush();
    expect(p.journal.read('a')).toMatchObject({ phase: 'finished', result: { status: 'error' }, delivered: true });
  });

  it("keeps journal fields it does not know (another part's) through every rewrite", async () => {
    const p = pipeline();
    p.table.setEntry({ ...entry('a'), created_work_dir: true } as JournalEntry);
    p.reporting.spawned('a', 123, 456);
    p.reporting.finish(task('a'), unrun('cancelled', ErrorCode.TASK_CANCELLED, 'stop'));
    await p.journal.flush();
    expect(JSON.parse(readFileSync(path.join(p.dir, 'state', 'tasks', 'a.json'), 'utf8'))).toMatchObject({
      created_work_dir: true,
      phase: 'finished',
      delivered: true,
    });
  });
});

describe('recovery: one result per task across restarts', () => {
  it('a result the outbox still holds is not queued again; its confirmation marks the journal', async () => {
    const p = pipeline({ pending: [resultOf('a')] });
    await p.recover([entry('a', { phase: 'finished', result: resultOf('a'), delivered: false })]);
    expect(p.sent).toEqual([]);
    p.callbacks.get('a')!();
    await p.journal.flush();
    expect(p.journal.read('a')).toMatchObject({ delivered: true });
  });

  it('a crash between the journal write and the send: the result goes out once, from the journal', async () => {
    const p = pipeline();
    await p.recover([entry('a', { phase: 'finished', result: resultOf('a'), delivered: false })]);
    expect(p.sent.map((f) => f.type)).toEqual(['task_result']);
  });

  it('a result the outbox says was confirmed is not sent again', async () => {
    const p = pipeline({ confirmed: ['a'] });
    await p.recover([entry('a', { phase: 'finished', result: resultOf('a'), delivered: false })]);
    // until the journal's "delivered" lands, the outbox file keeps saying the result was confirmed
    expect(p.kept.has('a')).toBe(true);
    await p.journal.flush();
    expect(p.sent).toEqual([]);
    expect(p.journal.read('a')).toMatchObject({ delivered: true });
  });

  it('a journal that says running while the outbox has the result: that result, not AGENT_RESTARTED', async () => {
    const p = pipeline({ pending: [resultOf('a')] });
    await p.recover([entry('a', { phase: 'running', created_work_dir: false } as Partial<JournalEntry>)]);
    await p.journal.flush();
    expect(p.sent).toEqual([]);
    expect(p.journal.read('a')).toMatchObject({
      phase: 'finished',
      result: { status: 'success' },
      created_work_dir: false,
    });
  });

  it('a task that was running with nothing in the outbox is reported AGENT_RESTARTED once', async () => {
    const p = pipeline();
    // recovery ends whatever carries ATS_TASK_ID=<id> on this machine: an id nothing else uses
    const id = `restarted-${process.pid}-${Date.now()}`;
    await p.recover([entry(id, { phase: 'running' })]);
    const results = p.sent.filter((f) => f.type === 'task_result');
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: 'error', error_code: 'AGENT_RESTARTED' });
    expect(p.table.seen(id)).toBe(true);
  });
});

describe('TaskJournal', () => {
  it('keeps unknown fields, skips a torn entry, never reads outside its directory', async () => {
    const dir = tmp();
    const journal = new TaskJournal(dir);
    await journal.write({ ...entry('a'), extra: { nested: 1 } } as JournalEntry);
    writeFileSync(path.join(dir, 'tasks', 'torn.json'), '{"task_id":"torn","pha');
    writeFileSync(path.join(dir, 'tasks', 'b.json.tmp'), 'half');
    const { entries, skipped } = journal.load();
    expect(entries).toEqual([{ ...entry('a'), extra: { nested: 1 } }]);
    expect(skipped).toEqual(['torn.json']);
    expect(journal.read('../tasks/a')).toBeUndefined();
  });
});
