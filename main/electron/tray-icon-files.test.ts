import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { trayImageFile } from './tray-icon-files.js';
import { TRAY_ICONS } from './tray-state.js';

const TRAY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../assets/tray');
const PLATFORMS: NodeJS.Platform[] = ['darwin', 'win32', 'linux', 'freebsd'];

describe('trayImageFile', () => {
  it('names a shipped file for every platform and state, with its @2x where the format has one', () => {
    for (const platform of PLATFORMS)
      for (const icon of TRAY_ICONS) {
        const { file } = trayImageFile(platform, icon);
        expect(existsSync(path.join(TRAY_DIR, file)), `${platform}: ${file}`).toBe(true);
        if (file.endsWith('.png'))
          expect(existsSync(path.join(TRAY_DIR, file.replace(/\.png$/, '@2x.png'))), `${file} @2x`).toBe(true);
      }
  });

  it('gives macOS template images (by name too, as Electron expects), Windows .ico, others colour PNGs', () => {
    for (const icon of TRAY_ICONS) {
      expect(trayImageFile('darwin', icon)).toEqual({ file: `${icon}Template.png`, template: true });
      expect(trayImageFile('win32', icon)).toEqual({ file: `${icon}.ico`, template: false });
      expect(trayImageFile('linux', icon)).toEqual({ file: `${icon}.png`, template: false });
    }
  });

  it('leaves no file in assets/tray that no platform shows', () => {
    const used = new Set(
      PLATFORMS.flatMap((p) => TRAY_ICONS.map((i) => trayImageFile(p, i).file)).flatMap((f) =>
        f.endsWith('.png') ? [f, f.replace(/\.png$/, '@2x.png')] : [f],
      ),
    );
    expect(readdirSync(TRAY_DIR).filter((f) => !used.has(f))).toEqual([]);
  });
});
