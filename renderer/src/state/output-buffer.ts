/**
 * A task's output as lines, built incrementally: each chunk is split once as it arrives. A chunk
 * holds whole lines joined by "\n"; one marked `partial` leaves its stream's last line open, and the
 * next chunk of the same stream continues it. Search scans only what changed since the last scan.
 * Bounded like core's copy (TASK_OUTPUT_CHARS_KEPT): the oldest lines go, and the view says that
 * they are only in the task's log file.
 */
import type { LogStream, OutputChunk, TaskOutputCharsKept } from '../../../main/core/api.js';

/** what core keeps of a task's output: typed by the contract, so the two cannot drift apart */
export const TASK_OUTPUT_CHARS_KEPT: TaskOutputCharsKept = 262_144;

export interface OutputLine {
  stream: LogStream;
  /** raw text, ANSI escapes included, without the newline */
  text: string;
  /** bumped when an open line grows */
  rev: number;
  /** cached: the text as shown (after the last carriage return), without ANSI escapes, lower-cased */
  lower?: string;
  lowerRev?: number;
}

// CSI sequences, OSC sequences (BEL or ST terminated) and two-byte escapes
// eslint-disable-next-line no-control-regex -- ANSI escapes are control characters (ESC, BEL): finding them is the point
const ANSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** What a terminal would show of a line: text after the last carriage return (progress bars). */
export function visibleText(raw: string): string {
  let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const cr = text.lastIndexOf('\r');
  if (cr >= 0) text = text.slice(cr + 1);
  return text;
}

export function plainText(raw: string): string {
  const v = visibleText(raw);
  return v.includes('\x1b') ? v.replace(ANSI_RE, '') : v;
}

export function lowerOf(line: OutputLine): string {
  if (line.lower === undefined || line.lowerRev !== line.rev) {
    line.lower = plainText(line.text).toLowerCase();
    line.lowerRev = line.rev;
  }
  return line.lower;
}

export class OutputBuffer {
  readonly lines: OutputLine[] = [];
  lastSeq = 0;
  /** bumped on every change */
  version = 0;
  /** older output is only in the task's log file: core had let it go, or this buffer did */
  olderInLogFile = false;
  /** lines dropped from the front so far (line indices from before a drop are stale) */
  dropped = 0;
  /** characters held, open lines included */
  private chars = 0;
  /** the smallest line index changed since the last `takeDirty()` */
  private dirtyFrom = Number.POSITIVE_INFINITY;
  private readonly open: Partial<Record<LogStream, number>> = {};

  constructor(private readonly maxChars: number = TASK_OUTPUT_CHARS_KEPT) {}

  /** Adds a chunk; chunks at or below the last seen `seq` are ignored (replays). */
  append(chunk: OutputChunk): boolean {
    if (chunk.seq <= this.lastSeq) return false;
    // the first chunk there is is not the task's first: core no longer had the ones before
    if (this.lastSeq === 0 && chunk.seq > 1) this.olderInLogFile = true;
    this.lastSeq = chunk.seq;
    if (chunk.text.length === 0) return false;
    const parts = chunk.text.split('\n');
    const openIndex = this.open[chunk.stream];
    let first = 0;
    if (openIndex !== undefined) {
      const line = this.lines[openIndex]!;
      line.text += parts[0];
      this.chars += parts[0]!.length;
      line.rev++;
      this.markDirty(openIndex);
      first = 1;
      delete this.open[chunk.stream];
    }
    const last = parts.length;
    if (first < last) this.markDirty(this.lines.length);
    for (let i = first; i < last; i++) {
      const p = parts[i]!;
      const text = p.endsWith('\r') ? p.slice(0, -1) : p;
      this.chars += text.length;
      this.lines.push({ stream: chunk.stream, text, rev: 0 });
    }
    if (chunk.partial) {
      if (first < last) this.open[chunk.stream] = this.lines.length - 1;
      else if (openIndex !== undefined) this.open[chunk.stream] = openIndex;
    }
    if (this.chars > this.maxChars) this.trim();
    this.version++;
    return true;
  }

  /** Down to 7/8 of the bound, so that a flood trims once per 32 K characters, not per chunk. */
  private trim(): void {
    const target = this.maxChars - Math.floor(this.maxChars / 8);
    let drop = 0;
    while (this.chars > target && drop < this.lines.length - 1) this.chars -= this.lines[drop++]!.text.length;
    this.lines.splice(0, drop);
    for (const stream of Object.keys(this.open) as LogStream[]) {
      const index = this.open[stream]! - drop;
      if (index >= 0) this.open[stream] = index;
      else delete this.open[stream];
    }
    const lastLine = this.lines[this.lines.length - 1];
    if (lastLine && this.chars > this.maxChars) {
      // one line longer than the bound: its end is what a reader needs
      this.chars -= lastLine.text.length - target;
      lastLine.text = lastLine.text.slice(-target);
      lastLine.rev++;
    }
    this.dropped += drop;
    this.olderInLogFile = true;
    this.dirtyFrom = 0;
  }

  private markDirty(index: number): void {
    if (index < this.dirtyFrom) this.dirtyFrom = index;
  }

  /** the first line changed since the last call (Infinity when nothing changed) */
  takeDirty(): number {
    const d = this.dirtyFrom;
    this.dirtyFrom = Number.POSITIVE_INFINITY;
    return d;
  }
}

/** Case-insensitive substring matches over a buffer, as (line, occurrence-in-line) pairs. */
export class OutputSearch {
  query = '';
  lineOf: number[] = [];
  occOf: number[] = [];
  private scannedVersion = -1;
  private scannedLines = 0;
  private scannedDropped = 0;

  constructor(private readonly buffer: OutputBuffer) {}

  get count(): number {
    return this.lineOf.length;
  }

  /** Brings the matches up to date; returns true when they changed. `dirtyFrom` comes from the buffer. */
  update(query: string, dirtyFrom: number): boolean {
    const q = query.toLowerCase();
    let from: number;
    if (q !== this.query || this.buffer.dropped !== this.scannedDropped) {
      this.query = q;
      this.scannedDropped = this.buffer.dropped;
      from = 0;
    } else {
      from = Math.min(dirtyFrom, this.scannedLines);
      if (from >= this.buffer.lines.length && this.scannedVersion === this.buffer.version) return false;
    }
    this.scannedVersion = this.buffer.version;
    // drop matches on lines that are rescanned
    let keep = this.lineOf.length;
    while (keep > 0 && this.lineOf[keep - 1]! >= from) keep--;
    const changed = keep !== this.lineOf.length;
    this.lineOf.length = keep;
    this.occOf.length = keep;
    const lines = this.buffer.lines;
    this.scannedLines = lines.length;
    if (q === '') return changed || from === 0;
    const before = keep;
    for (let i = from; i < lines.length; i++) {
      const text = lowerOf(lines[i]!);
      let at = text.indexOf(q);
      let occ = 0;
      while (at >= 0) {
        this.lineOf.push(i);
        this.occOf.push(occ++);
        at = text.indexOf(q, at + q.length);
      }
    }
    return changed || this.lineOf.length !== before || from === 0;
  }
}
