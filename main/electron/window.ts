/**
 * The dashboard window, locked down per Electron's security checklist (docs/tutorial/security.md):
 * context isolation, sandbox, no Node integration, web security, a preload that exposes one small
 * API; no navigation, no new windows, no webviews, every permission denied. The CSP is a <meta> in
 * renderer/index.html (file:// pages get no headers); the dev server also gets a header CSP.
 */
import { BrowserWindow, app, session, type Session, type WebContents, type WebPreferences } from 'electron';
import path from 'node:path';

export interface AppPaths {
  /** the app's root: the repo in development, resources/app.asar when packaged */
  root: string;
  /** dist/index.html */
  indexHtml: string;
  /** dist-electron/preload.cjs */
  preload: string;
  /** assets/tray in development, resources/tray when packaged (extraResources) */
  trayIcons: string;
  /** the window icon (Linux) */
  appIcon: string;
}

export function appPaths(root: string, packaged: boolean, resourcesPath: string): AppPaths {
  return {
    root,
    indexHtml: path.join(root, 'dist', 'index.html'),
    preload: path.join(root, 'dist-electron', 'preload.cjs'),
    trayIcons: packaged ? path.join(resourcesPath, 'tray') : path.join(root, 'assets', 'tray'),
    appIcon: packaged ? path.join(resourcesPath, 'icon.png') : path.join(root, 'assets', 'icon.png'),
  };
}

export interface MainWindowOptions {
  paths: AppPaths;
  devServerUrl: string | null;
  /** false when started hidden (start at login): the window waits in the tray */
  show: boolean;
  /** true once the app is quitting: until then, closing the window hides it to the tray */
  isQuitting: () => boolean;
}

/** The webPreferences each of our windows was created with (Electron offers no getter): for e2e checks. */
const preferencesOf = new WeakMap<BrowserWindow, Readonly<WebPreferences>>();
export function webPreferencesOf(win: BrowserWindow): Readonly<WebPreferences> | undefined {
  return preferencesOf.get(win);
}

export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const webPreferences: WebPreferences = {
    preload: opts.paths.preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    spellcheck: false,
    // backgroundThrottling stays on: a hidden dashboard must not burn CPU (the IPC host stops
    // sending events to hidden windows and sends `reset` when one is shown again)
  };
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'ATS Agent',
    icon: process.platform === 'linux' ? opts.paths.appIcon : undefined,
    autoHideMenuBar: true,
    webPreferences,
  });
  preferencesOf.set(win, Object.freeze({ ...webPreferences }));
  if (opts.show) win.once('ready-to-show', () => win.show());
  win.on('close', (event) => {
    if (opts.isQuitting()) return;
    event.preventDefault();
    win.hide();
  });
  hardenWebContents(win.webContents);
  const loading = opts.devServerUrl ? win.loadURL(opts.devServerUrl) : win.loadFile(opts.paths.indexHtml);
  loading.catch((err: unknown) => console.error('ats-agent: the window could not load its page', err));
  return win;
}

export function showWindow(win: BrowserWindow): void {
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

/** Checklist #13, #14 and webviews: the page can go nowhere and open nothing. */
export function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** For every webContents the app ever creates (devtools excepted), the same guards. */
export function hardenAllWebContents(): void {
  app.on('web-contents-created', (_event, contents) => {
    if (contents.getType() === 'window' || contents.getType() === 'webview') hardenWebContents(contents);
  });
}

/** Checklist #5: the dashboard needs no permission (camera, notifications, clipboard reads...). */
export function hardenSession(ses: Session = session.defaultSession, devServerUrl: string | null = null): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  if (devServerUrl) {
    // Development only: the Vite dev server serves over http, so a header CSP can back the <meta>
    // one (and add frame-ancestors, which a <meta> cannot). Lenient enough for HMR.
    const origin = new URL(devServerUrl).origin;
    const ws = origin.replace(/^http/, 'ws');
    const csp = [
      "default-src 'self'",
      "script-src 'self' 'unsafe-inline'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      `connect-src 'self' ${ws}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    ses.webRequest.onHeadersReceived({ urls: [`${origin}/*`] }, (details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
    });
  }
}
