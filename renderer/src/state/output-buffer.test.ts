import { describe, expect, it } from 'vitest';
import { OutputBuffer, OutputSearch, TASK_OUTPUT_CHARS_KEPT } from './output-buffer.js';

const chunk = (seq: number, text: string, stream: 'stdout' | 'stderr' = 'stdout', partial?: true) => ({
  seq,
  stream,
  text,
  at: '',
  ...(partial ? { partial } : {}),
});

describe('OutputBuffer', () => {
  it('takes each chunk as whole lines', () => {
    const b = new OutputBuffer();
    b.append(chunk(1, 'line 1\nline 2'));
    b.append(chunk(2, 'line 3'));
    expect(b.lines.map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3']);
  });

  it('continues a partial line with the same stream only', () => {
    const b = new OutputBuffer();
    b.append(chunk(1, 'done\nprogress 10%', 'stdout', true));
    b.append(chunk(2, 'warning', 'stderr'));
    b.append(chunk(3, ' 50%\nnext'));
    expect(b.lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'done'],
      ['stdout', 'progress 10% 50%'],
      ['stderr', 'warning'],
      ['stdout', 'next'],
    ]);
  });

  it('ignores replayed chunks', () => {
    const b = new OutputBuffer();
    expect(b.append(chunk(1, 'a'))).toBe(true);
    expect(b.append(chunk(1, 'a'))).toBe(false);
    expect(b.lines).toHaveLength(1);
  });
});

describe('OutputBuffer bound (what core keeps: TASK_OUTPUT_CHARS_KEPT)', () => {
  const size = (b: OutputBuffer) => b.lines.reduce((n, l) => n + l.text.length, 0);

  it('never holds more than core keeps, drops the oldest lines and says older ones are in the log file', () => {
    const b = new OutputBuffer();
    expect(b.olderInLogFile).toBe(false);
    const line = 'x'.repeat(99);
    for (let seq = 1; seq <= 10_000; seq++) {
      b.append(chunk(seq, `${seq} ${line}\n${seq}b`));
      expect(size(b)).toBeLessThanOrEqual(TASK_OUTPUT_CHARS_KEPT);
    }
    expect(b.olderInLogFile).toBe(true);
    expect(b.dropped).toBeGreaterThan(0);
    expect(b.lines[b.lines.length - 1]!.text).toBe('10000b');
    expect(size(b)).toBeGreaterThan(TASK_OUTPUT_CHARS_KEPT * 0.8);
  });

  it('an open line goes on growing; a trim drops the oldest lines, open or not; one huge line keeps its end', () => {
    const b = new OutputBuffer(1000);
    b.append(chunk(1, 'progress', 'stderr', true));
    b.append(chunk(2, 'y'.repeat(900)));
    b.append(chunk(3, ' 50%', 'stderr', true));
    expect(b.lines.map((l) => l.text)).toEqual(['progress 50%', 'y'.repeat(900)]);
    b.append(chunk(4, 'z'.repeat(500)));
    expect(b.lines.map((l) => l.text[0])).toEqual(['z']);
    b.append(chunk(5, ` ${'w'.repeat(5000)}.end`, 'stdout'));
    expect(size(b)).toBeLessThanOrEqual(1000);
    expect(b.lines[b.lines.length - 1]!.text.endsWith('.end')).toBe(true);
  });

  it('output fetched after core let its start go is flagged too', () => {
    const b = new OutputBuffer();
    b.append(chunk(40, 'later line'));
    expect(b.olderInLogFile).toBe(true);
    const fresh = new OutputBuffer();
    fresh.append(chunk(1, 'first'));
    expect(fresh.olderInLogFile).toBe(false);
  });

  it('search stays right after lines are dropped', () => {
    const b = new OutputBuffer(200);
    const search = new OutputSearch(b);
    b.append(chunk(1, 'needle one\nfiller'));
    search.update('needle', b.takeDirty());
    expect(search.count).toBe(1);
    for (let seq = 2; seq < 30; seq++) b.append(chunk(seq, `line ${seq} ${seq === 25 ? 'needle' : ''}`));
    search.update('needle', b.takeDirty());
    expect(search.count).toBe(1);
    expect(b.lines[search.lineOf[0]!]!.text).toContain('line 25 needle');
  });
});
