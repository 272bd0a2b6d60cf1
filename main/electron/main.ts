/**
 * ATS Agent, desktop: the Electron entry. It decides between the two ways the app runs and loads
 * only what that way needs:
 *
 * - the GUI (gui.ts, imported dynamically): single instance, tray, the window that closes to the
 *   tray, graceful quit, the AgentHost wired to the IPC contract;
 * - `--no-gui` (or `--token` on Linux without a display): the headless entry run with
 *   ELECTRON_RUN_AS_NODE, each signal we get forwarded once, its exit code ours. Nothing of the GUI
 *   is loaded: electron-store's exit hook (when-exit) re-raises SIGTERM, which doubled the forward
 *   and made the agent take it as "force". A safety net only: without a display Electron aborts
 *   before this file runs, so servers use the launcher script (assets/bin/ats-agent).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, dialog } from 'electron';
import { HIDDEN_ARG } from './launch-args.js';

/** dist-electron/main.js → the app root (the repo, or resources/app.asar) */
const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(APP_ROOT, 'dist-electron', 'cli.js');
const GUI_ONLY_ARGS = new Set([HIDDEN_ARG]);

/** The user's arguments: what follows the app path in a development run (`electron dist-electron/main.js ...`). */
function userArgs(argv: readonly string[]): string[] {
  if (!process.defaultApp) return argv.slice(1);
  const entries = new Set([
    APP_ROOT,
    path.join(APP_ROOT, 'dist-electron', 'main.js'),
    path.join(APP_ROOT, 'dist-electron'),
  ]);
  const at = argv.findIndex((a, i) => i > 0 && !a.startsWith('-') && entries.has(path.resolve(a)));
  return argv.slice(at >= 0 ? at + 1 : 2);
}

function wantsHeadless(args: readonly string[]): boolean {
  if (args.includes('--no-gui')) return true;
  const hasToken = args.some(
    (a) => a === '--token' || a.startsWith('--token=') || a === '--token-file' || a.startsWith('--token-file='),
  );
  const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
  return hasToken && noDisplay;
}

function runHeadless(args: readonly string[]): void {
  const child = spawn(process.execPath, [CLI, ...args.filter((a) => !GUI_ONLY_ARGS.has(a))], {
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    windowsHide: true,
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('error', (err) => {
    process.stderr.write(`ats-agent: cannot run the headless agent (${CLI}): ${err.message}\n`);
    app.exit(1);
  });
  child.on('exit', (code, signal) => app.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
}

const args = userArgs(process.argv);
if (wantsHeadless(args)) runHeadless(args);
else
  // the GUI's modules load only here: the headless path needs none of them
  void import('./gui.js').then(
    ({ startGui }) => startGui(args, APP_ROOT),
    (err: unknown) => {
      dialog.showErrorBox('ATS Agent cannot start', (err as Error)?.stack ?? String(err));
      app.exit(1);
    },
  );
