import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { assetUi, directoryUi, type UiFiles } from './ui-files.js';

async function read(ui: UiFiles, segments: string[]): Promise<string | null> {
  const file = await ui.get(segments);
  if (!file) return null;
  const body = await text(file.open());
  expect(Buffer.byteLength(body)).toBe(file.size);
  return body;
}

const tmp: string[] = [];
afterEach(() => tmp.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('assetUi (the single file: node:sea getAsset)', () => {
  // getAsset as node:sea has it: an ArrayBuffer per key, and an error for a key it does not hold
  const assets = new Map([
    ['ui/index.html', '<!doctype html><title>ATS</title>'],
    ['ui/assets/app-1.js', 'console.log("é")'],
    ['other/secret.txt', 'not the UI'],
  ]);
  const getAsset = (key: string): ArrayBuffer => {
    const value = assets.get(key);
    if (value === undefined) throw new Error(`no asset ${key}`);
    return new TextEncoder().encode(value).buffer;
  };
  const ui = assetUi(getAsset, 'ui', 'the executable');

  it('finds a file by its path under the prefix, with its size in bytes', async () => {
    expect(await read(ui, ['index.html'])).toBe('<!doctype html><title>ATS</title>');
    expect(await read(ui, ['assets', 'app-1.js'])).toBe('console.log("é")');
  });

  it('answers null for a missing file and never reaches outside its prefix', async () => {
    expect(await ui.get(['assets', 'missing.js'])).toBeNull();
    expect(await ui.get(['..', 'other', 'secret.txt'])).toBeNull();
  });

  it('opens a fresh stream for every request', async () => {
    const file = (await ui.get(['index.html']))!;
    expect(await text(file.open())).toBe(await text(file.open()));
  });
});

describe('directoryUi (vite dist/ on disk)', () => {
  it('serves files under the directory, not symlinks that lead out of it', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ats-ui-'));
    tmp.push(root);
    mkdirSync(path.join(root, 'dist', 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'dist', 'assets', 'a.css'), 'body{}');
    writeFileSync(path.join(root, 'secret.txt'), 'outside');
    symlinkSync(path.join(root, 'secret.txt'), path.join(root, 'dist', 'link.txt'));
    const ui = directoryUi(path.join(root, 'dist'));
    expect(await read(ui, ['assets', 'a.css'])).toBe('body{}');
    expect(await ui.get(['link.txt'])).toBeNull();
    expect(await ui.get(['assets'])).toBeNull();
    expect(await ui.get(['..', 'secret.txt'])).toBeNull();
  });
});
