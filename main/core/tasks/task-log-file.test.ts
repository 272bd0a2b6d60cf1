import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_AHEAD_BYTES, TaskLogFile } from './task-log-file.js';

const CHUNK = 64 * 1024; // what one read of a pipe gives

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function chunk(i: number): Buffer {
  return Buffer.alloc(CHUNK, String.fromCharCode(97 + (i % 26)));
}

describe('TaskLogFile', () => {
  it('lets reading run up to LOG_AHEAD_BYTES ahead of the disk, then holds it until the writes are done', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'task-log-'));
    const file = path.join(dir, 'logs', 't.log');
    const changes: boolean[] = [];
    let log: TaskLogFile;
    const caughtUp = new Promise<void>((resolve) => {
      log = new TaskLogFile(
        file,
        () => undefined,
        () => {
          changes.push(log.behind);
          if (!log.behind) resolve();
        },
      );
    });
    const ahead = LOG_AHEAD_BYTES / CHUNK;
    // written in one turn: nothing has come back from the disk yet
    for (let i = 0; i < ahead - 1; i++) log!.write(chunk(i));
    expect(log!.behind).toBe(false); // many reads in flight, not one at a time
    log!.write(chunk(ahead - 1));
    log!.write(chunk(ahead));
    expect(log!.behind).toBe(true);
    await caughtUp;
    expect(changes).toEqual([true, false]);
    await log!.close();
    const expected = Buffer.concat(Array.from({ length: ahead + 1 }, (_, i) => chunk(i)));
    expect(readFileSync(file).equals(expected)).toBe(true);
  });

  it('a log that cannot be written is reported once and never holds the reading', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'task-log-'));
    writeFileSync(path.join(dir, 'logs'), 'a file where the directory should be');
    const reports: string[] = [];
    const log = new TaskLogFile(
      path.join(dir, 'logs', 't.log'),
      (message) => reports.push(message),
      () => undefined,
    );
    for (let i = 0; i < 40; i++) log.write(chunk(i));
    expect(log.behind).toBe(false);
    await log.close();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/cannot write the task log .*t\.log: .*(EEXIST|ENOTDIR)/);
  });
});
