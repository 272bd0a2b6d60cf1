/**
 * The desktop app proper: single instance, tray, the window that closes to the tray, graceful quit
 * (tray Quit, the OS's quit, SIGTERM/SIGINT and the session's end all take the same path). Loaded by
 * main.ts only on the GUI path, so that `--no-gui` loads none of it (electron-store among others,
 * whose exit hooks re-raise SIGTERM).
 */
import path from 'node:path';
import { BrowserWindow, Notification, app, dialog, powerMonitor, shell } from 'electron';
import type { AgentEvent, AlertView, CommandResult, TaskView } from '../core/api.js';
import { AgentHost } from './agent-host.js';
import { getStartAtLogin, launchedHidden, refreshStartAtLogin, setStartAtLogin } from './autostart.js';
import { forwardAgentEvents, registerAgentIpc, resetOnShow } from './ipc-handlers.js';
import { ElectronSettingsBackend } from './settings-store.js';
import { AgentTray } from './tray.js';
import { AlertNotices, TrayModel, alertNotice } from './tray-state.js';
import {
  appPaths,
  createMainWindow,
  hardenAllWebContents,
  hardenSession,
  showWindow,
  webPreferencesOf,
} from './window.js';

export function startGui(args: readonly string[], APP_ROOT: string): void {
  // tests and side-by-side profiles: an isolated userData (settings, single-instance lock)
  const userData = process.env.ATS_AGENT_USER_DATA_DIR;
  if (userData) app.setPath('userData', path.resolve(userData));
  if (!app.requestSingleInstanceLock()) {
    app.quit(); // the first instance gets 'second-instance' and shows its window
    return;
  }
  if (process.platform === 'win32') app.setAppUserModelId('com.ats.agent');

  /** Tray and app callbacks return nothing: what they start says here when it fails. */
  const background = (what: string, work: Promise<unknown>): void => {
    work.catch((err: unknown) => console.error(`ats-agent: ${what} failed`, err));
  };
  /** An AgentApi command refused (`ok: false`) counts as a failure for `background`. */
  const commanded = async (result: Promise<CommandResult>): Promise<void> => {
    const r = await result;
    if (!r.ok) throw new Error(r.message ?? 'refused');
  };

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
      showItemInFolder: async (file) => {
        shell.showItemInFolder(file);
        return { ok: true };
      },
      setStartAtLogin: (enabled) => {
        const result = setStartAtLogin(enabled);
        tray?.refreshMenu(true);
        return result;
      },
      getStartAtLogin: () => getStartAtLogin(),
      // the window's Quit is the tray's: the whole app goes (quit is defined below, called later)
      quit: () => background('quitting', quit()),
    },
  });

  function makeWindow(show: boolean): BrowserWindow {
    const win = createMainWindow({ paths, devServerUrl, show, isQuitting: () => quitting });
    windows.add(win);
    resetOnShow(win);
    // Windows: the session ends (logoff, shutdown); the process ends soon after this event
    win.on('session-end', () => background('quitting', quit()));
    win.on('closed', () => {
      windows.delete(win);
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  }

  // Tray: a small model fed by events, so that a heartbeat never copies a whole snapshot.
  const trayModel = new TrayModel();
  const alertNotices = new AlertNotices();
  const notified = new Set<string>();
  const FAILED: ReadonlySet<TaskView['phase']> = new Set(['failed', 'error', 'timeout']);
  const onEvent = (event: AgentEvent) => {
    if (event.type === 'reset') {
      // a snapshot that fails (the agent mid-replacement) leaves the tray as it was until the next event
      void host.api
        .getSnapshot()
        .then((s) => {
          trayModel.reset(s);
          alertNotices.reset(s.alerts);
          tray?.update(trayModel.state());
        })
        .catch(() => undefined);
      return;
    }
    if (trayModel.apply(event)) tray?.update(trayModel.state());
    if (event.type === 'metrics') for (const alert of alertNotices.newlyFiring(event.alerts)) notifyAlert(alert);
    if (event.type === 'task' && FAILED.has(event.task.phase) && !notified.has(event.task.taskId)) {
      notified.add(event.task.taskId);
      if (notified.size > 1000) notified.delete(notified.values().next().value!);
      notifyFailure(event.task);
    }
  };
  // an alert is the operator's own threshold: told always, not only with notifyOnFailure
  const notifyAlert = (alert: AlertView) => {
    if (!Notification.isSupported()) return;
    const n = new Notification({ ...alertNotice(alert), silent: false });
    n.on('click', openDashboard);
    n.show();
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

  // The tray's checkbox flips itself on click: the menu is rebuilt from what the OS says, and a
  // failure is shown (here, and in the settings view through the host).
  const toggleStartAtLogin = async (enabled: boolean) => {
    const result: CommandResult = await host.api.updateSettings({ startAtLogin: enabled });
    tray?.refreshMenu(true);
    if (result.ok) return;
    console.warn(`ats-agent: ${result.message}`);
    if (!Notification.isSupported()) return;
    const n = new Notification({
      title: 'Start at login could not be changed',
      body: result.message ?? 'unknown error',
    });
    n.on('click', openDashboard);
    n.show();
  };

  const quit = async () => {
    if (quitting) return;
    quitting = true;
    tray?.update({
      icon: 'offline',
      tooltip: 'ATS Agent — stopping',
      status: 'ATS Agent — stopping',
      paused: false,
      draining: false,
    });
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
  // A service manager's stop, Ctrl+C in a terminal, the OS session ending: the same graceful quit.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => background('quitting', quit()));
  // Linux and macOS: the OS is shutting down or rebooting; preventDefault asks it to wait for us.
  // (the typings omit the event argument that the docs describe)
  powerMonitor.on('shutdown', (...args: unknown[]) => {
    (args[0] as Partial<Electron.Event> | undefined)?.preventDefault?.();
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
      const first = await host.api.getSnapshot();
      trayModel.reset(first);
      alertNotices.reset(first.alerts);
      refreshStartAtLogin();
      tray = new AgentTray(
        paths.trayIcons,
        {
          openDashboard,
          openWorkFolder: () => background('opening the work folder', host.openPath('work-dir')),
          openLogs: () => background('opening the logs', host.openPath('logs')),
          startAtLogin: () => getStartAtLogin(),
          setStartAtLogin: (enabled) => background('changing start at login', toggleStartAtLogin(enabled)),
          pause: () => background('pausing', commanded(host.api.pause())),
          resume: () => background('resuming', commanded(host.api.resume())),
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
            trayMenu: () => tray?.menuItems() ?? [],
            clickTray: (label: string) => tray?.clickItem(label),
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
