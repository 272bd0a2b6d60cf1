/**
 * The task's whole output on disk. Writes are asynchronous; `behind` tells the runner to stop
 * reading the pipes until the disk catches up. A log that cannot be written is reported once and
 * never stops the task.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';

/**
 * how far reading may run ahead of the log's writes. With the stream's default (16 KiB) every 64 KiB
 * read waited for its write to come back from libuv's pool before the next read: 200 MB through the
 * agent took 1.80–2.05 s, with 1 MiB 1.50–1.59 s (bench log-relay; 4 MiB gained nothing more)
 */
export const LOG_AHEAD_BYTES = 1024 * 1024;

export class TaskLogFile {
  private stream: WriteStream | null = null;
  behind = false;

  constructor(
    file: string,
    private readonly report: (message: string) => void,
    private readonly onFlowChange: () => void,
  ) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      this.stream = createWriteStream(file, { flags: 'a', highWaterMark: LOG_AHEAD_BYTES });
    } catch (err) {
      this.fail(file, err as Error);
      return;
    }
    this.stream.on('error', (err) => this.fail(file, err));
    this.stream.on('drain', () => this.setBehind(false));
  }

  write(chunk: Buffer): void {
    if (this.stream && !this.stream.write(chunk)) this.setBehind(true);
  }

  async close(): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    stream.end();
    await finished(stream).catch(() => {});
  }

  private fail(file: string, err: Error): void {
    this.stream = null;
    this.report(`cannot write the task log ${file}: ${err.message}`);
    this.setBehind(false);
  }

  private setBehind(behind: boolean): void {
    if (behind === this.behind) return;
    this.behind = behind;
    this.onFlowChange();
  }
}
