/**
 * ANSI → styled segments with anser. Text is never parsed as HTML: segments become React text
 * nodes, so `<script>` in a task's output stays text. Colours of the 16-colour palette are CSS
 * classes (tuned for the dark log background); 256-colour and true-colour ones become inline
 * colours set through the CSSOM, which a strict style-src CSP allows.
 */
import Anser from 'anser';
import type { CSSProperties } from 'react';
import { visibleText, type OutputLine } from '../state/output-buffer.js';

export interface Segment {
  text: string;
  className?: string;
  style?: CSSProperties;
}

const CUBE = [0, 95, 135, 175, 215, 255];
function paletteColor(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  return `rgb(${CUBE[Math.floor(i / 36) % 6]},${CUBE[Math.floor(i / 6) % 6]},${CUBE[i % 6]})`;
}

function colorOf(
  cls: string | null,
  truecolor: string | null,
  side: 'fg' | 'bg',
  classes: string[],
  style: CSSProperties,
): void {
  if (!cls) return;
  const prop = side === 'fg' ? 'color' : 'backgroundColor';
  if (cls === 'ansi-truecolor') {
    if (truecolor) style[prop] = `rgb(${truecolor})`;
  } else if (cls.startsWith('ansi-palette-')) {
    style[prop] = paletteColor(Number(cls.slice('ansi-palette-'.length)));
  } else if (/^ansi-[a-z-]+$/.test(cls)) {
    classes.push(`${cls}-${side}`);
  }
}

/**
 * The SGR state (colours, bold...) an Anser instance keeps between `ansiToJson` calls: public fields
 * of the instance that anser's typings leave out. `null` is the terminal's default state.
 */
export interface AnsiState {
  fg: string | null;
  bg: string | null;
  fg_truecolor: string | null;
  bg_truecolor: string | null;
  bright: number;
  decorations: string[];
}
type StatefulAnser = Anser & AnsiState;
const NO_OP_SGR = '\x1b[10m';

function stateOf(a: StatefulAnser): AnsiState | null {
  if (!a.fg && !a.bg && !a.fg_truecolor && !a.bg_truecolor && !a.bright && a.decorations.length === 0) return null;
  return {
    fg: a.fg,
    bg: a.bg,
    fg_truecolor: a.fg_truecolor,
    bg_truecolor: a.bg_truecolor,
    bright: a.bright,
    decorations: [...a.decorations],
  };
}

export interface ParsedLine {
  segments: Segment[];
  /** the state the next line of the same stream starts in */
  end: AnsiState | null;
}

/**
 * One line's segments, starting in `start` (the previous line's end state: a colour set on one line
 * and reset lines later colours all of them, as in a terminal).
 */
export function parseAnsi(raw: string, start: AnsiState | null = null): ParsedLine {
  if (!start && !raw.includes('\x1b')) return { segments: [{ text: visibleText(raw) }], end: null };
  const anser = new Anser() as StatefulAnser;
  if (start) Object.assign(anser, start, { decorations: [...start.decorations] });
  const text = visibleText(raw);
  // what a carriage return overwrote is not shown, but its escapes still set the state
  if (text.length < raw.length) anser.ansiToJson(raw.slice(0, raw.length - text.length), { use_classes: true });
  const segments: Segment[] = [];
  // anser styles the text before a line's first escape as plain: a no-op SGR (10, the primary font) first
  const input = start || text.length < raw.length ? `${NO_OP_SGR}${text}` : text;
  for (const e of anser.ansiToJson(input, { use_classes: true, remove_empty: true })) {
    if (!e.content) continue;
    const classes: string[] = [];
    const style: CSSProperties = {};
    colorOf(e.fg, e.fg_truecolor, 'fg', classes, style);
    colorOf(e.bg, e.bg_truecolor, 'bg', classes, style);
    for (const d of e.decorations ?? []) classes.push(`ansi-${d}`);
    segments.push({
      text: e.content,
      className: classes.length ? classes.join(' ') : undefined,
      style: Object.keys(style).length ? style : undefined,
    });
  }
  return { segments, end: stateOf(anser) };
}

interface Parsed {
  rev: number;
  start: AnsiState | null;
  end: AnsiState | null;
  /** kept for lines that were shown; lines only walked over keep their states */
  segments: Segment[] | null;
}

/**
 * The segments of a buffer's lines with the colour state carried from line to line within each
 * stream (stdout and stderr are separate terminals; the agent's own lines carry nothing). Lines are
 * parsed on demand and cached by revision: only the open last line of a stream ever changes, and no
 * later line of that stream exists while it is open, so a cached line's start state stays right.
 */
export class AnsiLines {
  private readonly cache = new WeakMap<OutputLine, Parsed>();

  segments(lines: readonly OutputLine[], index: number): Segment[] {
    const line = lines[index];
    if (!line) return [];
    const p = this.parsed(lines, index, line);
    return (p.segments ??= parseAnsi(line.text, p.start).segments);
  }

  private parsed(lines: readonly OutputLine[], index: number, line: OutputLine): Parsed {
    const hit = this.cache.get(line);
    if (hit && hit.rev === line.rev) return hit;
    // the lines of this stream back to one already parsed (or the first), then forward from there
    const todo = [index];
    let start: AnsiState | null = null;
    if (line.stream !== 'agent') {
      for (let i = index - 1; i >= 0; i--) {
        const prev = lines[i]!;
        if (prev.stream !== line.stream) continue;
        const cached = this.cache.get(prev);
        if (cached && cached.rev === prev.rev) {
          start = cached.end;
          break;
        }
        todo.push(i);
      }
    }
    let result: Parsed | undefined;
    // lines only walked over need their end state, not segments: one instance runs through them
    let walker: StatefulAnser | null = null;
    for (let k = todo.length - 1; k >= 0; k--) {
      const l = lines[todo[k]!]!;
      if (k > 0 && !l.text.includes('\x1b')) {
        result = { rev: l.rev, start, end: start, segments: null };
      } else if (k > 0) {
        if (!walker) {
          walker = new Anser() as StatefulAnser;
          if (start) Object.assign(walker, start, { decorations: [...start.decorations] });
        }
        walker.ansiToJson(l.text, { use_classes: true });
        result = { rev: l.rev, start, end: stateOf(walker), segments: null };
      } else {
        const { segments, end } = parseAnsi(l.text, start);
        result = { rev: l.rev, start, end, segments: k === 0 ? segments : null };
      }
      this.cache.set(l, result);
      start = result.end;
    }
    return result!;
  }
}

/** Splits segments at the matches of `query` (lower-case), wrapping them in <mark>. */
export interface Piece extends Segment {
  match?: 'current' | 'other';
}

export function highlight(segments: Segment[], query: string, currentOcc: number): Piece[] {
  if (!query) return segments;
  const full = segments.map((s) => s.text).join('');
  const lower = full.toLowerCase();
  const ranges: Array<[number, number, number]> = [];
  for (let at = lower.indexOf(query), occ = 0; at >= 0; at = lower.indexOf(query, at + query.length), occ++) {
    ranges.push([at, at + query.length, occ]);
  }
  if (ranges.length === 0) return segments;
  const out: Piece[] = [];
  let pos = 0;
  let r = 0;
  for (const seg of segments) {
    const end = pos + seg.text.length;
    let cur = pos;
    while (cur < end) {
      while (r < ranges.length && ranges[r]![1] <= cur) r++;
      const range = ranges[r];
      if (!range || range[0] >= end) {
        out.push({ ...seg, text: full.slice(cur, end) });
        cur = end;
      } else if (range[0] > cur) {
        out.push({ ...seg, text: full.slice(cur, range[0]) });
        cur = range[0];
      } else {
        const stop = Math.min(range[1], end);
        out.push({ ...seg, text: full.slice(cur, stop), match: range[2] === currentOcc ? 'current' : 'other' });
        cur = stop;
      }
    }
    pos = end;
  }
  return out;
}
