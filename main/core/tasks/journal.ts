/**
 * The task journal: one small JSON file per task under `{work_dir}/state/tasks/`, replaced
 * atomically (temp file, fsync, rename) at each step of the task's life. After a crash or kill -9 it
 * tells the next start which tasks were running (their processes are ended and they are reported
 * AGENT_RESTARTED), which results the platform never confirmed (sent again), and which task_ids
 * were ever seen (a redelivered task is answered from here, never run twice).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TASK_ID_PATTERN, type TaskResultFrame } from '../protocol/frames.js';

export interface JournalEntry {
  task_id: string;
  phase: 'queued' | 'running' | 'finished';
  command: string;
  received_at: string;
  /** the task's process group leader, and its start time so that a reused pid is never killed */
  pid?: number;
  pid_start?: number;
  result?: TaskResultFrame;
  /** the platform confirmed the result (ping/pong after it, or its ack) */
  delivered?: boolean;
}
// Other parts may add fields (issue 11: whether the agent created the work dir). Every rewrite of an
// entry spreads the one before it, so a field this file does not name is kept (journal.test.ts).

/** files read at once by list(): a bound on open descriptors */
const LIST_BATCH = 64;

export class TaskJournal {
  private readonly dir: string;
  /** one write at a time per task, in order */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    stateDir: string,
    /** a write that failed: crash safety for that task is gone, which a person must hear about */
    private readonly onError: (taskId: string, err: Error) => void = () => undefined,
  ) {
    this.dir = path.join(stateDir, 'tasks');
    mkdirSync(this.dir, { recursive: true });
  }

  /** Every readable entry; a torn or foreign file is skipped (and named in `skipped`). */
  load(): { entries: JournalEntry[]; skipped: string[] } {
    const entries: JournalEntry[] = [];
    const skipped: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      try {
        const entry = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as JournalEntry;
        if (typeof entry.task_id === 'string' && TASK_ID_PATTERN.test(entry.task_id)) entries.push(entry);
        else skipped.push(name);
      } catch {
        skipped.push(name);
      }
    }
    entries.sort((a, b) => a.received_at.localeCompare(b.received_at));
    return { entries, skipped };
  }

  /** Every readable entry, read without blocking (the history a UI lists); changes nothing on disk. */
  async list(): Promise<JournalEntry[]> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    const entries: JournalEntry[] = [];
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      const batch = await Promise.all(
        names.slice(i, i + LIST_BATCH).map(async (name) => {
          try {
            const entry = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as JournalEntry;
            return typeof entry.task_id === 'string' && TASK_ID_PATTERN.test(entry.task_id) ? entry : null;
          } catch {
            return null; // torn, foreign, or removed meanwhile
          }
        }),
      );
      for (const entry of batch) if (entry) entries.push(entry);
    }
    return entries;
  }

  /** One task's entry, if the journal has a readable one. */
  read(taskId: string): JournalEntry | undefined {
    if (!TASK_ID_PATTERN.test(taskId)) return undefined; // never a path from an unvalidated id
    try {
      return JSON.parse(readFileSync(this.fileOf(taskId), 'utf8')) as JournalEntry;
    } catch {
      return undefined;
    }
  }

  /** Durable before it resolves; later writes for the same task land after earlier ones. */
  write(entry: JournalEntry): Promise<void> {
    const id = entry.task_id;
    // an id that failed validation never names a file (its result still goes out, unjournaled)
    if (!TASK_ID_PATTERN.test(id)) return Promise.resolve();
    const next: Promise<void> = (this.pending.get(id) ?? Promise.resolve())
      .then(() => this.writeFile(entry))
      .catch((err: Error) => this.onError(id, err))
      .finally(() => {
        if (this.pending.get(id) === next) this.pending.delete(id);
      });
    this.pending.set(id, next);
    return next;
  }

  /** A write nobody waits for: `write` hands its errors to onError and never rejects. */
  record(entry: JournalEntry): void {
    this.write(entry).catch(() => undefined);
  }

  /**
   * Keeps the newest `keep` confirmed results (a redelivery of those is answered from here) and
   * forgets older ones, so that the journal does not grow for ever; returns what is kept.
   */
  prune(entries: JournalEntry[], keep: number): JournalEntry[] {
    const confirmed = entries.filter((e) => e.phase === 'finished' && e.delivered);
    const old = new Set(confirmed.slice(0, Math.max(0, confirmed.length - keep)));
    for (const entry of old) rmSync(this.fileOf(entry.task_id), { force: true });
    return entries.filter((e) => !old.has(e));
  }

  /** Forgets tasks whose results the platform has confirmed (their folders went to the cleanup policy). */
  async forgetDelivered(taskIds: Iterable<string>): Promise<void> {
    for (const id of taskIds) {
      await (this.pending.get(id) ?? Promise.resolve());
      const entry = this.read(id);
      if (entry?.phase === 'finished' && entry.delivered) await rm(this.fileOf(id), { force: true });
    }
  }

  /** Resolves once every write issued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  private async writeFile(entry: JournalEntry): Promise<void> {
    const file = this.fileOf(entry.task_id);
    const handle = await open(`${file}.tmp`, 'w');
    try {
      await handle.writeFile(JSON.stringify(entry));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(`${file}.tmp`, file);
  }

  private fileOf(taskId: string): string {
    return path.join(this.dir, `${taskId}.json`);
  }
}
