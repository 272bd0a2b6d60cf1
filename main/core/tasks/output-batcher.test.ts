import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FLUSH_AT_CHARS, OutputBatcher, PARTIAL_LINE_MS, type OutputBatch } from './output-batcher.js';

function collect(): { batches: OutputBatch[]; batcher: OutputBatcher } {
  const batches: OutputBatch[] = [];
  return { batches, batcher: new OutputBatcher((batch) => batches.push(batch)) };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('OutputBatcher', () => {
  it('sends the complete lines of one turn as one message, without the trailing newline', async () => {
    const { batches, batcher } = collect();
    batcher.write('stdout', Buffer.from('one\ntwo\n'));
    batcher.write('stdout', Buffer.from('three\n\n'));
    expect(batches).toEqual([]);
    await nextTurn();
    expect(batches).toEqual([{ stream: 'stdout', text: 'one\ntwo\nthree\n' }]);
  });

  it('keeps the order of stdout and stderr: a switch flushes the other stream first, partial line included', async () => {
    const { batches, batcher } = collect();
    batcher.write('stdout', Buffer.from('out 1\nprompt: '));
    batcher.write('stderr', Buffer.from('err 1\n'));
    batcher.write('stdout', Buffer.from('out 2\n'));
    batcher.end();
    expect(batches).toEqual([
      { stream: 'stdout', text: 'out 1\nprompt: ', partial: true },
      { stream: 'stderr', text: 'err 1' },
      { stream: 'stdout', text: 'out 2' },
    ]);
  });

  it('holds a line without its newline for about PARTIAL_LINE_MS, then sends it as a line', async () => {
    const { batches, batcher } = collect();
    batcher.write('stdout', Buffer.from('done\nprogress 10%'));
    await nextTurn();
    expect(batches).toEqual([{ stream: 'stdout', text: 'done' }]);
    await sleep(PARTIAL_LINE_MS / 2);
    expect(batches).toHaveLength(1);
    await sleep(PARTIAL_LINE_MS);
    expect(batches).toEqual([
      { stream: 'stdout', text: 'done' },
      { stream: 'stdout', text: 'progress 10%', partial: true },
    ]);
    batcher.end();
  });

  it('holds a growing partial line at most PARTIAL_LINE_MS from its first part, not from its latest', async () => {
    const { batches, batcher } = collect();
    const began = Date.now();
    while (batches.length === 0 && Date.now() - began < 1_000) {
      batcher.write('stdout', Buffer.from('.'));
      await sleep(PARTIAL_LINE_MS / 4);
    }
    expect(Date.now() - began).toBeLessThan(PARTIAL_LINE_MS * 2);
    expect(batches[0]!.text).toMatch(/^\.{3,}$/);
    batcher.end();
  });

  it('does not cut a line whose end arrives in time, even when the first part waited a while', async () => {
    const { batches, batcher } = collect();
    batcher.write('stdout', Buffer.from('a '));
    await sleep(PARTIAL_LINE_MS * 0.6);
    batcher.write('stdout', Buffer.from('b\nc '));
    await sleep(PARTIAL_LINE_MS * 0.6);
    batcher.write('stdout', Buffer.from('d\n'));
    await nextTurn();
    batcher.end();
    expect(batches.map((b) => b.text)).toEqual(['a b', 'c d']);
  });

  it('never splits a multibyte character across chunks', async () => {
    const { batches, batcher } = collect();
    const text = Buffer.from('€ 😀\n');
    for (let i = 0; i < text.length; i++) batcher.write('stdout', text.subarray(i, i + 1));
    await nextTurn();
    batcher.end();
    expect(batches).toEqual([{ stream: 'stdout', text: '€ 😀' }]);
  });

  it('flushes at once when pending text reaches FLUSH_AT_CHARS, a huge line without newline too', () => {
    const { batches, batcher } = collect();
    const line = 'x'.repeat(99) + '\n';
    for (let sent = 0; sent < FLUSH_AT_CHARS; sent += line.length) batcher.write('stdout', Buffer.from(line));
    expect(batches).toHaveLength(1);
    batcher.write('stderr', Buffer.from('y'.repeat(FLUSH_AT_CHARS)));
    expect(batches).toHaveLength(2);
    expect(batches[1]).toEqual({ stream: 'stderr', text: 'y'.repeat(FLUSH_AT_CHARS), partial: true });
    batcher.end();
  });

  it('end() sends the pending partial line and an incomplete character as U+FFFD', () => {
    const { batches, batcher } = collect();
    batcher.write('stderr', Buffer.from([0x61, 0xe2, 0x82]));
    batcher.end();
    expect(batches).toEqual([{ stream: 'stderr', text: 'a\ufffd', partial: true }]);
  });

  it('an agent note comes after the output written before it', () => {
    const { batches, batcher } = collect();
    batcher.write('stdout', Buffer.from('working\n'));
    batcher.note('timed out');
    batcher.end();
    expect(batches).toEqual([
      { stream: 'stdout', text: 'working' },
      { stream: 'agent', text: 'timed out' },
    ]);
  });

  it('a million lines (~7 MB) in pipe-sized chunks: complete, in order, few messages, well under a second', async () => {
    let all = '';
    for (let i = 0; i < 1_000_000; i++) all += `l${i}\n`;
    const bytes = Buffer.from(all);
    const { batches, batcher } = collect();
    const began = performance.now();
    for (let at = 0; at < bytes.length; at += 65_536) {
      batcher.write('stdout', bytes.subarray(at, at + 65_536));
      if (at % (65_536 * 4) === 0) await nextTurn();
    }
    batcher.end();
    const took = performance.now() - began;
    expect(batches.map((b) => b.text).join('\n') + '\n').toBe(all);
    expect(batches.length).toBeLessThan(200);
    expect(took).toBeLessThan(1_000);
  });
});
