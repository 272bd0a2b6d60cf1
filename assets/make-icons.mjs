#!/usr/bin/env node
// Generates every icon the app ships, with node:zlib only (PNG chunks and the ICO container are
// written by hand: both formats are a few fixed headers):
//   icon.png                          512 px app icon: the glyph, a white "A" on a violet tile
//   tray/<state>.png, <state>@2x.png  Linux (and the fallback), 16 and 32 px, in colour
//   tray/<state>Template.png, @2x     macOS template images: black + alpha only, the menu bar tints them
//   tray/<state>.ico                  Windows: 16, 20, 24 and 32 px (100 %, 125 %, 150 %, 200 % scaling)
// The state is a badge in the bottom-right corner and reads by SHAPE, so it survives grey scale and
// the monochrome macOS menu bar: online = disc, busy = "play" triangle, reconnecting = ring,
// offline = cross (and the whole glyph greyed / faded). Colour only repeats what the shape says.
// Run: node assets/make-icons.mjs [output dir, default: this directory]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const out = path.resolve(process.argv[2] ?? path.dirname(fileURLToPath(import.meta.url)));

// ---------------------------------------------------------------------------------------------- PNG
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** An RGBA image: `size` × `size`, rows top to bottom, 4 bytes a pixel. */
function render(size, shade) {
  const pixels = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      pixels.set(shade(((x + 0.5) * 16) / size, ((y + 0.5) * 16) / size, 16 / size), (y * size + x) * 4);
  return { size, pixels };
}
function png({ size, pixels }) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    pixels.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------- ICO
/**
 * One .ico with an uncompressed 32-bit DIB per size (BITMAPINFOHEADER, BGRA rows bottom-up, then
 * the 1-bit AND mask): every Windows version reads DIB entries; PNG entries are for 256 px only.
 */
function ico(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  const entries = [];
  const bodies = [];
  let offset = 6 + 16 * images.length;
  for (const { size, pixels } of images) {
    const maskRow = Math.ceil(size / 32) * 4;
    const dib = Buffer.alloc(40 + size * size * 4 + maskRow * size);
    dib.writeUInt32LE(40, 0);
    dib.writeInt32LE(size, 4);
    dib.writeInt32LE(size * 2, 8); // colour rows + mask rows
    dib.writeUInt16LE(1, 12); // planes
    dib.writeUInt16LE(32, 14); // bits a pixel
    dib.writeUInt32LE(size * size * 4 + maskRow * size, 20);
    for (let y = 0; y < size; y++) {
      const row = 40 + (size - 1 - y) * size * 4;
      for (let x = 0; x < size; x++) {
        const p = (y * size + x) * 4;
        dib.set([pixels[p + 2], pixels[p + 1], pixels[p], pixels[p + 3]], row + x * 4);
        // AND mask: 1 = transparent, for readers that ignore the alpha channel
        if (pixels[p + 3] === 0) dib[40 + size * size * 4 + (size - 1 - y) * maskRow + (x >> 3)] |= 0x80 >> (x & 7);
      }
    }
    const entry = Buffer.alloc(16);
    entry[0] = size; // width (0 would mean 256)
    entry[1] = size;
    entry.writeUInt16LE(1, 4); // planes
    entry.writeUInt16LE(32, 6); // bits a pixel
    entry.writeUInt32LE(dib.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += dib.length;
    entries.push(entry);
    bodies.push(dib);
  }
  return Buffer.concat([header, ...entries, ...bodies]);
}

// --------------------------------------------------------------------------------------- Drawing
// Shapes are signed distances (negative inside) in a 16 × 16 design grid whatever the pixel size;
// each pixel is 4 × 4 supersampled.
function coverage(x, y, step, distance) {
  // every distance here is exact or an underestimate, and the samples lie within 0.71 step of the
  // centre: a centre farther than one step from the edge is wholly outside or inside
  const centre = distance(x, y);
  if (centre > step) return 0;
  if (centre < -step) return 1;
  let inside = 0;
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      if (distance(x + ((i + 0.5) / 4 - 0.5) * step, y + ((j + 0.5) / 4 - 0.5) * step) <= 0) inside++;
  return inside / 16;
}
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
const ring = (cx, cy, r, width) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - width / 2;
function roundedSquare(x0, y0, x1, y1, r) {
  return (x, y) => {
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return Math.hypot(dx, dy) - r;
  };
}
/** a stroke of `width` from (ax, ay) to (bx, by), round ends */
function segment(ax, ay, bx, by, width) {
  return (x, y) => {
    const [vx, vy] = [bx - ax, by - ay];
    const t = Math.max(0, Math.min(1, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)));
    return Math.hypot(x - ax - t * vx, y - ay - t * vy) - width / 2;
  };
}
/** a convex polygon (clockwise in screen coordinates), corners rounded by `r` */
function polygon(points, r) {
  return (x, y) => {
    let outside = -Infinity;
    for (let i = 0; i < points.length; i++) {
      const [ax, ay] = points[i];
      const [bx, by] = points[(i + 1) % points.length];
      const len = Math.hypot(bx - ax, by - ay);
      outside = Math.max(outside, ((x - ax) * (by - ay) - (y - ay) * (bx - ax)) / len);
    }
    return outside - r;
  };
}
const union =
  (...shapes) =>
  (x, y) =>
    Math.min(...shapes.map((s) => s(x, y)));
const minus = (shape, hole) => (x, y) => Math.max(shape(x, y), -hole(x, y));
const over = (top, bottom) => {
  const a = top[3] / 255 + (bottom[3] / 255) * (1 - top[3] / 255);
  if (a === 0) return [0, 0, 0, 0];
  const mix = (i) => Math.round((top[i] * (top[3] / 255) + bottom[i] * (bottom[3] / 255) * (1 - top[3] / 255)) / a);
  return [mix(0), mix(1), mix(2), Math.round(a * 255)];
};
const paint = (rgb, alpha) => [...rgb, Math.round(255 * alpha)];

// ----------------------------------------------------------------------------------------- Glyph
/** The "A": two legs and a bar, heavy enough to stay one shape at 16 px. */
function letterA(cx, top, bottom, halfWidth, stroke) {
  const barY = top + (bottom - top) * 0.66;
  const barHalf = halfWidth * ((barY - top) / (bottom - top));
  return union(
    segment(cx, top, cx - halfWidth, bottom, stroke),
    segment(cx, top, cx + halfWidth, bottom, stroke),
    segment(cx - barHalf, barY, cx + barHalf, barY, stroke * 0.8),
  );
}
const BRAND = [0x6e, 0x40, 0xc9]; // violet: none of the state colours
const WHITE = [0xff, 0xff, 0xff];
const BLACK = [0, 0, 0];

// The tray glyph fills the 16 × 16 grid; the badge sits in the top-right corner, where the "A"
// leaves room, inside a cut-out (a transparent moat) that keeps it apart from the tile on any bar.
const TILE = roundedSquare(0.5, 0.5, 15.5, 15.5, 3.5);
const TRAY_A = letterA(6.2, 3.4, 12.7, 4.3, 2.2);
const BADGE = { cx: 12.2, cy: 3.8 };
const MOAT = circle(BADGE.cx, BADGE.cy, 4.6);

const BADGES = {
  online: { colour: [0x2e, 0xa0, 0x43], shape: circle(BADGE.cx, BADGE.cy, 3.3) },
  busy: {
    colour: [0x1f, 0x88, 0xe6],
    shape: polygon(
      [
        [9.4, 0.4],
        [15.6, 3.8],
        [9.4, 7.2],
      ],
      0.3,
    ),
  },
  reconnecting: { colour: [0xd2, 0x8c, 0x12], shape: ring(BADGE.cx, BADGE.cy, 2.6, 1.4) },
  offline: {
    colour: [0xff, 0x4d, 0x55],
    shape: union(segment(9.9, 1.5, 14.5, 6.1, 2), segment(9.9, 6.1, 14.5, 1.5, 2)),
  },
};
const STATES = Object.keys(BADGES);

function trayIcon(size, state, template) {
  const badge = BADGES[state];
  const offline = state === 'offline';
  const tile = minus(TILE, MOAT);
  return render(size, (x, y, step) => {
    const tileCover = coverage(x, y, step, tile);
    const letterCover = coverage(x, y, step, minus(TRAY_A, MOAT));
    const badgeCover = coverage(x, y, step, badge.shape);
    if (template) {
      // the letter is cut out of the tile; offline fades the glyph (macOS honours a template's alpha)
      const glyph = Math.max(0, tileCover - letterCover) * (offline ? 0.45 : 1);
      return paint(BLACK, Math.max(glyph, badgeCover));
    }
    // offline: a grey glyph, faded like a disabled control, so it differs in grey scale too
    let px = over(paint(WHITE, letterCover), paint(offline ? [0x5a, 0x5a, 0x64] : BRAND, tileCover));
    if (offline) px[3] = Math.round(px[3] * 0.6);
    return over(paint(badge.colour, badgeCover), px);
  });
}

function appIcon(size) {
  // macOS-style margins (the tile is ~80 % of the canvas) and a soft top-to-bottom shade
  const tile = roundedSquare(1.6, 1.6, 14.4, 14.4, 2.9);
  const letter = letterA(8, 4.2, 11.9, 3.6, 1.75);
  return render(size, (x, y, step) => {
    const shade = 1.12 - (y / 16) * 0.24;
    const base = BRAND.map((c) => Math.min(255, Math.round(c * shade)));
    const px = paint(base, coverage(x, y, step, tile));
    return over(paint(WHITE, coverage(x, y, step, letter)), px);
  });
}

mkdirSync(path.join(out, 'tray'), { recursive: true });
const write = (file, data) => writeFileSync(path.join(out, file), data);
for (const state of STATES) {
  write(`tray/${state}.png`, png(trayIcon(16, state, false)));
  write(`tray/${state}@2x.png`, png(trayIcon(32, state, false)));
  write(`tray/${state}Template.png`, png(trayIcon(16, state, true)));
  write(`tray/${state}Template@2x.png`, png(trayIcon(32, state, true)));
  write(`tray/${state}.ico`, ico([16, 20, 24, 32].map((size) => trayIcon(size, state, false))));
}
write('icon.png', png(appIcon(512)));
console.log(
  `wrote ${out}/icon.png and ${out}/tray/{${STATES.join(',')}}{.png,@2x.png,Template.png,Template@2x.png,.ico}`,
);
