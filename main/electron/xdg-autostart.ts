/**
 * Start at login on Linux: an XDG autostart entry, `$XDG_CONFIG_HOME/autostart/ats-agent.desktop`
 * (default `~/.config/autostart`), as node-auto-launch's Linux backend writes it. Pure Node (NO
 * electron) so that it unit-tests against a temporary HOME.
 *
 * Spec: https://specifications.freedesktop.org/autostart-spec/latest/ and the Desktop Entry spec's
 * "The Exec key" (quoting) and "Possible value types" (string escapes).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const AUTOSTART_FILE = 'ats-agent.desktop';

export interface AutostartLocation {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

export function autostartDir(loc: AutostartLocation = {}): string {
  const env = loc.env ?? process.env;
  const configHome =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(loc.home ?? env.HOME ?? os.homedir(), '.config');
  return path.join(configHome, 'autostart');
}

export function autostartFile(loc: AutostartLocation = {}): string {
  return path.join(autostartDir(loc), AUTOSTART_FILE);
}

/**
 * Quotes one Exec argument: arguments with reserved characters go in double quotes with `"`, `` ` ``,
 * `$` and `\` backslash-escaped; `%` is doubled (field codes). Then the whole value gets the
 * string-type escaping of the file format, which doubles every backslash once more.
 */
export function quoteExecArg(arg: string): string {
  const field = arg.replace(/%/g, '%%');
  const quoted = /^[A-Za-z0-9_@%+=:,./-]+$/.test(field) ? field : `"${field.replace(/(["`$\\])/g, '\\$1')}"`;
  return quoted;
}

function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

export interface AutostartEntry {
  /** the program: the AppImage ($APPIMAGE) or the installed executable */
  exec: string;
  args?: string[];
  name?: string;
  comment?: string;
  icon?: string;
}

export function desktopEntry(entry: AutostartEntry): string {
  const exec = [entry.exec, ...(entry.args ?? [])].map(quoteExecArg).join(' ');
  const lines = [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    `Name=${escapeValue(entry.name ?? 'ATS Agent')}`,
    `Comment=${escapeValue(entry.comment ?? 'ATS test-execution agent')}`,
    `Exec=${escapeValue(exec)}`,
    ...(entry.icon ? [`Icon=${escapeValue(entry.icon)}`] : []),
    'Terminal=false',
    'StartupNotify=false',
    'Hidden=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ];
  return lines.join('\n');
}

/** Writes (or rewrites: the AppImage may have moved) the autostart entry; returns its path. */
export function enableAutostart(entry: AutostartEntry, loc: AutostartLocation = {}): string {
  const file = autostartFile(loc);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, desktopEntry(entry), { mode: 0o644 });
  return file;
}

export function disableAutostart(loc: AutostartLocation = {}): void {
  rmSync(autostartFile(loc), { force: true });
}

/** Enabled when our file exists and the user has not switched it off in the desktop's settings. */
export function isAutostartEnabled(loc: AutostartLocation = {}): boolean {
  const file = autostartFile(loc);
  if (!existsSync(file)) return false;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  return !/^Hidden\s*=\s*true\s*$/im.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/im.test(text);
}
