/**
 * Where the outbox puts frames while the platform is out of reach for long: an append-only file of
 * JSON lines under the work dir, read back oldest first. Memory stays bounded however long the
 * outage and however much the tasks print; what is on disk also survives an agent restart.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

const NEWLINE = 0x0a;
const NEWLINE_BYTE = Buffer.from([NEWLINE]);

export interface SpilledFrame {
  data: Buffer;
  onConfirmed?: () => void;
}

export class SpillFile {
  private readonly fd: number;
  private readOffset = 0;
  private writeOffset: number;
  private written = 0;
  private read = 0;
  /** callbacks cannot go to disk: they wait here, by frame ordinal */
  private readonly callbacks = new Map<number, () => void>();

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    const leftover = existsSync(file) ? statSync(file).size : 0;
    this.fd = openSync(file, 'a+');
    this.writeOffset = leftover;
    if (leftover > 0) this.written = this.countLines(leftover);
  }

  /** Frames on disk not taken yet (left by an earlier run included). */
  get frames(): number {
    return this.written - this.read;
  }

  get bytes(): number {
    return this.writeOffset - this.readOffset;
  }

  append(data: Buffer, onConfirmed?: () => void): void {
    writeSync(this.fd, data, 0, data.length, this.writeOffset);
    writeSync(this.fd, NEWLINE_BYTE, 0, 1, this.writeOffset + data.length);
    this.writeOffset += data.length + 1;
    if (onConfirmed) this.callbacks.set(this.written, onConfirmed);
    this.written += 1;
  }

  /** The oldest frames, about `maxBytes` of them (at least one), removed from the file. */
  take(maxBytes: number): SpilledFrame[] {
    const frames: SpilledFrame[] = [];
    let size = Math.max(1, maxBytes);
    while (this.bytes > 0 && frames.length === 0) {
      const buffer = Buffer.allocUnsafe(Math.min(size, this.bytes));
      const got = readSync(this.fd, buffer, 0, buffer.length, this.readOffset);
      const end = buffer.lastIndexOf(NEWLINE, got - 1);
      if (end < 0) {
        size *= 2; // one frame longer than the window: read more
        continue;
      }
      let start = 0;
      while (start <= end) {
        const nl = buffer.indexOf(NEWLINE, start);
        frames.push({ data: buffer.subarray(start, nl), onConfirmed: this.callbacks.get(this.read) });
        this.callbacks.delete(this.read);
        this.read += 1;
        start = nl + 1;
      }
      this.readOffset += end + 1;
    }
    if (this.bytes === 0) {
      ftruncateSync(this.fd, 0);
      this.readOffset = this.writeOffset = 0;
    }
    return frames;
  }

  close(): void {
    closeSync(this.fd);
  }

  private countLines(size: number): number {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    let lines = 0;
    for (let offset = 0; offset < size;) {
      const got = readSync(this.fd, buffer, 0, buffer.length, offset);
      if (got <= 0) break;
      for (let i = buffer.indexOf(NEWLINE); i !== -1 && i < got; i = buffer.indexOf(NEWLINE, i + 1)) lines += 1;
      offset += got;
    }
    return lines;
  }
}
