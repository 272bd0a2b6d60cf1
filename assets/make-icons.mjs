#!/usr/bin/env node
// Generates the tray icons (one per connection state, 16x16 plus @2x 32x32) and the 512x512 app icon
// as RGBA PNGs, with node:zlib only: every chunk is written by hand. Run: node assets/make-icons.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const here = new URL('.', import.meta.url);

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
/** rgba: (x, y) => [r, g, b, a] with x, y the pixel centre */
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(rgba(x + 0.5, y + 0.5), row + 1 + x * 4);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Coverage of a pixel by a shape given as a signed distance (negative inside), 4x4 supersampled. */
function coverage(x, y, distance) {
  let inside = 0;
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) if (distance(x - 0.5 + (i + 0.5) / 4, y - 0.5 + (j + 0.5) / 4) <= 0) inside++;
  return inside / 16;
}
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
function roundedSquare(x0, y0, x1, y1, r) {
  return (x, y) => {
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return Math.hypot(dx, dy) - r;
  };
}
const over = (top, bottom) => {
  const a = top[3] / 255 + (bottom[3] / 255) * (1 - top[3] / 255);
  if (a === 0) return [0, 0, 0, 0];
  const mix = (i) => Math.round((top[i] * (top[3] / 255) + bottom[i] * (bottom[3] / 255) * (1 - top[3] / 255)) / a);
  return [mix(0), mix(1), mix(2), Math.round(a * 255)];
};

const STATES = {
  online: [0x2e, 0xa0, 0x43], // green
  busy: [0x1f, 0x6f, 0xeb], // blue
  reconnecting: [0xd2, 0x99, 0x22], // amber
  offline: [0xcf, 0x22, 0x2e], // red
};

function trayIcon(size, [r, g, b]) {
  const c = size / 2;
  const outer = circle(c, c, size * 0.42);
  const ring = circle(c, c, size * 0.42 - Math.max(1, size / 16));
  return png(size, (x, y) => {
    const edge = coverage(x, y, outer); // a darker rim keeps the dot visible on light and dark bars
    const fill = coverage(x, y, ring);
    const dark = [Math.round(r * 0.6), Math.round(g * 0.6), Math.round(b * 0.6), Math.round(255 * edge)];
    return over([r, g, b, Math.round(255 * fill)], dark);
  });
}

function appIcon(size) {
  const m = size * 0.06;
  const square = roundedSquare(m, m, size - m, size - m, size * 0.18);
  const c = size / 2;
  const dot = circle(c, c, size * 0.2);
  const ring = (x, y) => Math.abs(Math.hypot(x - c, y - c) - size * 0.3) - size * 0.035;
  return png(size, (x, y) => {
    let px = [0x1b, 0x26, 0x3b, Math.round(255 * coverage(x, y, square))];
    px = over([0x2e, 0xa0, 0x43, Math.round(255 * coverage(x, y, ring))], px);
    px = over([0xff, 0xff, 0xff, Math.round(255 * coverage(x, y, dot))], px);
    return px;
  });
}

mkdirSync(new URL('tray/', here), { recursive: true });
for (const [state, colour] of Object.entries(STATES)) {
  writeFileSync(new URL(`tray/${state}.png`, here), trayIcon(16, colour));
  writeFileSync(new URL(`tray/${state}@2x.png`, here), trayIcon(32, colour));
}
writeFileSync(new URL('icon.png', here), appIcon(512));
console.log('wrote assets/tray/{online,busy,reconnecting,offline}{,@2x}.png and assets/icon.png');
