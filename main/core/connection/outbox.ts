/**
 * At-least-once delivery of task_log and task_result frames, written ahead to disk (outbox-file.ts)
 * before any socket sees them, so a restart (graceful or kill -9, platform up or down) sends every
 * unconfirmed frame again, in order, with its original `seq`. Memory only caches the file's newest
 * frames; older ones are read back from the file when their turn comes.
 *
 * Writes are synchronous and grouped: a small push is written at once (a task's first line or its
 * result waits for nothing); once 16 KB or more wait, what is pushed in the same turn of the event
 * loop joins one `writev`, and only then becomes sendable (`onWritten`). Copying into the page cache
 * on the main thread costs less than a trip through libuv's pool (measured: 3 000 appends of 64 KB,
 * 45–65 ms of CPU synchronously against 180–190 ms through the pool). The file is only ever
 * appended at its end, in order.
 *
 * Confirmation has two sources, never both: a pong for a ping sent after the frame (the platform's
 * socket read it), or, when `ack` was negotiated, the platform's `ack` naming the task and seq (or
 * its result). A confirmed frame leaves the outbox and is recorded in the file: a result at once,
 * task_log frames once per turn of the event loop for all the acks that came in it (a kill -9 in
 * between only sends those frames again). An ack can only confirm frames that were sent: a hostile
 * or confused ack never drops a frame the platform has not seen.
 *
 * The file is bounded by `diskCap`: past it, confirmed frames are compacted away first; if the
 * unconfirmed frames alone reach the cap, the oldest unsent output of the task with the most of it
 * is replaced by one agent line saying how much was left out (the task's log file has it all).
 * A task_result is never dropped.
 */
import type { OnConfirmed, TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import { OutboxFile } from './outbox-file.js';

export type OutboxFrame = TaskLogFrame | TaskResultFrame;

export interface OutboxOptions {
  /** the write-ahead file; without it the outbox lives in memory only (tests) */
  file?: string;
  /** bytes of frames kept in memory as a cache of the file's tail */
  memoryLimit?: number;
  /** bytes the file may hold; see the class comment for what happens there */
  diskCap?: number;
  /** the file could not be written (disk full): frames stay in memory rather than being lost */
  onWriteError?: (err: Error) => void;
  /** what a restart found, or output summarised at the cap: for the agent log */
  onNotice?: (message: string) => void;
  /** frames that were waiting for the file are on it: they can be sent now */
  onWritten?: () => void;
}

/** A result is keyed with seq RESULT. */
const RESULT = -1;
export const DEFAULT_DISK_CAP = 512 * 1024 * 1024;
const COMPACT_MIN_BYTES = 16 * 1024 * 1024;
/** with less than this waiting a push is written at once; from it on, the turn's pushes are grouped */
const WRITE_AT_ONCE_BELOW = 16 * 1024;
/**
 * compact once the unconfirmed frames are less than 1/8 of the file: online that is nearly always
 * (little is pending), and a catch-up after an outage rewrites about 1/7 of what it sends, not all
 */
const COMPACT_WHEN_LIVE_BELOW = 8;
/** confirmed results remembered (also across a compaction), so a restart knows not to resend them */
const CONFIRMED_RESULTS_KEPT = 1_000;

interface Entry {
  taskId: string;
  /** the task_log seq, or RESULT */
  seq: number;
  /** where the line starts in the file; -1 = not on disk (the write failed) */
  offset: number;
  length: number;
  /** cached bytes of the frame, or null when only the file has them; always kept until written */
  data: Buffer | null;
  /** on the file (or its write failed and only memory has it): it may be sent */
  written: boolean;
  /** written to a socket at least once (only such a frame can be acked) */
  sent: boolean;
  /** the ping epoch current when it was last written to a socket */
  epoch: number;
  confirmed: boolean;
  onConfirmed?: OnConfirmed;
}

interface TaskFrames {
  entries: Entry[];
  head: number;
}

/** A record waiting for its write (the file adds its newline): a frame (its entry) or a confirmation record. */
interface Queued {
  record: Buffer;
  entry?: Entry;
}

export interface AckResult {
  confirmed: number;
  /** why nothing was confirmed, when nothing was */
  ignored?: 'unknown task' | 'nothing sent up to that seq' | 'result not sent';
}

export class Outbox {
  private entries: Entry[] = [];
  /** first entry not confirmed (entries before it are all confirmed) */
  private head = 0;
  /** first entry not yet written to the current socket */
  private cursor = 0;
  private readonly tasks = new Map<string, TaskFrames>();
  private readonly confirmedResults = new Set<string>();
  private unconfirmed = 0;
  private unconfirmedBytes = 0;
  private cachedBytes = 0;
  private readonly file: OutboxFile | null;
  private readonly memoryLimit: number;
  private readonly diskCap: number;
  private readonly onWriteError: (err: Error) => void;
  private readonly onNotice: (message: string) => void;
  private readonly onWritten: () => void;
  /** records for the next write, in order */
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private writeScheduled = false;
  /** task_log frames confirmed in this turn, recorded together by the next write: task → seq */
  private confirmedLogs: Record<string, number> | null = null;
  /**
   * Results confirmed whose onConfirmed (the journal's record) has not settled, with their frames:
   * every truncation or compaction keeps both, so a crash before the journal has the result loses
   * neither the result nor the fact that the platform has it.
   */
  private readonly unsettledResults = new Map<string, Buffer | null>();
  /** frames of results the file says were confirmed, found at start (for recovery) */
  private readonly confirmedBodies = new Map<string, Buffer>();
  private closed = false;

  constructor(opts: OutboxOptions = {}) {
    this.memoryLimit = opts.memoryLimit ?? 16 * 1024 * 1024;
    this.diskCap = opts.diskCap ?? DEFAULT_DISK_CAP;
    this.onWriteError = opts.onWriteError ?? (() => undefined);
    this.onNotice = opts.onNotice ?? (() => undefined);
    this.onWritten = opts.onWritten ?? (() => undefined);
    this.file = opts.file ? new OutboxFile(opts.file) : null;
    if (this.file) this.load(this.file);
  }

  /** Frames not yet confirmed. */
  get size(): number {
    return this.unconfirmed;
  }

  /** Bytes of the frames not yet confirmed: the one measure of how far behind the platform is. */
  get pendingBytes(): number {
    return this.unconfirmedBytes;
  }

  /** Bytes the write-ahead file holds (confirmed frames not compacted away yet included). */
  get fileBytes(): number {
    return this.file?.size ?? 0;
  }

  /** Bytes pushed but not on the file yet: memory that only the file's speed bounds. */
  get unwrittenBytes(): number {
    return this.queuedBytes;
  }

  get hasUnsent(): boolean {
    return this.cursor < this.entries.length;
  }

  /** Something was sent and awaits confirmation (`head` is always the oldest unconfirmed frame). */
  get awaitingConfirmation(): boolean {
    return this.head < this.cursor;
  }

  /** The task's result, when one is waiting here for confirmation. */
  pendingResult(taskId: string): TaskResultFrame | undefined {
    const entry = this.resultEntry(taskId);
    return entry ? (JSON.parse(this.bytesOf(entry).toString('utf8')) as TaskResultFrame) : undefined;
  }

  /** The platform confirmed this task's result (in this run or one the file remembers). */
  resultConfirmed(taskId: string): boolean {
    return this.confirmedResults.has(taskId);
  }

  /** Calls `cb` once the task's pending result is confirmed; false when none is pending. */
  whenResultConfirmed(taskId: string, cb: OnConfirmed): boolean {
    const entry = this.resultEntry(taskId);
    if (!entry) return false;
    const before = entry.onConfirmed;
    entry.onConfirmed = before ? () => Promise.all([before(), cb()]) : cb;
    return true;
  }

  /**
   * A result confirmed before this start (resultConfirmed) whose record elsewhere is being written
   * now: the file keeps its confirmation until `recorded` settles.
   */
  keepConfirmedUntil(taskId: string, recorded: Promise<unknown>): void {
    if (!this.unsettledResults.has(taskId)) this.unsettledResults.set(taskId, this.confirmedBodies.get(taskId) ?? null);
    recorded.finally(() => this.unsettledResults.delete(taskId)).catch(() => undefined);
  }

  /** The frame of a result an earlier run saw confirmed, when the file still holds it. */
  confirmedResult(taskId: string): TaskResultFrame | undefined {
    const body = this.confirmedBody(taskId);
    return body ? (JSON.parse(body.toString('utf8')) as TaskResultFrame) : undefined;
  }

  /** A confirmed result's frame: kept for its journal write, or found on the file at start. */
  private confirmedBody(taskId: string): Buffer | null | undefined {
    return this.unsettledResults.get(taskId) ?? this.confirmedBodies.get(taskId);
  }

  /**
   * On disk before it can be sent (takeUnsent stops at the first frame not written yet). A second
   * result for a task whose result is still pending is not queued twice: the pending one goes out,
   * and `onConfirmed` waits for it.
   */
  push(frame: OutboxFrame, onConfirmed?: OnConfirmed): void {
    const seq = frame.type === 'task_result' ? RESULT : frame.seq;
    if (seq === RESULT && this.resultEntry(frame.task_id)) {
      if (onConfirmed) this.whenResultConfirmed(frame.task_id, onConfirmed);
      return;
    }
    // one pass from string to bytes (measuring the length first is a second one)
    const data = Buffer.from(JSON.stringify(frame), 'utf8');
    const length = data.length;
    if (this.file && this.nextOffset + length + 1 > this.diskCap) this.makeRoom(length + 1);
    const entry: Entry = {
      taskId: frame.task_id,
      seq,
      offset: -1,
      length,
      data,
      written: !this.file,
      sent: false,
      epoch: -1,
      confirmed: false,
      onConfirmed,
    };
    this.cachedBytes += length;
    this.add(entry);
    if (this.file) this.enqueue(data, entry);
  }

  /** Frames waiting for the socket, oldest first; marks them sent under `epoch`. */
  *takeUnsent(epoch: number): Generator<Buffer> {
    while (this.cursor < this.entries.length) {
      const entry = this.entries[this.cursor]!;
      if (!entry.written) return; // the rest follows once the file has it (onWritten)
      this.cursor += 1;
      if (entry.confirmed) continue;
      entry.sent = true;
      entry.epoch = epoch;
      try {
        yield this.bytesOf(entry);
      } finally {
        // sent: the socket has its own copy (masked), and a resend reads the file
        this.uncache(entry);
      }
    }
  }

  /** A pong for `epoch`: every frame sent under an earlier or equal epoch is delivered (no-ack mode). */
  confirm(epoch: number): number {
    const done: Entry[] = [];
    for (let i = this.head; i < this.cursor; i++) {
      const entry = this.entries[i]!;
      if (entry.confirmed) continue;
      if (entry.epoch > epoch) break;
      done.push(entry);
    }
    this.settle(done);
    return done.length;
  }

  /** The platform's `ack`: that task's frames up to `seq`, or its result; only frames that were sent. */
  ack(taskId: string, what: { seq: number } | { result: true }): AckResult {
    const task = this.tasks.get(taskId);
    if (!task) return { confirmed: 0, ignored: 'unknown task' };
    const done: Entry[] = [];
    if ('result' in what) {
      const entry = this.resultEntry(taskId);
      if (entry?.sent) done.push(entry);
    } else {
      for (let i = task.head; i < task.entries.length; i++) {
        const entry = task.entries[i]!;
        if (entry.confirmed || entry.seq === RESULT) continue;
        // a task's frames go out in seq order: the first one not sent ends what an ack can cover
        if (entry.seq > what.seq || !entry.sent) break;
        done.push(entry);
      }
    }
    this.settle(done);
    if (done.length > 0) return { confirmed: done.length };
    return { confirmed: 0, ignored: 'result' in what ? 'result not sent' : 'nothing sent up to that seq' };
  }

  /** The connection ended: whatever was sent but not confirmed goes out again on the next one. */
  requeueUnconfirmed(): void {
    this.cursor = this.head;
  }

  /** What waits for the file is written; then the file is closed. */
  close(): void {
    if (!this.file || this.closed) return;
    this.recordConfirmedLogs();
    this.writeQueuedSync();
    this.closed = true;
    this.file.close();
  }

  /** Where the next line queued will start in the file. */
  private get nextOffset(): number {
    return this.file!.size + this.queuedBytes;
  }

  private enqueue(record: Buffer, entry?: Entry): void {
    if (this.closed) {
      // after the close (shutdown): a frame lives in memory only, like one whose write failed
      if (entry) entry.written = true;
      return;
    }
    this.queueRecord(record, entry);
    if (this.queuedBytes < WRITE_AT_ONCE_BELOW && !this.writeScheduled) this.writeQueuedSync();
    else this.scheduleWrite();
  }

  /** At the queue's end; the caller sees to the write. */
  private queueRecord(record: Buffer, entry?: Entry): void {
    if (entry) entry.offset = this.nextOffset;
    this.queue.push({ record, entry });
    this.queuedBytes += record.length + 1;
  }

  /** What else is pushed or confirmed in this turn of the event loop joins the same write. */
  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.writeQueued();
    });
  }

  /** The turn's queue in one write, with a record of the turn's confirmations when the file still needs one. */
  private writeQueued(): void {
    if (!this.file || this.closed) return;
    this.maintain(); // a file that starts over or is compacted needs no record of this turn's acks
    this.recordConfirmedLogs();
    this.writeQueuedSync();
    this.onWritten();
  }

  private writeQueuedSync(): void {
    if (this.queue.length === 0) return;
    const batch = this.takeQueue();
    let err: Error | null = null;
    try {
      this.file!.appendAll(batch.items.map((q) => q.record));
    } catch (e) {
      err = e as Error;
    }
    this.written(batch.items, batch.start, err);
  }

  private takeQueue(): { items: Queued[]; bytes: number; start: number } {
    const batch = { items: this.queue, bytes: this.queuedBytes, start: this.file!.size };
    this.queue = [];
    this.queuedBytes = 0;
    return batch;
  }

  /**
   * A write ended. Failed (disk full): the file is cut back to where the write began, its frames
   * stay in memory only, and what was queued since moves up to fill the gap.
   */
  private written(items: Queued[], start: number, err: Error | null): void {
    if (err) {
      this.onWriteError(err);
      try {
        this.file!.truncate(start);
      } catch {
        // the file keeps a torn tail, which the next start cuts
      }
      let offset = this.file!.size;
      for (const q of this.queue) {
        if (q.entry) q.entry.offset = offset;
        offset += q.record.length + 1;
      }
    }
    for (const { entry } of items) {
      if (!entry) continue;
      entry.written = true;
      if (entry.confirmed) entry.data = null; // summarised away while it waited
      if (err) entry.offset = -1;
      else if (entry.data && this.cachedBytes > this.memoryLimit) this.uncache(entry);
    }
  }

  private add(entry: Entry): void {
    this.entries.push(entry);
    this.unconfirmed += 1;
    this.unconfirmedBytes += entry.length;
    let task = this.tasks.get(entry.taskId);
    if (!task) this.tasks.set(entry.taskId, (task = { entries: [], head: 0 }));
    task.entries.push(entry);
  }

  private drop(entry: Entry): void {
    entry.confirmed = true;
    this.unconfirmed -= 1;
    this.unconfirmedBytes -= entry.length;
    if (entry.data) this.cachedBytes -= entry.data.length;
    // a frame still waiting for its write keeps its bytes: the write needs them
    if (entry.written) entry.data = null;
  }

  private cache(entry: Entry, data: Buffer): void {
    entry.data = data;
    this.cachedBytes += data.length;
  }

  /** Only the file has it now (an entry whose write failed is never uncached: memory is all it has). */
  private uncache(entry: Entry): void {
    if (!this.file || entry.offset < 0 || !entry.data) return;
    this.cachedBytes -= entry.data.length;
    entry.data = null;
  }

  private bytesOf(entry: Entry): Buffer {
    return entry.data ?? this.file!.read(entry.offset, entry.length);
  }

  private resultEntry(taskId: string): Entry | undefined {
    const task = this.tasks.get(taskId);
    if (!task) return undefined;
    for (let i = task.entries.length - 1; i >= task.head; i--) {
      const entry = task.entries[i]!;
      if (entry.seq === RESULT && !entry.confirmed) return entry;
    }
    return undefined;
  }

  private settle(done: Entry[]): void {
    if (done.length === 0) return;
    const logs: Record<string, number> = {};
    const results: string[] = [];
    for (const entry of done) {
      // the frame, while it can still be read: kept on file until the journal has it
      // (with nobody to wait for, the record alone)
      if (entry.seq === RESULT) this.unsettledResults.set(entry.taskId, entry.onConfirmed ? this.bodyOf(entry) : null);
      this.drop(entry);
      if (entry.seq === RESULT) {
        results.push(entry.taskId);
        this.rememberConfirmedResult(entry.taskId);
      } else logs[entry.taskId] = Math.max(logs[entry.taskId] ?? 0, entry.seq);
    }
    this.trim();
    if (this.file && !this.closed) {
      if (this.onlyQueuedPending()) this.truncateFile();
      else if (results.length > 0) {
        // a result's confirmation is on the file before its journal entry can say delivered
        this.recordConfirmedLogs(logs);
        this.enqueue(confirmationRecord({}, results));
        this.maintain();
      } else {
        this.confirmedLogs = mergeLogs(this.confirmedLogs, logs);
        this.scheduleWrite();
      }
    }
    for (const entry of done) {
      const settled = entry.onConfirmed?.();
      if (entry.seq !== RESULT) continue;
      if (settled instanceof Promise) this.keepConfirmedUntil(entry.taskId, settled);
      else this.unsettledResults.delete(entry.taskId);
    }
  }

  /** The task_log confirmations gathered so far (and `more`) as one record at the queue's end. */
  private recordConfirmedLogs(more?: Record<string, number>): void {
    const logs = more ? mergeLogs(this.confirmedLogs, more) : this.confirmedLogs;
    this.confirmedLogs = null;
    if (logs && Object.keys(logs).length > 0) this.queueRecord(confirmationRecord(logs, []));
  }

  /** Start the file over when nothing is pending, compact it when little of it is, make room past its cap. */
  private maintain(): void {
    const file = this.file!;
    if (this.onlyQueuedPending()) {
      if (file.size > 0 || this.queue.some((q) => !q.entry)) this.truncateFile();
    } else if (this.nextOffset > this.diskCap) this.makeRoom(0);
    else if (file.size > COMPACT_MIN_BYTES && this.unconfirmedBytes * COMPACT_WHEN_LIVE_BELOW < file.size)
      this.compact();
  }

  /** A result's frame before it is dropped (null when neither memory nor the file has it). */
  private bodyOf(entry: Entry): Buffer | null {
    return entry.data || entry.offset >= 0 ? this.bytesOf(entry) : null;
  }

  /**
   * What a file that starts over must hold of the confirmed results: their frames, then one record
   * saying they were confirmed (the unsettled ones, and `more` ids).
   */
  private unsettledRecords(more: string[] = []): Buffer[] {
    const ids = new Set([...this.unsettledResults.keys(), ...more]);
    if (ids.size === 0) return [];
    const records: Buffer[] = [];
    for (const id of ids) {
      const body = this.confirmedBody(id);
      if (body) records.push(body);
    }
    records.push(confirmationRecord({}, [...ids]));
    return records;
  }

  /** Drops confirmed entries from the front of the lists. */
  private trim(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.confirmed) this.head += 1;
    if (this.cursor < this.head) this.cursor = this.head; // summarised frames that were never sent
    for (const [id, task] of this.tasks) {
      while (task.head < task.entries.length && task.entries[task.head]!.confirmed) task.head += 1;
      if (task.head === task.entries.length) this.tasks.delete(id);
      else if (task.head > 64 && task.head * 2 > task.entries.length) {
        task.entries = task.entries.slice(task.head);
        task.head = 0;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.head = 0;
    }
  }

  private rememberConfirmedResult(taskId: string): void {
    this.confirmedResults.delete(taskId);
    this.confirmedResults.add(taskId);
    if (this.confirmedResults.size > CONFIRMED_RESULTS_KEPT)
      this.confirmedResults.delete(this.confirmedResults.values().next().value!);
  }

  /**
   * Nothing is pending (only confirmation records can be queued): the file starts over, keeping
   * only the confirmed results whose journal entries may not have them yet, frames and record.
   */
  private truncateFile(): void {
    const kept = this.unsettledRecords();
    this.confirmedLogs = null; // the frames they confirm leave the file with it
    const keep = this.queue.filter((q) => q.entry && !q.entry.confirmed);
    this.written(
      this.queue.filter((q) => q.entry?.confirmed),
      0,
      null,
    ); // summarised away while they waited: no write needed
    this.queue = [];
    this.queuedBytes = 0;
    try {
      this.file!.truncate();
      if (kept.length) this.file!.appendAll(kept);
    } catch (err) {
      this.onWriteError(err as Error);
    }
    // frames still waiting for their write move to the new end; the write that follows takes them
    for (const q of keep) this.queueRecord(q.record, q.entry);
  }

  /**
   * Every unconfirmed frame is still waiting for its write (none is only on the file): the file can
   * start over, and the waiting frames go into the new one.
   */
  private onlyQueuedPending(): boolean {
    if (this.unconfirmed > this.queue.length) return false;
    let waiting = 0;
    for (const q of this.queue) if (q.entry && !q.entry.confirmed) waiting += 1;
    return waiting === this.unconfirmed;
  }

  /**
   * Rewrites the file with only what is unconfirmed, the frames still queued included (they are
   * written by the rewrite), and the record of the confirmed results whose journal entries may not say
   * "delivered" yet (at start, every result the file knows confirmed).
   */
  private compact(results: string[] = []): void {
    const live = this.entries.slice(this.head).filter((e) => !e.confirmed);
    const kept = this.unsettledRecords(results);
    const records = [...kept, ...live.map((e) => this.bytesOf(e))];
    const queued = this.queue;
    try {
      const offsets = this.file!.rewrite(records);
      live.forEach((e, i) => (e.offset = offsets[i + kept.length]!));
      this.queue = [];
      this.queuedBytes = 0;
      this.confirmedLogs = null; // the frames they confirm are not in the new file
      this.written(queued, 0, null);
    } catch (err) {
      this.onWriteError(err as Error);
    }
  }

  /**
   * The file would pass its cap: compact; if the unconfirmed frames alone still do not leave room,
   * summarise the oldest unsent output of the task with the most of it.
   */
  private makeRoom(needed: number): void {
    this.compact();
    const target = this.diskCap - needed - Math.floor(this.diskCap / 4);
    while (this.nextOffset + needed > this.diskCap) {
      if (!this.summariseChattiest(this.nextOffset - target)) break;
      this.compact();
    }
  }

  private summariseChattiest(bytesToFree: number): boolean {
    const unsentBytes = new Map<string, number>();
    for (let i = this.cursor; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.confirmed && e.seq !== RESULT) unsentBytes.set(e.taskId, (unsentBytes.get(e.taskId) ?? 0) + e.length);
    }
    let chattiest: string | undefined;
    for (const [id, bytes] of unsentBytes) if (!chattiest || bytes > unsentBytes.get(chattiest)!) chattiest = id;
    if (!chattiest) return false;
    const dropped: Entry[] = [];
    let freed = 0;
    let lines = 0;
    for (let i = this.cursor; i < this.entries.length && freed < bytesToFree; i++) {
      const e = this.entries[i]!;
      if (e.confirmed || e.taskId !== chattiest || e.seq === RESULT) continue;
      dropped.push(e);
      freed += e.length;
      lines += countLines(this.bytesOf(e));
    }
    // the last dropped frame becomes the summary, in the same place and with the same seq
    const last = dropped.pop();
    if (!last) return false;
    const original = JSON.parse(this.bytesOf(last).toString('utf8')) as TaskLogFrame;
    const message =
      `[ats-agent] ${lines} lines (${(freed / 1048576).toFixed(1)} MB) of this task's output were left out here: ` +
      `the outbox reached its cap of ${Math.round(this.diskCap / 1048576)} MB while the platform was out of reach; ` +
      `the task's log file on the agent has all of it`;
    const summary: TaskLogFrame = {
      type: 'task_log',
      task_id: chattiest,
      level: 'error',
      message,
      timestamp: original.timestamp,
      stream: 'agent',
      seq: last.seq,
    };
    for (const e of dropped) this.drop(e); // nobody will confirm it: it is gone
    const data = Buffer.from(JSON.stringify(summary));
    this.unconfirmedBytes += data.length - last.length;
    if (last.data) this.cachedBytes -= last.data.length;
    last.length = data.length;
    last.data = null;
    this.cache(last, data);
    this.trim();
    this.onNotice(`task ${chattiest}: ${message}`);
    return true;
  }

  /** A restart: the frames the file holds that no confirmation record covers, in file order. */
  private load(file: OutboxFile): void {
    const { lines, tornBytes, unreadable } = file.scan();
    if (tornBytes > 0) this.onNotice(`outbox: cut a torn last record of ${tornBytes} bytes (an earlier crash)`);
    if (unreadable > 0) this.onNotice(`outbox: skipped ${unreadable} unreadable record(s)`);
    for (const line of lines) {
      const value = line.value as {
        type?: unknown;
        task_id?: unknown;
        seq?: unknown;
        logs?: unknown;
        results?: unknown;
      };
      if (value?.type === '_confirmed') {
        const done: Entry[] = [];
        if (value.logs && typeof value.logs === 'object') {
          for (const [id, seq] of Object.entries(value.logs as Record<string, unknown>)) {
            const task = this.tasks.get(id);
            if (!task || typeof seq !== 'number') continue;
            for (let i = task.head; i < task.entries.length; i++) {
              const e = task.entries[i]!;
              if (!e.confirmed && e.seq !== RESULT && e.seq <= seq) done.push(e);
            }
          }
        }
        if (Array.isArray(value.results)) {
          for (const id of value.results) {
            if (typeof id !== 'string') continue;
            this.rememberConfirmedResult(id);
            const entry = this.resultEntry(id);
            if (!entry) continue;
            done.push(entry);
            this.confirmedBodies.set(id, file.read(entry.offset, entry.length));
            if (this.confirmedBodies.size > CONFIRMED_RESULTS_KEPT)
              this.confirmedBodies.delete(this.confirmedBodies.keys().next().value!);
          }
        }
        for (const e of done) this.drop(e);
        this.trim();
        continue;
      }
      if ((value?.type !== 'task_log' && value?.type !== 'task_result') || typeof value.task_id !== 'string') continue;
      const seq = value.type === 'task_result' ? RESULT : typeof value.seq === 'number' ? value.seq : 0;
      if (seq === RESULT && this.resultEntry(value.task_id)) continue;
      this.add({
        taskId: value.task_id,
        seq,
        offset: line.offset,
        length: line.length,
        data: null,
        written: true,
        sent: false,
        epoch: -1,
        confirmed: false,
      });
    }
    this.cursor = this.head;
    const pending = this.size;
    if (pending > 0)
      this.onNotice(`outbox: ${pending} unconfirmed frame(s) from an earlier run will be sent again, in order`);
    if (file.size > COMPACT_MIN_BYTES && this.unconfirmedBytes * COMPACT_WHEN_LIVE_BELOW < file.size) {
      this.compact([...this.confirmedResults]);
    }
  }
}

function mergeLogs(into: Record<string, number> | null, more: Record<string, number>): Record<string, number> {
  const out = into ?? {};
  for (const [id, seq] of Object.entries(more)) out[id] = Math.max(out[id] ?? 0, seq);
  return out;
}

function confirmationRecord(logs: Record<string, number>, results: string[]): Buffer {
  return Buffer.from(JSON.stringify({ type: '_confirmed', logs, results }));
}

function countLines(data: Buffer): number {
  let lines = 1;
  for (let i = data.indexOf(NEWLINE_ESCAPED); i !== -1; i = data.indexOf(NEWLINE_ESCAPED, i + 2)) lines += 1;
  return lines;
}

/** a newline inside a JSON string is the two bytes \n */
const NEWLINE_ESCAPED = Buffer.from('\\n');
