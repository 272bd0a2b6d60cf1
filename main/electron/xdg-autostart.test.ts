import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTOSTART_FILE,
  autostartDir,
  desktopEntry,
  disableAutostart,
  enableAutostart,
  isAutostartEnabled,
  quoteExecArg,
} from './xdg-autostart.js';

const homes: string[] = [];
function tempHome(): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'ats-xdg-'));
  homes.push(home);
  return home;
}
afterEach(() => homes.splice(0).forEach((h) => rmSync(h, { recursive: true, force: true })));

describe('XDG autostart entry', () => {
  it('writes ~/.config/autostart/ats-agent.desktop in a temp HOME and removes it', () => {
    const home = tempHome();
    const loc = { env: { HOME: home }, home };
    expect(isAutostartEnabled(loc)).toBe(false);
    const file = enableAutostart({ exec: '/opt/ATS Agent/ats-agent', args: ['--hidden'] }, loc);
    expect(file).toBe(path.join(home, '.config', 'autostart', AUTOSTART_FILE));
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\[Desktop Entry\]\n/);
    expect(text).toContain('Type=Application\n');
    expect(text).toContain('Name=ATS Agent\n');
    expect(text).toContain('Exec="/opt/ATS Agent/ats-agent" --hidden\n');
    expect(text).toContain('X-GNOME-Autostart-enabled=true\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(isAutostartEnabled(loc)).toBe(true);
    // rewriting (the AppImage moved) replaces the entry
    enableAutostart({ exec: '/home/u/Apps/ATS-Agent.AppImage', args: ['--hidden'] }, loc);
    expect(readFileSync(file, 'utf8')).toContain('Exec=/home/u/Apps/ATS-Agent.AppImage --hidden\n');
    disableAutostart(loc);
    expect(isAutostartEnabled(loc)).toBe(false);
    disableAutostart(loc); // idempotent
  });

  it('honours an absolute XDG_CONFIG_HOME, ignores a relative one', () => {
    const home = tempHome();
    const config = path.join(home, 'cfg');
    expect(autostartDir({ env: { HOME: home, XDG_CONFIG_HOME: config } })).toBe(path.join(config, 'autostart'));
    expect(autostartDir({ env: { HOME: home, XDG_CONFIG_HOME: 'relative' } })).toBe(
      path.join(home, '.config', 'autostart'),
    );
  });

  it('treats an entry the user switched off as disabled', () => {
    const home = tempHome();
    const loc = { env: { HOME: home } };
    const file = enableAutostart({ exec: '/usr/bin/x' }, loc);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('X-GNOME-Autostart-enabled=true', 'X-GNOME-Autostart-enabled=false'),
    );
    expect(isAutostartEnabled(loc)).toBe(false);
    writeFileSync(file, desktopEntry({ exec: '/usr/bin/x' }).replace('Hidden=false', 'Hidden=true'));
    expect(isAutostartEnabled(loc)).toBe(false);
  });

  it('quotes Exec arguments per the Desktop Entry spec', () => {
    expect(quoteExecArg('/usr/bin/ats-agent')).toBe('/usr/bin/ats-agent');
    expect(quoteExecArg('--hidden')).toBe('--hidden');
    expect(quoteExecArg('/a b/c')).toBe('"/a b/c"');
    expect(quoteExecArg('50%')).toBe('50%%');
    expect(quoteExecArg('a"b$c`d\\e')).toBe('"a\\"b\\$c\\`d\\\\e"');
    // the file format's own escaping doubles backslashes once more
    expect(desktopEntry({ exec: '/x\\y z' })).toContain('Exec="/x\\\\\\\\y z"\n');
    // no line can be injected through a path
    expect(
      desktopEntry({ exec: '/x\nTerminal=true' })
        .split('\n')
        .filter((l) => l.startsWith('Terminal=')),
    ).toEqual(['Terminal=false']);
  });
});
