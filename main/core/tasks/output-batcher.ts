/**
 * Raw child output → ordered task_log batches. A batch holds complete lines joined by "\n" (no
 * trailing newline), so a platform never sees half a line or half a character, and heavy output
 * costs one message per read, not one per line.
 *
 * Only one stream has pending text at any time: output on the other stream first flushes it,
 * which is what keeps stdout and stderr in the order the task wrote them.
 */
import { StringDecoder } from 'node:string_decoder';
import type { LogStream } from '../protocol/frames.js';

export interface OutputBatch {
  stream: LogStream;
  text: string;
  /** the last line has no newline yet: the stream's next batch continues it */
  partial?: true;
}

export type ChildStream = 'stdout' | 'stderr';

/** pending text that is flushed at once rather than on the next turn of the event loop */
export const FLUSH_AT_CHARS = 64 * 1024;
/** how long a line without its newline (a prompt, a progress bar) is held before it is sent as is */
export const PARTIAL_LINE_MS = 100;

export class OutputBatcher {
  private readonly decoders: Record<ChildStream, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };
  private stream: ChildStream = 'stdout';
  /** complete lines, each with its "\n" */
  private lines = '';
  /** text after the last "\n" */
  private partial = '';
  private partialDeadline = 0;
  private flushScheduled: NodeJS.Immediate | null = null;
  private partialTimer: NodeJS.Timeout | null = null;

  constructor(private readonly emit: (batch: OutputBatch) => void) {}

  write(stream: ChildStream, chunk: Buffer): void {
    this.append(stream, this.decoders[stream].write(chunk));
  }

  /** The agent's own message (why a task stops, why it could not start), in order with the output. */
  note(text: string): void {
    this.flush(true);
    this.emit({ stream: 'agent', text });
  }

  /** No more output: everything pending goes out now, a last partial line as a line. */
  end(): void {
    this.append('stdout', this.decoders.stdout.end());
    this.append('stderr', this.decoders.stderr.end());
    this.flush(true);
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.flushScheduled = null;
    this.partialTimer = null;
  }

  private append(stream: ChildStream, text: string): void {
    if (text === '') return;
    if (stream !== this.stream) {
      this.flush(true);
      this.stream = stream;
    }
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline === -1) {
      if (this.partial === '') this.partialDeadline = Date.now() + PARTIAL_LINE_MS;
      this.partial += text;
    } else {
      const rest = text.slice(lastNewline + 1);
      this.lines += this.partial + (rest === '' ? text : text.slice(0, lastNewline + 1));
      this.partial = rest;
      if (rest !== '') this.partialDeadline = Date.now() + PARTIAL_LINE_MS;
    }
    if (this.lines.length + this.partial.length >= FLUSH_AT_CHARS) {
      // one huge line without a newline must not grow without bound either
      this.flush(this.partial.length >= FLUSH_AT_CHARS);
    } else if (this.lines !== '' && !this.flushScheduled) {
      this.flushScheduled = setImmediate(this.flushLines);
    }
    if (this.partial !== '' && !this.partialTimer) {
      this.partialTimer = setTimeout(this.onPartialTimer, PARTIAL_LINE_MS);
    }
  }

  private readonly flushLines = (): void => {
    this.flushScheduled = null;
    this.flush(false);
  };

  /** The timer is armed once and re-armed for the current partial, not reset per chunk. */
  private readonly onPartialTimer = (): void => {
    this.partialTimer = null;
    if (this.partial === '') return;
    const left = this.partialDeadline - Date.now();
    if (left > 0) this.partialTimer = setTimeout(this.onPartialTimer, left);
    else this.flush(true);
  };

  private flush(withPartial: boolean): void {
    if (withPartial && this.partial !== '') {
      const text = this.lines + this.partial;
      this.lines = this.partial = '';
      this.emit({ stream: this.stream, text, partial: true });
    } else if (this.lines !== '') {
      const text = this.lines.slice(0, -1);
      this.lines = '';
      this.emit({ stream: this.stream, text });
    }
  }
}
