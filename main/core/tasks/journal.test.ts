import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskJournal, type JournalEntry } from './journal.js';

let stateDir: string;
beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-journal-'));
});
afterEach(() => {
  fs.rmSync(stateDir, { recursive: true, force: true });
});

function entry(task_id: string, more: Partial<JournalEntry> = {}): JournalEntry {
  return { task_id, phase: 'queued', command: 'true', received_at: new Date().toISOString(), ...more };
}

describe('TaskJournal: which ids it has', () => {
  it('knows the entries on disk at start, and those it writes, across instances', async () => {
    const first = new TaskJournal(stateDir);
    await first.write(entry('t-1', { phase: 'running', pid: 42 }));
    expect(first.read('t-1')).toMatchObject({ phase: 'running', pid: 42 });
    expect(first.read('t-2')).toBeUndefined();
    const next = new TaskJournal(stateDir);
    expect(next.read('t-1')).toMatchObject({ phase: 'running', pid: 42 });
    expect(next.read('t-2')).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')(
    'answers a new id from memory: a file put there behind its back after start is not looked for',
    () => {
      const journal = new TaskJournal(stateDir);
      fs.writeFileSync(path.join(stateDir, 'tasks', 'foreign.json'), JSON.stringify(entry('foreign')));
      expect(journal.read('foreign')).toBeUndefined();
      expect(new TaskJournal(stateDir).read('foreign')).toMatchObject({ task_id: 'foreign' });
    },
  );

  it('forgets what it prunes and what it forgets as delivered, and learns an id again when it is written', async () => {
    const journal = new TaskJournal(stateDir);
    const received = { a: '2026-01-01T00:00:00Z', b: '2026-01-02T00:00:00Z', c: '2026-01-03T00:00:00Z' };
    const done = (id: 'a' | 'b' | 'c') => entry(id, { phase: 'finished', delivered: true, received_at: received[id] });
    for (const id of ['a', 'b', 'c'] as const) await journal.write(done(id));
    const kept = journal.prune(journal.load().entries, 1);
    expect(kept.map((e) => e.task_id)).toEqual(['c']);
    expect(['a', 'b', 'c'].map((id) => journal.read(id)?.task_id)).toEqual([undefined, undefined, 'c']);
    await journal.forgetDelivered(['c']);
    expect(journal.read('c')).toBeUndefined();
    expect(fs.readdirSync(path.join(stateDir, 'tasks'))).toEqual([]);
    await journal.write(done('c'));
    expect(journal.read('c')).toMatchObject({ task_id: 'c', delivered: true });
  });

  it('a write that fails goes to onError, never rejects, and the id stays unknown', async () => {
    const errors: string[] = [];
    const journal = new TaskJournal(stateDir, (id, err) =>
      errors.push(`${id}: ${(err as NodeJS.ErrnoException).code}`),
    );
    fs.rmSync(path.join(stateDir, 'tasks'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'tasks'), 'not a directory');
    await journal.write(entry('t-1'));
    expect(errors).toEqual(['t-1: ENOTDIR']);
    expect(journal.read('t-1')).toBeUndefined();
  });

  it('the entry with a result not yet delivered is written in full, the earlier steps it replaced with it', async () => {
    const journal = new TaskJournal(stateDir);
    const output = 'x'.repeat(300_000);
    const result = { type: 'task_result', task_id: 't-1', status: 'success', output } as const;
    const steps = [
      journal.write(entry('t-1')),
      journal.write(entry('t-1', { phase: 'running', pid: 7 })),
      journal.write(entry('t-1', { phase: 'finished', pid: 7, result: result as never })),
    ];
    await Promise.all(steps);
    expect(new TaskJournal(stateDir).read('t-1')).toMatchObject({ phase: 'finished', pid: 7, result: { output } });
    expect(fs.readdirSync(path.join(stateDir, 'tasks'))).toEqual(['t-1.json']);
  });
});
