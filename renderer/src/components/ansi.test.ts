import { describe, expect, it } from 'vitest';
import type { LogStream } from '../../../main/core/api.js';
import { OutputBuffer } from '../state/output-buffer.js';
import { AnsiLines, parseAnsi, type Segment } from './ansi.js';

const ESC = '\x1b';

function bufferOf(chunks: Array<[LogStream, string, partial?: true]>): OutputBuffer {
  const buffer = new OutputBuffer();
  chunks.forEach(([stream, text, partial], i) =>
    buffer.append({ seq: i + 1, stream, text, partial, at: '2026-01-01T00:00:00Z' }),
  );
  return buffer;
}

/** each line as [text, classes] pairs */
function render(buffer: OutputBuffer, ansi = new AnsiLines()): Array<Array<[string, string]>> {
  return buffer.lines.map((_, i) => ansi.segments(buffer.lines, i).map((s: Segment) => [s.text, s.className ?? '']));
}

describe('ANSI colour state across lines', () => {
  it('a coloured multi-line block keeps its colour until the reset, wherever the chunks split', () => {
    const block = [
      `${ESC}[31mred starts here`,
      'still red',
      `${ESC}[1mbold red${ESC}[22m red again`,
      `red until ${ESC}[0mplain`,
      'plain',
    ].join('\n');
    const whole = render(bufferOf([['stdout', block]]));
    expect(whole).toEqual([
      [['red starts here', 'ansi-red-fg']],
      [['still red', 'ansi-red-fg']],
      [
        ['bold red', 'ansi-red-fg ansi-bold'],
        [' red again', 'ansi-red-fg'],
      ],
      [
        ['red until ', 'ansi-red-fg'],
        ['plain', ''],
      ],
      [['plain', '']],
    ]);
    // the same block in one chunk per line renders the same
    expect(render(bufferOf(block.split('\n').map((l) => ['stdout', l] as [LogStream, string])))).toEqual(whole);
  });

  it('keeps stdout and stderr apart, and the agent lines out of it', () => {
    const lines = render(
      bufferOf([
        ['stdout', `${ESC}[32mgreen`],
        ['stderr', 'error text'],
        ['agent', 'agent: task cancelled'],
        ['stdout', 'still green'],
        ['stderr', `${ESC}[33myellow`],
        ['stdout', `${ESC}[0mdone`],
        ['stderr', 'yellow too'],
      ]),
    );
    expect(lines.map((l) => l.map(([, c]) => c).join('|'))).toEqual([
      'ansi-green-fg',
      '',
      '',
      'ansi-green-fg',
      'ansi-yellow-fg',
      '',
      'ansi-yellow-fg',
    ]);
  });

  it('carries 256-colour, true-colour and background state as inline colours', () => {
    const buffer = bufferOf([['stdout', `${ESC}[38;5;208m${ESC}[48;2;10;20;30morange\nnext line`]]);
    const ansi = new AnsiLines();
    const next = ansi.segments(buffer.lines, 1);
    expect(next).toHaveLength(1);
    expect(next[0]!.style).toEqual({ color: 'rgb(255,135,0)', backgroundColor: 'rgb(10, 20, 30)' });
  });

  it('a line that grows (an open line) is parsed again, and the lines after it follow', () => {
    const buffer = bufferOf([['stdout', 'progress', true]]);
    const ansi = new AnsiLines();
    expect(render(buffer, ansi)).toEqual([[['progress', '']]]);
    buffer.append({ seq: 2, stream: 'stdout', text: ` ${ESC}[36m50%\nafter`, at: '2026-01-01T00:00:01Z' });
    expect(render(buffer, ansi)).toEqual([
      [
        ['progress ', ''],
        ['50%', 'ansi-cyan-fg'],
      ],
      [['after', 'ansi-cyan-fg']],
    ]);
  });

  it('escapes before a carriage return set the state though their text is overwritten', () => {
    const { segments, end } = parseAnsi(`${ESC}[34mloading…\rdone`);
    expect(segments).toEqual([{ text: 'done', className: 'ansi-blue-fg' }]);
    expect(end?.fg).toBe('ansi-blue');
  });

  it('plain text stays one segment and starts no state', () => {
    expect(parseAnsi('<script>alert(1)</script>')).toEqual({
      segments: [{ text: '<script>alert(1)</script>' }],
      end: null,
    });
  });

  it('jumping to the end renders the same as reading from the top', () => {
    const codes = ['31', '1', '0', '42', '22', '38;5;99', '39', '4', '24;49', ''];
    const rows = Array.from({ length: 500 }, (_, i) =>
      i % 3 === 0 ? `a${i}${ESC}[${codes[i % codes.length]}mb${i}` : i % 7 === 0 ? `x\r${ESC}[35my${i}` : `plain ${i}`,
    );
    const buffer = bufferOf([['stdout', rows.join('\n')]]);
    const inOrder = render(buffer);
    const jumped = new AnsiLines();
    const tail = jumped.segments(buffer.lines, 499);
    expect(tail.map((s) => [s.text, s.className ?? ''])).toEqual(inOrder[499]);
    expect(render(buffer, jumped)).toEqual(inOrder);
  });

  it('renders the tail of a long coloured log without parsing a line twice per view', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => (i % 100 === 0 ? `${ESC}[3${i % 7}m` : '') + `row ${i}`);
    const buffer = bufferOf([['stdout', rows.join('\n')]]);
    const ansi = new AnsiLines();
    const t0 = performance.now();
    const last = ansi.segments(buffer.lines, 19_999);
    const first = performance.now() - t0;
    // 19,900 % 7 = 6: the colour set at row 19,900 still holds at the last row
    expect(last).toEqual([{ text: 'row 19999', className: 'ansi-cyan-fg' }]);
    const t1 = performance.now();
    for (let i = 19_950; i < 20_000; i++) ansi.segments(buffer.lines, i);
    expect(performance.now() - t1).toBeLessThan(Math.max(50, first));
  });
});
