/**
 * The icons assets/make-icons.mjs generates: the committed files are exactly its output, every PNG
 * and ICO is well formed at the sizes each platform asks for, macOS templates are black + alpha, and
 * the four tray states differ in shape (alpha or grey scale), not only in colour.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../assets');
const STATES = ['online', 'busy', 'reconnecting', 'offline'] as const;
const read = (file: string) => readFileSync(path.join(ASSETS, file));

interface Bitmap {
  width: number;
  height: number;
  /** RGBA, rows top to bottom */
  rgba: Buffer;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf: Buffer) => {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

function predict(filter: number, a: number, b: number, c: number): number {
  if (filter === 0) return 0;
  if (filter === 1) return a;
  if (filter === 2) return b;
  if (filter === 3) return (a + b) >> 1;
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** A PNG reader for 8-bit RGBA, non-interlaced, any filter: fails loudly on anything else. */
function decodePng(buf: Buffer): Bitmap {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let pos = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (pos < buf.length) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    expect(buf.readUInt32BE(pos + 8 + length), `CRC of ${type}`).toBe(crc32(buf.subarray(pos + 4, pos + 8 + length)));
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    pos += 12 + length;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  expect(ended && pos === buf.length, 'IEND last').toBe(true);
  expect(ihdr).toBeDefined();
  const width = ihdr!.readUInt32BE(0);
  const height = ihdr!.readUInt32BE(4);
  expect([...ihdr!.subarray(8, 13)], 'bit depth 8, RGBA, deflate, filter 0, no interlace').toEqual([8, 6, 0, 0, 0]);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  expect(raw.length).toBe(height * (stride + 1));
  const rgba = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    if (filter > 4) throw new Error(`row ${y}: filter type ${filter}`);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= 4 ? rgba[y * stride + i - 4] : 0;
      const b = y > 0 ? rgba[(y - 1) * stride + i] : 0;
      const c = i >= 4 && y > 0 ? rgba[(y - 1) * stride + i - 4] : 0;
      rgba[y * stride + i] = (x + predict(filter, a, b, c)) & 0xff;
    }
  }
  return { width, height, rgba };
}

/** Each frame of an .ico of 32-bit DIB entries, checked against its directory entry. */
function decodeIco(buf: Buffer): Bitmap[] {
  expect([buf.readUInt16LE(0), buf.readUInt16LE(2)], 'reserved 0, type 1 (icon)').toEqual([0, 1]);
  const count = buf.readUInt16LE(4);
  const frames: Bitmap[] = [];
  const maskErrors: string[] = [];
  for (let i = 0; i < count; i++) {
    const entry = buf.subarray(6 + i * 16, 6 + (i + 1) * 16);
    const size = entry[0];
    expect(entry[1]).toBe(size);
    const bytes = entry.readUInt32LE(8);
    const offset = entry.readUInt32LE(12);
    expect(offset + bytes).toBeLessThanOrEqual(buf.length);
    const dib = buf.subarray(offset, offset + bytes);
    expect([dib.readUInt32LE(0), dib.readInt32LE(4), dib.readInt32LE(8), dib.readUInt16LE(14)]).toEqual([
      40,
      size,
      size * 2,
      32,
    ]);
    const maskRow = Math.ceil(size / 32) * 4;
    expect(bytes).toBe(40 + size * size * 4 + maskRow * size);
    const rgba = Buffer.alloc(size * size * 4);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const p = 40 + ((size - 1 - y) * size + x) * 4;
        const alpha = dib[p + 3];
        rgba.set([dib[p + 2], dib[p + 1], dib[p], alpha], (y * size + x) * 4);
        const masked = (dib[40 + size * size * 4 + (size - 1 - y) * maskRow + (x >> 3)] >> (7 - (x & 7))) & 1;
        if (masked !== (alpha === 0 ? 1 : 0)) maskErrors.push(`${size} px frame at ${x},${y}`);
      }
    frames.push({ width: size, height: size, rgba });
  }
  expect(maskErrors, 'AND mask set exactly where alpha is 0').toEqual([]);
  return frames;
}

/** pixels whose value (alpha, or grey-scale luminance over a bar colour) differs by more than 25 % */
function differingPixels(a: Bitmap, b: Bitmap, value: (rgba: Buffer, i: number) => number): number {
  let n = 0;
  for (let i = 0; i < a.rgba.length; i += 4) if (Math.abs(value(a.rgba, i) - value(b.rgba, i)) > 64) n++;
  return n;
}
const alpha = (rgba: Buffer, i: number) => rgba[i + 3];
const greyOver = (bar: number) => (rgba: Buffer, i: number) => {
  const luma = 0.2126 * rgba[i] + 0.7152 * rgba[i + 1] + 0.0722 * rgba[i + 2];
  return (luma * rgba[i + 3] + bar * (255 - rgba[i + 3])) / 255;
};
const pairs = STATES.flatMap((s, i) => STATES.slice(i + 1).map((t) => [s, t] as const));

describe('icons (assets/make-icons.mjs)', () => {
  const fresh = mkdtempSync(path.join(os.tmpdir(), 'ats-icons-'));
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it('are committed exactly as the generator writes them', () => {
    execFileSync(process.execPath, [path.join(ASSETS, 'make-icons.mjs'), fresh], { stdio: 'pipe' });
    const files = ['icon.png', ...readdirSync(path.join(fresh, 'tray')).map((f) => `tray/${f}`)];
    expect(files.length).toBe(1 + STATES.length * 5);
    for (const file of files) expect(read(file).equals(readFileSync(path.join(fresh, file))), file).toBe(true);
    expect(readdirSync(path.join(ASSETS, 'tray')).sort()).toEqual(readdirSync(path.join(fresh, 'tray')).sort());
  });

  it('app icon: a 512 px RGBA PNG with transparent corners', () => {
    const icon = decodePng(read('icon.png'));
    expect([icon.width, icon.height]).toEqual([512, 512]);
    expect(icon.rgba[3]).toBe(0);
    expect(icon.rgba[(256 * 512 + 256) * 4 + 3]).toBe(255);
  });

  it('Linux/fallback PNGs at 16 and 32 px, macOS templates black + alpha only', () => {
    for (const state of STATES) {
      for (const [suffix, size] of [
        ['', 16],
        ['@2x', 32],
        ['Template', 16],
        ['Template@2x', 32],
      ] as const) {
        const image = decodePng(read(`tray/${state}${suffix}.png`));
        expect([image.width, image.height], `${state}${suffix}`).toEqual([size, size]);
        if (suffix.startsWith('Template')) {
          const coloured = [...Array(size * size).keys()].filter((p) => image.rgba.readUIntBE(p * 4, 3) !== 0);
          expect(coloured, `${state}${suffix}: pixels not black`).toEqual([]);
          expect(
            image.rgba.some((v, i) => i % 4 === 3 && v > 0),
            `${state}${suffix} draws something`,
          ).toBe(true);
        }
      }
    }
  });

  it('Windows .ico: 16, 20, 24 and 32 px frames, the 16 px one the same picture as the PNG', () => {
    for (const state of STATES) {
      const frames = decodeIco(read(`tray/${state}.ico`));
      expect(frames.map((f) => f.width)).toEqual([16, 20, 24, 32]);
      expect(frames[0].rgba.equals(decodePng(read(`tray/${state}.png`)).rgba)).toBe(true);
      expect(frames[3].rgba.equals(decodePng(read(`tray/${state}@2x.png`)).rgba)).toBe(true);
    }
  });

  it('the four states differ in shape: template alpha, and colour icons in grey scale on light and dark bars', () => {
    const template = Object.fromEntries(STATES.map((s) => [s, decodePng(read(`tray/${s}Template.png`))]));
    const colour = Object.fromEntries(STATES.map((s) => [s, decodePng(read(`tray/${s}.png`))]));
    for (const [s, t] of pairs) {
      // a 16 px badge is ~40 pixels: at least 8 of them must change from one state to another
      expect(differingPixels(template[s], template[t], alpha), `template ${s} vs ${t}`).toBeGreaterThanOrEqual(8);
      for (const bar of [0xec, 0x1f])
        expect(
          differingPixels(colour[s], colour[t], greyOver(bar)),
          `grey ${s} vs ${t} on ${bar}`,
        ).toBeGreaterThanOrEqual(8);
    }
  });
});
