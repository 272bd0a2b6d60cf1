/**
 * The whole-log reader: pages by line number across index steps and chunk edges, a file that grows
 * or is replaced, CRLF, lines longer than the per-line bound, the search bound and its resume point,
 * the tail, and task ids that try to name another file.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  INDEX_STEP,
  MAX_LINE_CHARS,
  MAX_PAGE_LINES,
  MAX_SEARCH_MATCHES,
  TaskLogNotFoundError,
  TaskLogReader,
} from './task-log-reader.js';

let dir: string;
let reader: TaskLogReader;
const fileOf = (id: string) => path.join(dir, 'logs', 'tasks', `${id}.log`);
const write = (id: string, text: string) => writeFileSync(fileOf(id), text);
const numbered = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `line ${from + i}`).join('\n') + (n > 0 ? '\n' : '');

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ats-logread-'));
  mkdirSync(path.join(dir, 'logs', 'tasks'), { recursive: true });
  writeFileSync(path.join(dir, 'secret.txt'), 'do not read\n');
  reader = new TaskLogReader(fileOf);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('page', () => {
  it('reads any page by line number, across index steps and 1 MB chunk edges', async () => {
    // ~3.9 MB, 300 000 lines: pages start inside later index steps and cross chunk boundaries
    write('big', numbered(300_000));
    for (const from of [0, INDEX_STEP - 1, INDEX_STEP, 123_457, 299_990]) {
      const page = await reader.page('big', from, 20);
      expect(page.totalLines).toBe(300_000);
      expect(page.from).toBe(from);
      expect(page.lines).toEqual(Array.from({ length: Math.min(20, 300_000 - from) }, (_, i) => `line ${from + i}`));
    }
  });

  it('counts a last line without its newline, drops CR of CRLF, keeps empty lines', async () => {
    write('crlf', 'a\r\n\r\nb\r\nno newline');
    const page = await reader.page('crlf', 0, 10);
    expect(page.lines).toEqual(['a', '', 'b', 'no newline']);
    expect(page.totalLines).toBe(4);
  });

  it('bounds a page: lines past the end are not there, at most MAX_PAGE_LINES', async () => {
    write('t', numbered(5));
    expect((await reader.page('t', 3, 100)).lines).toEqual(['line 3', 'line 4']);
    expect((await reader.page('t', 99, 10)).lines).toEqual([]);
    write('many', numbered(MAX_PAGE_LINES + 10));
    expect((await reader.page('many', 0, 1_000_000)).lines).toHaveLength(MAX_PAGE_LINES);
  });

  it('follows a growing file and starts over when it is replaced', async () => {
    write('grow', numbered(INDEX_STEP + 5));
    expect((await reader.page('grow', 0, 1)).totalLines).toBe(INDEX_STEP + 5);
    appendFileSync(fileOf('grow'), numbered(3 * INDEX_STEP, INDEX_STEP + 5));
    const later = await reader.page('grow', 3 * INDEX_STEP, 2);
    expect(later.totalLines).toBe(4 * INDEX_STEP + 5);
    expect(later.lines).toEqual([`line ${3 * INDEX_STEP}`, `line ${3 * INDEX_STEP + 1}`]);
    rmSync(fileOf('grow'));
    write('grow', 'new\nfile\n');
    expect(await reader.page('grow', 0, 5)).toMatchObject({ lines: ['new', 'file'], totalLines: 2 });
  });

  it('sends a line longer than the bound cut, and names it', async () => {
    const long = 'x'.repeat(3 * 1024 * 1024);
    write('long', `short\n${long}\nafter\n`);
    const page = await reader.page('long', 0, 10);
    expect(page.lines.map((l) => l.length)).toEqual([5, MAX_LINE_CHARS, 5]);
    expect(page.lines[2]).toBe('after');
    expect(page.cut).toEqual([1]);
    // a line of exactly the bound is whole
    write('exact', `${'y'.repeat(MAX_LINE_CHARS)}\n`);
    expect((await reader.page('exact', 0, 1)).cut).toEqual([]);
  });

  it('decodes UTF-8 across chunk edges', async () => {
    // a 3-byte character straddles the first 1 MB boundary
    write('utf8', `${'a'.repeat(1024 * 1024 - 1)}\n界面\n`);
    expect((await reader.page('utf8', 1, 1)).lines).toEqual(['界面']);
  });
});

describe('search', () => {
  it('finds lines case-insensitively across the whole file, with their numbers', async () => {
    write('s', numbered(200_000).replace('line 150000\n', 'line 150000 NEEDLE here\n'));
    const found = await reader.search('s', 'needle', 0);
    expect(found.matches).toEqual([{ line: 150_000, text: 'line 150000 NEEDLE here' }]);
    expect(found.nextLine).toBeNull();
    expect(found.totalLines).toBe(200_000);
  });

  it('stops at MAX_SEARCH_MATCHES and says where to go on', async () => {
    write('m', numbered(5000));
    const first = await reader.search('m', 'line', 0);
    expect(first.matches).toHaveLength(MAX_SEARCH_MATCHES);
    expect(first.nextLine).toBe(MAX_SEARCH_MATCHES);
    const next = await reader.search('m', 'line', first.nextLine!);
    expect(next.matches[0]).toEqual({ line: MAX_SEARCH_MATCHES, text: `line ${MAX_SEARCH_MATCHES}` });
    const last = await reader.search('m', 'line', 4500);
    expect(last.matches).toHaveLength(500);
    expect(last.nextLine).toBeNull();
  });

  it('leaves ANSI colours out of what it matches and sends', async () => {
    write('c', '\x1b[35mmagenta\x1b[0m block\nplain 35m\n');
    expect((await reader.search('c', 'magenta block', 0)).matches).toEqual([{ line: 0, text: 'magenta block' }]);
    expect((await reader.search('c', '35m', 0)).matches).toEqual([{ line: 1, text: 'plain 35m' }]);
  });

  it('sends an excerpt around a match in a long line', async () => {
    write('x', `${'a'.repeat(5000)}MATCH${'b'.repeat(5000)}\n`);
    const [hit] = (await reader.search('x', 'match', 0)).matches;
    expect(hit!.text.length).toBeLessThanOrEqual(512);
    expect(hit!.text).toContain('MATCH');
  });

  it('refuses an empty or oversized query', async () => {
    write('q', 'a\n');
    await expect(reader.search('q', '', 0)).rejects.toThrow(/empty/);
    await expect(reader.search('q', 'x'.repeat(257), 0)).rejects.toThrow(/longer/);
  });
});

describe('tail', () => {
  it('is the whole file when it fits, else its end from a line start, marked older', async () => {
    write('small', 'one\ntwo\n');
    expect(await reader.tail('small', 1000)).toEqual({ text: 'one\ntwo', older: false });
    write('big', numbered(1000));
    const tail = await reader.tail('big', 100);
    expect(tail!.older).toBe(true);
    expect(tail!.text.length).toBeLessThanOrEqual(100);
    expect(tail!.text.split('\n')[0]).toMatch(/^line \d+$/);
    expect(tail!.text.endsWith('line 999')).toBe(true);
    expect(await reader.tail('none', 100)).toBeNull();
  });
});

describe('task ids never name another file', () => {
  const hostile = [
    '../secret',
    '../../etc/passwd',
    '..',
    '.',
    'a/b',
    'a\\b',
    '/etc/passwd',
    '',
    'x'.repeat(129),
    'a\0b',
  ];
  it.each(hostile)('%j is refused before any file is opened', async (id) => {
    await expect(reader.page(id, 0, 1)).rejects.toThrow(/not a task id/);
    await expect(reader.search(id, 'read', 0)).rejects.toThrow(/not a task id/);
    await expect(reader.tail(id, 10)).rejects.toThrow(/not a task id/);
    await expect(reader.existing(id)).rejects.toThrow(/not a task id/);
  });

  it('a missing log is a clear error; a directory is not a log', async () => {
    await expect(reader.page('gone', 0, 1)).rejects.toBeInstanceOf(TaskLogNotFoundError);
    mkdirSync(fileOf('dir'));
    await expect(reader.page('dir', 0, 1)).rejects.toBeInstanceOf(TaskLogNotFoundError);
    expect(await reader.existing('dir')).toBeNull();
    expect(await reader.existing('gone')).toBeNull();
    write('here', 'x\n');
    expect(await reader.existing('here')).toBe(fileOf('here'));
  });

  it('a symlink planted in logs/tasks is not followed out of it', async () => {
    symlinkSync(path.join(dir, 'secret.txt'), fileOf('planted'));
    await expect(reader.page('planted', 0, 1)).rejects.toBeInstanceOf(TaskLogNotFoundError);
    expect(await reader.existing('planted')).toBeNull();
  });
});
