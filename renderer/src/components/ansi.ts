/**
 * ANSI → styled segments with anser. Text is never parsed as HTML: segments become React text
 * nodes, so `<script>` in a task's output stays text. Colours of the 16-colour palette are CSS
 * classes (tuned for the dark log background); 256-colour and true-colour ones become inline
 * colours set through the CSSOM, which a strict style-src CSP allows.
 */
import Anser from 'anser';
import type { CSSProperties } from 'react';
import { visibleText } from '../state/output-buffer.js';

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

export function parseAnsi(raw: string): Segment[] {
  const text = visibleText(raw);
  if (!text.includes('\x1b')) return [{ text }];
  const out: Segment[] = [];
  for (const e of Anser.ansiToJson(text, { use_classes: true, remove_empty: true })) {
    if (!e.content) continue;
    const classes: string[] = [];
    const style: CSSProperties = {};
    colorOf(e.fg, e.fg_truecolor, 'fg', classes, style);
    colorOf(e.bg, e.bg_truecolor, 'bg', classes, style);
    for (const d of e.decorations ?? []) classes.push(`ansi-${d}`);
    out.push({
      text: e.content,
      className: classes.length ? classes.join(' ') : undefined,
      style: Object.keys(style).length ? style : undefined,
    });
  }
  return out;
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
