/**
 * The task journal: one small JSON file per task under `{work_dir}/state/tasks/`, replaced
 * atomically (temp file, rename) at each step of the task's life. After a crash or kill -9 it
 * tells the next start which tasks were running (their processes are ended and they are reported
 * AGENT_RESTARTED), which results the platform never confirmed (sent again), and which task_ids
 * were ever seen (a redelivered task is answered from here, never run twice).
 *
 * Durability where it buys something: a kill -9 of the agent keeps the page cache, so every step
 * survives it without fsync. Only an OS crash or power loss needs one, and then only the result
 * matters: a task queued or running at that moment died with the machine, and a lost "delivered"
 * mark sends the result once more (the platform keeps one result per task_id). So only the entry
 * that first holds the result is fsynced. And a step superseded before its write began is not
 * written at all: the next one holds everything it held (a short task's queued, running and
 * finished steps often come in one write).
 *
 * The agent is the journal's only writer, so the ids with an entry on disk are listed once, at
 * start, and kept up to date by its own writes and removals: a new task_id (every task's first
 * question, "seen before?") is known new without a look at the disk.
 */
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
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

/** a file's name is its id exactly (Linux); elsewhere the file system may ignore case */
const CASE_SENSITIVE = process.platform === 'linux';

/** files read at once by list(): a bound on open descriptors */
const LIST_BATCH = 64;

/** A write not begun yet: a later step of the same task replaces its entry. */
interface QueuedWrite {
  entry: JournalEntry;
  /** fsync before the rename: the entry holds a result not known delivered */
  sync: boolean;
  done: Promise<void>;
}

interface TaskWrites {
  /** the last write issued: the next one begins after it */
  tail: Promise<void>;
  queued?: QueuedWrite;
}

export class TaskJournal {
  private readonly dir: string;
  /** one write at a time per task, in order */
  private readonly writes = new Map<string, TaskWrites>();
  /** the ids whose entry is on disk */
  private readonly onDisk = new Set<string>();

  constructor(
    stateDir: string,
    /** a write that failed: crash safety for that task is gone, which a person must hear about */
    private readonly onError: (taskId: string, err: Error) => void = () => undefined,
  ) {
    this.dir = path.join(stateDir, 'tasks');
    mkdirSync(this.dir, { recursive: true });
    for (const name of readdirSync(this.dir)) if (name.endsWith('.json')) this.onDisk.add(name.slice(0, -5));
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
    const file = this.fileOf(taskId);
    // every new task_id is looked up here: no entry is the usual answer, known without the disk where
    // a file's name is its id; where case may be ignored another spelling's file may answer
    if (!this.onDisk.has(taskId) && (CASE_SENSITIVE || !existsSync(file))) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as JournalEntry;
    } catch {
      return undefined;
    }
  }

  /**
   * Resolves once the entry, or a later one of the same task that replaced it, is written (and, for
   * a result not known delivered, fsynced); later writes for the same task land after earlier ones.
   */
  write(entry: JournalEntry): Promise<void> {
    const id = entry.task_id;
    // an id that failed validation never names a file (its result still goes out, unjournaled)
    if (!TASK_ID_PATTERN.test(id)) return Promise.resolve();
    const sync = entry.phase === 'finished' && entry.result !== undefined && !entry.delivered;
    const writes = this.writes.get(id) ?? { tail: Promise.resolve() };
    if (writes.queued) {
      // every step spreads the one before it: the newer entry holds all the older one did
      writes.queued.entry = entry;
      writes.queued.sync ||= sync;
      return writes.queued.done;
    }
    const queued: QueuedWrite = { entry, sync, done: Promise.resolve() };
    queued.done = writes.tail
      .then(() => {
        if (writes.queued === queued) writes.queued = undefined;
        return this.writeFile(queued.entry, queued.sync);
      })
      .catch((err: Error) => this.onError(id, err))
      .finally(() => {
        if (writes.tail === queued.done) this.writes.delete(id);
      });
    writes.queued = queued;
    writes.tail = queued.done;
    this.writes.set(id, writes);
    return queued.done;
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
    for (const entry of old) this.remove(entry.task_id);
    return entries.filter((e) => !old.has(e));
  }

  /** Forgets tasks whose results the platform has confirmed (their folders went to the cleanup policy). */
  async forgetDelivered(taskIds: Iterable<string>): Promise<void> {
    for (const id of taskIds) {
      await this.writes.get(id)?.tail;
      const entry = this.read(id);
      if (entry?.phase === 'finished' && entry.delivered) {
        // first: a write that lands meanwhile puts it back, and a read finds no file, as after the rm
        this.onDisk.delete(id);
        await rm(this.fileOf(id), { force: true });
      }
    }
  }

  /** Resolves once every write issued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()].map((w) => w.tail));
  }

  /**
   * Temp file, then rename, with fs's callbacks: every task writes its entry three or four times, and
   * a FileHandle's promises cost the main thread about half as much again per write.
   */
  private writeFile(entry: JournalEntry, sync: boolean): Promise<void> {
    const file = this.fileOf(entry.task_id);
    const tmp = `${file}.tmp`;
    const data = Buffer.from(JSON.stringify(entry));
    return new Promise((resolve, reject) => {
      fs.open(tmp, 'w', (openErr, fd) => {
        if (openErr) return reject(openErr);
        const closeThen = (err: Error | null) =>
          fs.close(fd, (closeErr) => {
            const failed = err ?? closeErr;
            if (failed) return reject(failed);
            fs.rename(tmp, file, (renameErr) => {
              if (renameErr) return reject(renameErr);
              this.onDisk.add(entry.task_id);
              resolve();
            });
          });
        const writeFrom = (at: number) =>
          fs.write(fd, data, at, data.length - at, at, (writeErr, written) => {
            if (writeErr) return closeThen(writeErr);
            if (at + written < data.length) return writeFrom(at + written);
            if (!sync) return closeThen(null);
            fs.fsync(fd, closeThen);
          });
        writeFrom(0);
      });
    });
  }

  private remove(taskId: string): void {
    rmSync(this.fileOf(taskId), { force: true });
    this.onDisk.delete(taskId);
  }

  private fileOf(taskId: string): string {
    return path.join(this.dir, `${taskId}.json`);
  }
}
