/**
 * ATS Agent, desktop: the thin Electron host around the same core the headless CLI runs. It owns
 * the app lifecycle (single instance, tray, window that closes to the tray, graceful quit), wires
 * the AgentHost (agent-host.ts: first run, agent replacement) to the IPC contract, and nothing more.
 *
 * `--no-gui` (or `--token` on Linux without a display): the GUI never starts; the headless entry is
 * run with ELECTRON_RUN_AS_NODE and its exit code is ours. A safety net only: without a display
 * Electron aborts before this file runs, so servers use the launcher script (assets/bin/ats-agent).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, Notification, app, dialog, shell } from 'electron';
import type { AgentEvent, CommandResult, TaskView } from '../core/api.js';
import { AgentHost } from './agent-host.js';
import { HIDDEN_ARG, getStartAtLogin, launchedHidden, refreshStartAtLogin, setStartAtLogin } from './autostart.js';
import { forwardAgentEvents, registerAgentIpc, resetOnShow } from './ipc-handlers.js';
import { ElectronSettingsBackend } from './settings-store.js';
import { AgentTray } from './tray.js';
import { TrayModel } from './tray-state.js';
import {
  appPaths,
  createMainWindow,
  hardenAllWebContents,
  hardenSession,
  showWindow,
  webPreferencesOf,
} from './window.js';

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

function startGui(args: readonly string[]): void {
  // tests and side-by-side profiles: an isolated userData (settings, single-instance lock)
  const userData = process.env.ATS_AGENT_USER_DATA_DIR;
  if (userData) app.setPath('userData', path.resolve(userData));
  if (!app.requestSingleInstanceLock()) {
    app.quit(); // the first instance gets 'second-instance' and shows its window
    return;
  }
  if (process.platform === 'win32') app.setAppUserModelId('com.ats.agent');

  const paths = appPaths(APP_ROOT, app.isPackaged, process.resourcesPath);
  const devServerUrl = !app.isPackaged && process.env.VITE_DEV_SERVER_URL ? process.env.VITE_DEV_SERVER_URL : null;
  const startHidden = launchedHidden(args);
  const windows = new Set<BrowserWindow>();
  const ourWindows = () => [...windows].filter((w) => !w.isDestroyed());
  let quitting = false;
  let mainWindow: BrowserWindow | null = null;
  let tray: AgentTray | null = null;

  const openDashboard = () => {
    if (!mainWindow || mainWindow.isDestroyed()) mainWindow = makeWindow(true);
    else showWindow(mainWindow);
  };
  app.on('second-instance', () => app.isReady() && openDashboard());

  const backend = new ElectronSettingsBackend();
  const host = new AgentHost({
    backend,
    console: !app.isPackaged,
    services: {
      openPath: async (dir) => {
        const error = await shell.openPath(dir);
        return error ? { ok: false, message: `${dir}: ${error}` } : { ok: true };
      },
      setStartAtLogin: (enabled) => {
        const result = setStartAtLogin(enabled);
        tray?.refreshMenu();
        return result;
      },
    },
  });

  function makeWindow(show: boolean): BrowserWindow {
    const win = createMainWindow({ paths, devServerUrl, show, isQuitting: () => quitting });
    windows.add(win);
    resetOnShow(win);
    win.on('closed', () => {
      windows.delete(win);
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  }

  // Tray: a small model fed by events, so that a heartbeat never copies a whole snapshot.
  const trayModel = new TrayModel();
  const notified = new Set<string>();
  const FAILED: ReadonlySet<TaskView['phase']> = new Set(['failed', 'error', 'timeout']);
  const onEvent = (event: AgentEvent) => {
    if (event.type === 'reset') {
      // a snapshot that fails (the agent mid-replacement) leaves the tray as it was until the next event
      void host.api
        .getSnapshot()
        .then((s) => {
          trayModel.reset(s);
          tray?.update(trayModel.state());
        })
        .catch(() => undefined);
      return;
    }
    if (trayModel.apply(event)) tray?.update(trayModel.state());
    if (event.type === 'task' && FAILED.has(event.task.phase) && !notified.has(event.task.taskId)) {
      notified.add(event.task.taskId);
      if (notified.size > 1000) notified.delete(notified.values().next().value!);
      notifyFailure(event.task);
    }
  };
  const notifyFailure = (task: TaskView) => {
    if (!host.gui().notifyOnFailure || !Notification.isSupported()) return;
    const what =
      task.phase === 'timeout'
        ? 'timed out'
        : task.phase === 'error'
          ? 'could not run'
          : `failed (exit ${task.exitCode ?? '?'})`;
    const n = new Notification({
      title: `Task ${task.taskId} ${what}`,
      body: task.error ?? task.command.slice(0, 200),
      silent: false,
    });
    n.on('click', openDashboard);
    n.show();
  };

  /** Tray and app callbacks return nothing: what they start says here when it fails. */
  const background = (what: string, work: Promise<unknown>): void => {
    work.catch((err: unknown) => console.error(`ats-agent: ${what} failed`, err));
  };

  const toggleStartAtLogin = async (enabled: boolean) => {
    const result: CommandResult = await host.api.updateSettings({ startAtLogin: enabled });
    if (!result.ok) console.warn(`ats-agent: ${result.message}`);
    tray?.refreshMenu();
  };

  const quit = async () => {
    if (quitting) return;
    quitting = true;
    tray?.update({ icon: 'offline', tooltip: 'ATS Agent — stopping', status: 'ATS Agent — stopping' });
    try {
      await host.shutdown(); // tasks are stopped and reported, the connection closes with 1000
    } catch (err) {
      console.error('ats-agent: shutdown failed', err);
    }
    tray?.destroy();
    app.quit();
  };
  // Quit from the OS (Cmd+Q, logout): run the graceful shutdown first, then quit for real.
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    background('quitting', quit());
  });
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => undefined);
  app.on('activate', () => openDashboard());

  hardenAllWebContents();
  void app
    .whenReady()
    .then(async () => {
      hardenSession(undefined, devServerUrl);
      registerAgentIpc({ api: host.api, trusted: { indexHtml: paths.indexHtml, devServerUrl }, windows: ourWindows });
      host.subscribe(onEvent);
      forwardAgentEvents(host.api, ourWindows);
      await host.start();
      trayModel.reset(await host.api.getSnapshot());
      refreshStartAtLogin();
      tray = new AgentTray(
        paths.trayIcons,
        {
          openDashboard,
          openWorkFolder: () => background('opening the work folder', host.openPath('work-dir')),
          openLogs: () => background('opening the logs', host.openPath('logs')),
          startAtLogin: () => getStartAtLogin(),
          setStartAtLogin: (enabled) => background('changing start at login', toggleStartAtLogin(enabled)),
          quit: () => background('quitting', quit()),
        },
        trayModel.state(),
      );
      // First run always shows the window: the setup form is in it. A second launch during start-up
      // may have opened it already.
      const show = !startHidden || !host.configured;
      if (!mainWindow || mainWindow.isDestroyed()) mainWindow = makeWindow(show);
      if (process.env.ATS_AGENT_E2E === '1') {
        // Playwright's electronApp.evaluate() reaches main-process state through this, in tests only.
        Object.assign(globalThis, {
          __atsAgentE2E: {
            trayMenuLabels: () => tray?.menuLabels() ?? [],
            trayIcon: () => tray?.currentIcon ?? null,
            webPreferences: () => ourWindows().map((w) => webPreferencesOf(w) ?? null),
            isQuitting: () => quitting,
          },
        });
      }
    })
    .catch((err: unknown) => {
      // without a tray or a window nobody could quit it: say why and leave
      dialog.showErrorBox('ATS Agent cannot start', (err as Error)?.stack ?? String(err));
      app.exit(1);
    });
}

const args = userArgs(process.argv);
if (wantsHeadless(args)) runHeadless(args);
else startGui(args);
