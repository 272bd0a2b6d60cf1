/**
 * Reads a task's whole log file (`logs/tasks/<id>.log`) for a UI: pages of lines by number, a search
 * over the whole file, the tail for a task whose output the state no longer holds. Never the whole
 * file in memory: a sparse line index (one byte offset per INDEX_STEP lines) is built once per file
 * and extended as the file grows, and every read is bounded in lines, bytes per line and matches.
 *
 * The file holds the task's stdout and stderr as they came (interleaved, masked, without stream
 * marks), so lines are plain text here; a UI draws their ANSI colours.
 */
import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import type { TaskLogPage, TaskLogSearch } from '../api.js';
import { TASK_ID_PATTERN } from '../protocol/frames.js';

/** lines between two entries of the sparse index */
export const INDEX_STEP = 1024;
export const MAX_PAGE_LINES = 2000;
/** a longer line is sent cut (its number is in `cut`): a UI row shows a screen of text, not megabytes */
export const MAX_LINE_CHARS = 8192;
export const MAX_SEARCH_MATCHES = 1000;
export const MAX_QUERY_CHARS = 256;
/** the text sent with each match */
const MATCH_CONTEXT_CHARS = 512;
const CHUNK_BYTES = 1 << 20;
const INDEXES_KEPT = 16;
const NL = 0x0a;
// eslint-disable-next-line no-control-regex -- ANSI escapes are control characters: finding them is the point
const ANSI_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
/** a symlink where a task's log should be is not its log: never followed (Windows has no such flag) */
export const READ_NO_FOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

interface LineIndex {
  /** offsets[k] = byte offset of line k * INDEX_STEP */
  offsets: number[];
  /** bytes scanned so far, and complete lines in them */
  scanned: number;
  newlines: number;
  endsWithNewline: boolean;
  /** the file this index describes: a smaller size, or another inode, means it was replaced */
  ino: number;
}

export class TaskLogNotFoundError extends Error {
  constructor(taskId: string) {
    super(`task ${taskId} has no log file (never run here, or removed by the cleanup policy)`);
    this.name = 'TaskLogNotFoundError';
  }
}

/** The one check that turns a task id into a file name: a task id never names a path outside. */
export function checkTaskId(taskId: string): void {
  if (typeof taskId !== 'string' || !TASK_ID_PATTERN.test(taskId))
    throw new Error('not a task id (letters, digits, ".", "_", "-"; 128 at most; no path)');
}

export class TaskLogReader {
  private readonly indexes = new Map<string, LineIndex>();

  /** `fileOf` returns where the task's log is (or would be); its argument is always a checked id. */
  constructor(private readonly fileOf: (taskId: string) => string) {}

  /** Lines [from, from + count) of the file as it is now; lines past its end are simply not there. */
  async page(taskId: string, from: number, count: number): Promise<TaskLogPage> {
    const file = this.file(taskId);
    return this.withFile(taskId, file, async (handle, index, size) => {
      const total = totalLines(index, size);
      const first = Math.max(0, Math.min(Math.floor(from), total));
      const wanted = Math.max(0, Math.min(Math.floor(count), MAX_PAGE_LINES, total - first));
      const lines: string[] = [];
      const cut: number[] = [];
      if (wanted > 0) {
        const k = Math.floor(first / INDEX_STEP);
        let lineNo = k * INDEX_STEP;
        await eachLine(handle, index.offsets[k]!, size, (bytes, whole) => {
          if (lineNo >= first) {
            const text = bytes.toString('utf8');
            lines.push(text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) : text);
            if (!whole || text.length > MAX_LINE_CHARS) cut.push(lineNo);
          }
          lineNo++;
          return lines.length < wanted;
        });
      }
      return { taskId, from: first, lines, cut, totalLines: total, bytes: size };
    });
  }

  /**
   * Case-insensitive plain-text search (ANSI colours left out) over the whole file from line `fromLine`: the first
   * MAX_SEARCH_MATCHES matching lines; `nextLine` says where to go on when the bound stopped it.
   */
  async search(taskId: string, query: string, fromLine = 0): Promise<TaskLogSearch> {
    const file = this.file(taskId);
    const needle = query.toLowerCase();
    if (needle.length === 0) throw new Error('the search text is empty');
    if (needle.length > MAX_QUERY_CHARS) throw new Error(`the search text is longer than ${MAX_QUERY_CHARS}`);
    return this.withFile(taskId, file, async (handle, index, size) => {
      const total = totalLines(index, size);
      const first = Math.max(0, Math.min(Math.floor(fromLine), total));
      const matches: TaskLogSearch['matches'] = [];
      let nextLine: number | null = null;
      const k = Math.floor(first / INDEX_STEP);
      let lineNo = k * INDEX_STEP;
      await eachLine(handle, index.offsets[k]!, size, (bytes) => {
        if (lineNo >= first) {
          if (matches.length === MAX_SEARCH_MATCHES) {
            nextLine = lineNo;
            return false;
          }
          // a test runner's colours are not part of what a person searches for
          const raw = bytes.toString('utf8');
          const text = raw.includes('\x1b') ? raw.replace(ANSI_ESCAPE, '') : raw;
          const at = text.toLowerCase().indexOf(needle);
          if (at >= 0) matches.push({ line: lineNo, text: excerpt(text, at, needle.length) });
        }
        lineNo++;
        return true;
      });
      return { taskId, query, fromLine: first, matches, nextLine, totalLines: total };
    });
  }

  /** The last `maxChars` characters of the log (cut at a line start), and whether there is more before them. */
  async tail(taskId: string, maxChars: number): Promise<{ text: string; older: boolean } | null> {
    const file = this.file(taskId);
    let handle: FileHandle;
    try {
      handle = await open(file, READ_NO_FOLLOW);
    } catch {
      return null;
    }
    try {
      const { size } = await handle.stat();
      // UTF-8 needs at most 3 bytes per UTF-16 unit
      const start = Math.max(0, size - maxChars * 3);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      let text = buffer.toString('utf8');
      let older = start > 0;
      if (text.length > maxChars) {
        text = text.slice(-maxChars);
        older = true;
      }
      if (older) {
        const nl = text.indexOf('\n');
        if (nl >= 0 && nl < text.length - 1) text = text.slice(nl + 1);
      }
      return { text: text.endsWith('\n') ? text.slice(0, -1) : text, older };
    } finally {
      await handle.close();
    }
  }

  /** The log's path for a host to hand to a download or a file manager, if the file exists. */
  async existing(taskId: string): Promise<string | null> {
    const file = this.file(taskId);
    try {
      return (await lstat(file)).isFile() ? file : null;
    } catch {
      return null;
    }
  }

  private file(taskId: string): string {
    checkTaskId(taskId);
    return this.fileOf(taskId);
  }

  private async withFile<T>(
    taskId: string,
    file: string,
    work: (handle: FileHandle, index: LineIndex, size: number) => Promise<T>,
  ): Promise<T> {
    let handle: FileHandle;
    try {
      handle = await open(file, READ_NO_FOLLOW);
    } catch {
      throw new TaskLogNotFoundError(taskId);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new TaskLogNotFoundError(taskId);
      const index = await this.indexOf(file, handle, info.size, info.ino);
      return await work(handle, index, info.size);
    } finally {
      await handle.close();
    }
  }

  /** The file's index, extended to `size` (the log of a running task grows; it never shrinks). */
  private async indexOf(file: string, handle: FileHandle, size: number, ino: number): Promise<LineIndex> {
    let index = this.indexes.get(file);
    if (!index || index.ino !== ino || index.scanned > size)
      index = { offsets: [0], scanned: 0, newlines: 0, endsWithNewline: false, ino };
    this.indexes.delete(file);
    this.indexes.set(file, index);
    if (this.indexes.size > INDEXES_KEPT) this.indexes.delete(this.indexes.keys().next().value!);
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    while (index.scanned < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, size - index.scanned), index.scanned);
      if (bytesRead === 0) break;
      for (let at = buffer.indexOf(NL); at >= 0 && at < bytesRead; at = buffer.indexOf(NL, at + 1)) {
        index.newlines++;
        if (index.newlines % INDEX_STEP === 0) index.offsets.push(index.scanned + at + 1);
      }
      index.scanned += bytesRead;
      index.endsWithNewline = buffer[bytesRead - 1] === NL;
    }
    return index;
  }
}

/** complete lines, plus the last one if it has no newline yet */
function totalLines(index: LineIndex, size: number): number {
  return index.newlines + (size > 0 && !index.endsWithNewline ? 1 : 0);
}

/**
 * Calls `visit` with each line from byte `start` (without its "\n", a trailing "\r" dropped) until it
 * returns false or the file ends at `size`. A line longer than MAX_LINE_CHARS * 4 bytes is handed
 * over as its first bytes with `whole` false; the rest of it is skipped, never held.
 */
async function eachLine(
  handle: FileHandle,
  start: number,
  size: number,
  visit: (line: Buffer, whole: boolean) => boolean,
): Promise<void> {
  const maxLineBytes = MAX_LINE_CHARS * 4;
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let carry: Buffer[] = [];
  let carried = 0;
  let long = false;
  let position = start;
  const emit = (piece: Buffer): boolean => {
    let line = carried ? Buffer.concat([...carry, piece]) : piece;
    carry = [];
    carried = 0;
    const whole = !long && line.length <= maxLineBytes;
    long = false;
    if (line.length > maxLineBytes) line = line.subarray(0, maxLineBytes);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    return visit(line, whole);
  };
  while (position < size) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, size - position), position);
    if (bytesRead === 0) break;
    position += bytesRead;
    let from = 0;
    for (let at = buffer.indexOf(NL, 0); at >= 0 && at < bytesRead; at = buffer.indexOf(NL, from)) {
      if (!emit(buffer.subarray(from, at))) return;
      from = at + 1;
    }
    if (from < bytesRead && !long) {
      const rest = buffer.subarray(from, bytesRead);
      const room = maxLineBytes + 1 - carried;
      // copied: the buffer is read into again
      carry.push(Buffer.from(rest.subarray(0, Math.max(0, room))));
      carried += Math.min(rest.length, Math.max(0, room));
      if (carried > maxLineBytes) long = true;
    }
  }
  if (carried > 0 || long) emit(Buffer.alloc(0));
}

function excerpt(text: string, at: number, length: number): string {
  if (text.length <= MATCH_CONTEXT_CHARS) return text;
  const start = Math.max(
    0,
    Math.min(at - Math.floor((MATCH_CONTEXT_CHARS - length) / 2), text.length - MATCH_CONTEXT_CHARS),
  );
  return text.slice(start, start + MATCH_CONTEXT_CHARS);
}
