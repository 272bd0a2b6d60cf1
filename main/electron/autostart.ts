/**
 * Start at login. Windows and macOS: the OS login items (`app.setLoginItemSettings`; macOS 13+
 * takes `type: 'mainAppService'`, where `openAsHidden` is deprecated and arguments are not passed).
 * Linux: an XDG autostart entry (xdg-autostart.ts) whose Exec is the AppImage ($APPIMAGE: the
 * mounted executable changes on every run) or the installed executable, with `--hidden`.
 * Development runs (`electron .`) have no stable executable to register: refused, as Mattermost does.
 */
import { app } from 'electron';
import path from 'node:path';
import type { CommandResult } from '../core/api.js';
import { HIDDEN_ARG } from './launch-args.js';
import { disableAutostart, enableAutostart, isAutostartEnabled } from './xdg-autostart.js';

function linuxExecutable(): string {
  return process.env.APPIMAGE && path.isAbsolute(process.env.APPIMAGE) ? process.env.APPIMAGE : process.execPath;
}

export function setStartAtLogin(enabled: boolean): CommandResult {
  if (!app.isPackaged)
    return { ok: false, message: 'start at login is available in the installed app, not in a development run' };
  try {
    if (process.platform === 'linux') {
      if (enabled) enableAutostart({ exec: linuxExecutable(), args: [HIDDEN_ARG], name: app.getName() });
      else disableAutostart();
    } else if (process.platform === 'darwin') {
      app.setLoginItemSettings({ openAtLogin: enabled, type: 'mainAppService' });
    } else {
      app.setLoginItemSettings({ openAtLogin: enabled, path: process.execPath, args: [HIDDEN_ARG] });
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, message: `start at login: ${(err as Error).message}` };
  }
}

/** What the OS says (the user may have switched it off in the desktop's own settings). */
export function getStartAtLogin(): boolean {
  if (!app.isPackaged) return false;
  if (process.platform === 'linux') return isAutostartEnabled();
  if (process.platform === 'darwin') return app.getLoginItemSettings({ type: 'mainAppService' }).openAtLogin;
  return app.getLoginItemSettings({ path: process.execPath, args: [HIDDEN_ARG] }).openAtLogin;
}

/** The AppImage may have moved since the entry was written: write it again at each start. */
export function refreshStartAtLogin(): void {
  if (app.isPackaged && process.platform === 'linux' && isAutostartEnabled()) {
    enableAutostart({ exec: linuxExecutable(), args: [HIDDEN_ARG], name: app.getName() });
  }
}

export function launchedHidden(argv: readonly string[]): boolean {
  if (argv.includes(HIDDEN_ARG)) return true;
  if (process.platform === 'darwin' && app.isPackaged) {
    try {
      return app.getLoginItemSettings().wasOpenedAtLogin === true;
    } catch {
      return false;
    }
  }
  return false;
}
