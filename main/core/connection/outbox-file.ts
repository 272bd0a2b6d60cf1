/**
 * The outbox's write-ahead file: one JSON line per record, appended strictly in order (one write
 * at a time, each at the end of the one before), so a kill -9 leaves at most the last write torn,
 * and its torn last line is cut off at the next open. There is no fsync per record (a process
 * crash keeps what the page cache has); a write arms a timer that asks for one a second later. Two
 * kinds of line: a frame exactly as it goes on the wire, and a confirmation record
 * (`{"type":"_confirmed",…}`) naming the frames the platform has confirmed since.
 */
import {
  closeSync,
  fdatasync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writevSync,
} from 'node:fs';
import path from 'node:path';

const NEWLINE = 0x0a;
const SYNC_EVERY_MS = 1_000;

export interface ScannedLine {
  offset: number;
  /** the line's bytes without its newline */
  length: number;
  value: unknown;
}

export interface ScanReport {
  lines: ScannedLine[];
  /** bytes of a torn last line that were cut */
  tornBytes: number;
  /** complete lines that were not JSON (skipped) */
  unreadable: number;
}

export class OutboxFile {
  private fd: number;
  private end: number;
  /** the fdatasync asked for after a write: armed by the first write since the last one, so an idle agent has no timer */
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.fd = openSync(file, 'a+');
    this.end = statSync(file).size;
  }

  get size(): number {
    return this.end;
  }

  /** Every complete line; a torn tail is cut from the file before anything is appended. */
  scan(): ScanReport {
    const lines: ScannedLine[] = [];
    let unreadable = 0;
    let carry = Buffer.alloc(0);
    let carryOffset = 0;
    const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let pos = 0; pos < this.end;) {
      const got = readSync(this.fd, chunk, 0, Math.min(chunk.length, this.end - pos), pos);
      if (got <= 0) break;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      let start = 0;
      for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        const line = data.subarray(start, nl);
        try {
          lines.push({ offset: carryOffset + start, length: line.length, value: JSON.parse(line.toString('utf8')) });
        } catch {
          unreadable += 1;
        }
        start = nl + 1;
      }
      carryOffset += start;
      carry = Buffer.from(data.subarray(start)); // a copy: `chunk` is reused
      pos += got;
    }
    const tornBytes = carry.length;
    if (tornBytes > 0) {
      ftruncateSync(this.fd, carryOffset);
      this.end = carryOffset;
    }
    return { lines, tornBytes, unreadable };
  }

  /** `records` (JSON, without their newlines) at the end of the file, a line each, in one write. */
  appendAll(records: Buffer[]): void {
    this.end += writeLines(this.fd, records, this.end);
    this.syncSoon();
  }

  read(offset: number, length: number): Buffer {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const got = readSync(this.fd, buffer, done, length - done, offset + done);
      if (got <= 0) throw new Error(`the outbox file ended at ${offset + done}, ${length - done} bytes short`);
      done += got;
    }
    return buffer;
  }

  /** Cuts the file to `length` bytes (everything, by default). */
  truncate(length = 0): void {
    ftruncateSync(this.fd, length);
    this.end = length;
  }

  /**
   * Replaces the file with `records` (a line each), atomically: a crash leaves the old file or the
   * new one. Returns each record's offset in the new file.
   */
  rewrite(records: Buffer[]): number[] {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    const offsets: number[] = [];
    let end = 0;
    for (const record of records) {
      offsets.push(end);
      end += record.length + 1;
    }
    try {
      writeLines(fd, records, 0);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a+');
    this.end = end;
    this.syncSoon();
    return offsets;
  }

  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    closeSync(this.fd);
  }

  private syncSoon(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      fdatasync(this.fd, () => undefined); // best effort: a power cut may still take the last second
    }, SYNC_EVERY_MS);
    this.syncTimer.unref();
  }
}

const NEWLINE_BYTE = Buffer.from([NEWLINE]);

/**
 * `records` at `position`, each followed by a newline, in one writev (more only when the kernel takes
 * part of it): no record is copied to add its newline. Returns the bytes written.
 */
function writeLines(fd: number, records: Buffer[], position: number): number {
  const iov: Buffer[] = new Array(records.length * 2);
  for (let i = 0; i < records.length; i++) {
    iov[2 * i] = records[i]!;
    iov[2 * i + 1] = NEWLINE_BYTE;
  }
  const total = byteLength(iov);
  let done = writevSync(fd, iov, position);
  while (done < total) done += writevSync(fd, rest(iov, done), position + done);
  return total;
}

function byteLength(lines: Buffer[]): number {
  let total = 0;
  for (const line of lines) total += line.length;
  return total;
}

/** What is left of `lines` after its first `written` bytes. */
function rest(lines: Buffer[], written: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = written;
  for (const line of lines) {
    if (skip >= line.length) skip -= line.length;
    else {
      out.push(skip > 0 ? line.subarray(skip) : line);
      skip = 0;
    }
  }
  return out;
}
