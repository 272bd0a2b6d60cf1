/**
 * At-least-once delivery of task_log and task_result frames. A frame stays here until a WebSocket
 * ping sent after it comes back as a pong (TCP keeps order, so the platform has read the frame), and
 * everything not confirmed when a connection ends is sent again, in order, after the next
 * auth_success. Heartbeats never come here: a stale one is worthless. Past `memoryLimit`, new frames
 * wait in a spill file and come back into memory as the platform confirms what is ahead of them.
 */
import { SpillFile } from './spill-file.js';

export interface OutboxOptions {
  /** where frames go past the memory limit; without it everything stays in memory */
  spillPath?: string;
  /** bytes of frames held in memory before new ones spill */
  memoryLimit?: number;
  /** the spill file could not be written (disk full): frames stay in memory rather than being lost */
  onSpillError?: (err: Error) => void;
}

export interface OutboxEntry {
  /** the frame's UTF-8 JSON: off the JS heap, so frames waiting for a pong do not age into old-space garbage */
  data: Buffer;
  /** called once the platform has the frame */
  onConfirmed?: () => void;
  /** the ping epoch current when the frame was last written to a socket; -1 = not sent yet */
  epoch: number;
}

const RELEASED: OutboxEntry = { data: Buffer.alloc(0), epoch: -1 };

export class Outbox {
  private entries: OutboxEntry[] = [];
  private head = 0;
  private unsent = 0;
  private bytes = 0;
  private readonly spill: SpillFile | null;
  private readonly memoryLimit: number;
  private readonly onSpillError: (err: Error) => void;

  constructor(opts: OutboxOptions = {}) {
    this.spill = opts.spillPath ? new SpillFile(opts.spillPath) : null;
    this.memoryLimit = opts.memoryLimit ?? 16 * 1024 * 1024;
    this.onSpillError = opts.onSpillError ?? (() => undefined);
  }

  /** Frames not yet confirmed (sent or not, in memory or spilled). */
  get size(): number {
    return this.entries.length - this.head + (this.spill?.frames ?? 0);
  }

  /** Bytes of the frames not yet confirmed that are held in memory. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Bytes waiting in the spill file. */
  get spilledBytes(): number {
    return this.spill?.bytes ?? 0;
  }

  push(data: Buffer, onConfirmed?: () => void): void {
    if (this.spill && (this.spill.frames > 0 || this.bytes + data.byteLength > this.memoryLimit)) {
      try {
        this.spill.append(data, onConfirmed);
        return;
      } catch (err) {
        this.onSpillError(err as Error);
      }
    }
    this.keep(data, onConfirmed);
  }

  /** Frames waiting for a socket, oldest first; marks them sent under `epoch`. */
  *takeUnsent(epoch: number): Generator<Buffer> {
    for (;;) {
      for (let i = this.entries.length - this.unsent; i < this.entries.length; i++) {
        const entry = this.entries[i]!;
        entry.epoch = epoch;
        this.unsent -= 1;
        yield entry.data;
      }
      // spilled frames come back only as confirmations make room, so memory stays bounded
      if (!this.spill || this.spill.frames === 0 || this.bytes >= this.memoryLimit) return;
      for (const frame of this.spill.take(this.memoryLimit - this.bytes)) this.keep(frame.data, frame.onConfirmed);
    }
  }

  /** Something is waiting for a socket (in memory or spilled). */
  get hasUnsent(): boolean {
    return this.unsent > 0 || (this.spill?.frames ?? 0) > 0;
  }

  private keep(data: Buffer, onConfirmed?: () => void): void {
    this.entries.push({ data, epoch: -1, onConfirmed });
    this.bytes += data.byteLength;
    this.unsent += 1;
  }

  /** A pong for `epoch` arrived: every frame sent under an earlier or equal epoch is delivered. */
  confirm(epoch: number): number {
    let confirmed = 0;
    const firstUnsent = this.entries.length - this.unsent;
    while (this.head < firstUnsent && this.entries[this.head]!.epoch <= epoch) {
      const entry = this.entries[this.head]!;
      this.bytes -= entry.data.byteLength;
      this.entries[this.head] = RELEASED; // the Buffer goes now, not at the next compaction
      this.head += 1;
      entry.onConfirmed?.();
      confirmed += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return confirmed;
  }

  /** The connection ended: whatever was sent but not confirmed goes out again on the next one. */
  requeueUnconfirmed(): void {
    this.unsent = this.entries.length - this.head;
  }

  close(): void {
    this.spill?.close();
  }

  /** True when something was sent and awaits a pong. */
  get awaitingConfirmation(): boolean {
    return this.entries.length - this.head - this.unsent > 0;
  }
}
