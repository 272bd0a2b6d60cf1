import { describe, expect, it } from 'vitest';
import { OutputBuffer } from './output-buffer.js';

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
