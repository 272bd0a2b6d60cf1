// A STAND-IN for Electron's main-process API, for tests only: a recorded imitation, NOT Electron.
// It lets the built dist-electron/main.js run under plain Node with the real electron-store, agent
// core and simulator, and it lets a test drive what a user and the OS would do (app lifecycle
// events, clicks on the tray menu, IPC calls from a window or from a stranger) over the process's
// IPC channel (see ../host-driver.ts).
//
// What it does NOT prove: Chromium's own signal handling (the real binary may own SIGTERM), real IPC
// serialization and its sender objects, real tray rendering and AppIndicator behaviour, window
// painting, safeStorage's real keyrings, single-instance locking across real processes (imitated
// here with a lock file), packaged fuses and asar. Those need the real binary (e2e/electron.spec.ts).
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const env = process.env;
const packaged = env.STANDIN_PACKAGED === '1';
// `electron dist-electron/main.js` sets process.defaultApp; a packaged app has argv = [exe, ...args]
if (packaged) process.argv.splice(1, 1);
else process.defaultApp = true;
if (packaged) process.resourcesPath = env.STANDIN_RESOURCES ?? path.resolve('assets');

// ---- recording -----------------------------------------------------------------------------------
const calls = [];
function record(api, detail = {}) {
  const entry = { api, ...detail };
  calls.push(entry);
  if (process.connected) process.send({ type: 'call', call: entry });
}
function electronEvent() {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
  };
}

// ---- app -----------------------------------------------------------------------------------------
const paths = {
  home: os.homedir(),
  appData: path.join(os.homedir(), '.config'),
  temp: os.tmpdir(),
  exe: process.execPath,
  logs: path.join(os.homedir(), '.config', 'ATS Agent', 'logs'),
};
paths.userData = path.join(paths.appData, 'ATS Agent');
let lockFile = null;
let loginItem = { openAtLogin: false };

class App extends EventEmitter {
  isPackaged = packaged;
  #ready = false;
  #resolveReady = () => {};
  #whenReady = new Promise((resolve) => (this.#resolveReady = resolve));
  #quitting = false;

  getName() {
    return 'ATS Agent';
  }
  getVersion() {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  }
  getPath(name) {
    if (!(name in paths)) throw new Error(`stand-in: app.getPath('${name}') is not imitated`);
    return paths[name];
  }
  setPath(name, value) {
    record('app.setPath', { name, value });
    paths[name] = value;
  }
  setAppUserModelId(id) {
    record('app.setAppUserModelId', { id });
  }
  isReady() {
    return this.#ready;
  }
  whenReady() {
    return this.#whenReady;
  }
  /** the test fires it (`{cmd:'ready'}`): until then main.js waits, as before Chromium is up */
  fireReady() {
    if (this.#ready) return;
    this.#ready = true;
    record('app.ready');
    this.emit('ready', electronEvent(), {});
    this.#resolveReady();
  }
  /** imitated with an exclusive lock file in userData, released at exit */
  requestSingleInstanceLock() {
    const file = path.join(paths.userData, 'stand-in-single-instance.lock');
    mkdirSync(paths.userData, { recursive: true }); // Electron creates userData as it needs it
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
    } catch {
      const owner = Number(readFileSync(file, 'utf8'));
      let alive = false;
      try {
        process.kill(owner, 0);
        alive = true;
      } catch {
        // a stale lock: its owner is gone
      }
      if (alive) {
        record('app.requestSingleInstanceLock', { granted: false });
        return false;
      }
      rmSync(file, { force: true });
      return this.requestSingleInstanceLock();
    }
    lockFile = file;
    record('app.requestSingleInstanceLock', { granted: true });
    return true;
  }
  /** As Electron: before-quit (preventable), close every window (a prevented close cancels), will-quit, quit. */
  quit() {
    record('app.quit');
    if (this.#quitting) return;
    const before = electronEvent();
    this.emit('before-quit', before);
    if (before.defaultPrevented) return record('app.quit.cancelled', { by: 'before-quit' });
    for (const win of [...windows]) {
      win.close();
      if (!win.isDestroyed()) return record('app.quit.cancelled', { by: 'window close' });
    }
    const will = electronEvent();
    this.emit('will-quit', will);
    if (will.defaultPrevented) return record('app.quit.cancelled', { by: 'will-quit' });
    this.#quitting = true;
    // Electron ends its message loop soon after will-quit, not synchronously
    setImmediate(() => {
      this.emit('quit', electronEvent(), 0);
      exit(0);
    });
  }
  exit(code = 0) {
    record('app.exit', { code });
    exit(code);
  }
  focus() {
    record('app.focus');
  }
  getLoginItemSettings() {
    return { ...loginItem, wasOpenedAtLogin: false };
  }
  setLoginItemSettings(settings) {
    record('app.setLoginItemSettings', { settings });
    loginItem = { ...loginItem, ...settings };
  }
}
export const app = new App();

// Electron's message loop: the process lives until app.quit() or app.exit(), as the real one does
const messageLoop = setInterval(() => undefined, 1 << 30);

function exit(code) {
  clearInterval(messageLoop);
  if (lockFile) rmSync(lockFile, { force: true });
  process.exitCode = code;
  if (process.connected) process.send({ type: 'exit', code }, () => process.exit(code));
  else process.exit(code);
}

// ---- windows -------------------------------------------------------------------------------------
const windows = new Set();
let nextId = 1;

class WebContents extends EventEmitter {
  constructor(owner) {
    super();
    this.id = nextId++;
    this.owner = owner;
    this.url = '';
    this.sent = { count: 0, bytes: 0, types: [] };
    /** a page that stopped reading (`{cmd:'stallRenderer'}`): it acks nothing until it resumes */
    this.stalled = false;
    this.unacked = 0;
  }
  /** what the preload does (preload/index.ts): ack the events received, once per task */
  #ack() {
    if (this.stalled || this.unacked === 0 || this.owner.isDestroyed()) return;
    const count = this.unacked;
    this.unacked = 0;
    ipcMain.emit('agent:event-ack', { sender: this, senderFrame: this.mainFrame }, count);
  }
  setStalled(stalled) {
    this.stalled = stalled;
    this.#ack();
  }
  get mainFrame() {
    return { url: this.url, parent: null };
  }
  getURL() {
    return this.url;
  }
  getType() {
    return 'window';
  }
  isLoading() {
    return false;
  }
  isDestroyed() {
    return this.owner.isDestroyed();
  }
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
  send(channel, payload) {
    // structured clone, as Electron's IPC does (a function or a class instance would throw here)
    const copy = structuredClone(payload);
    this.sent.count += 1;
    this.sent.bytes += Buffer.byteLength(JSON.stringify(copy) ?? '');
    this.sent.types.push(`${channel}:${copy?.type ?? '?'}`);
    if (this.sent.types.length > 200) this.sent.types.shift();
    if (channel === 'agent:event' && this.unacked++ === 0) setTimeout(() => this.#ack(), 0);
  }
}

export class BrowserWindow extends EventEmitter {
  static getAllWindows() {
    return [...windows];
  }
  constructor(options = {}) {
    super();
    record('BrowserWindow', { options: { ...options, webPreferences: { ...options.webPreferences } } });
    this.id = nextId++;
    this.options = options;
    this.visible = false;
    this.minimized = false;
    this.destroyed = false;
    this.shows = 0;
    this.webContents = new WebContents(this);
    windows.add(this);
    app.emit('web-contents-created', electronEvent(), this.webContents);
  }
  #loaded(url) {
    this.webContents.url = url;
    setImmediate(() => {
      if (this.destroyed) return;
      this.webContents.emit('did-finish-load');
      this.emit('ready-to-show');
    });
    return Promise.resolve();
  }
  loadFile(file) {
    record('BrowserWindow.loadFile', { file });
    return this.#loaded(pathToFileURL(path.resolve(file)).href);
  }
  loadURL(url) {
    record('BrowserWindow.loadURL', { url });
    return this.#loaded(url);
  }
  show() {
    this.visible = true;
    this.shows += 1;
    record('BrowserWindow.show', { id: this.id });
    this.emit('show');
  }
  hide() {
    this.visible = false;
    record('BrowserWindow.hide', { id: this.id });
    this.emit('hide');
  }
  focus() {}
  isVisible() {
    return this.visible;
  }
  isMinimized() {
    return this.minimized;
  }
  restore() {
    this.minimized = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  close() {
    if (this.destroyed) return;
    const event = electronEvent();
    this.emit('close', event);
    if (!event.defaultPrevented) this.destroy();
  }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.visible = false;
    windows.delete(this);
    this.emit('closed');
  }
}

export const session = {
  defaultSession: {
    setPermissionRequestHandler: (h) => record('session.setPermissionRequestHandler', { set: typeof h }),
    setPermissionCheckHandler: (h) => record('session.setPermissionCheckHandler', { set: typeof h }),
    setDevicePermissionHandler: (h) => record('session.setDevicePermissionHandler', { set: typeof h }),
    webRequest: { onHeadersReceived: () => record('session.webRequest.onHeadersReceived') },
  },
};

// ---- IPC -----------------------------------------------------------------------------------------
class IpcMain extends EventEmitter {
  handlers = new Map();
  handle(channel, handler) {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    record('ipcMain.handle', { channel });
    this.handlers.set(channel, handler);
  }
  handleOnce(channel, handler) {
    this.handle(channel, (...a) => {
      this.handlers.delete(channel);
      return handler(...a);
    });
  }
  removeHandler(channel) {
    this.handlers.delete(channel);
  }
}
export const ipcMain = new IpcMain();

/** Who calls: our window's page, a webContents that is not ours, a subframe of ours, another page in ours. */
function senderEvent(from) {
  const win = [...windows][0];
  const stranger = new WebContents({ isDestroyed: () => false });
  switch (from) {
    case 'window':
      return { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    case 'subframe':
      return { sender: win.webContents, senderFrame: { url: win.webContents.url, parent: {} } };
    case 'other-page':
      return { sender: win.webContents, senderFrame: { url: 'https://attacker.example/', parent: null } };
    case 'stranger':
      stranger.url = win?.webContents.url ?? 'file:///index.html';
      return { sender: stranger, senderFrame: stranger.mainFrame };
    default:
      throw new Error(`stand-in: unknown sender ${from}`);
  }
}

// ---- tray, menus, notifications ------------------------------------------------------------------
const trays = [];

export class Tray extends EventEmitter {
  constructor(image) {
    super();
    record('Tray', { image: image?.path ?? null });
    this.image = image;
    this.tooltip = '';
    this.menu = null;
    this.destroyed = false;
    this.menusSet = 0;
    trays.push(this);
  }
  setImage(image) {
    record('Tray.setImage', { image: image?.path ?? null });
    this.image = image;
  }
  setToolTip(text) {
    this.tooltip = text;
  }
  setContextMenu(menu) {
    this.menusSet += 1;
    this.menu = menu;
  }
  destroy() {
    record('Tray.destroy');
    this.destroyed = true;
  }
  isDestroyed() {
    return this.destroyed;
  }
}

class MenuItem {
  constructor(options) {
    Object.assign(this, { type: 'normal', enabled: true, checked: false, ...options });
  }
}

export class Menu {
  constructor(items = []) {
    this.items = items;
  }
  static buildFromTemplate(template) {
    return new Menu(template.map((o) => new MenuItem(o)));
  }
  static setApplicationMenu(menu) {
    record('Menu.setApplicationMenu', { set: menu !== null });
  }
}

const notifications = [];
export class Notification extends EventEmitter {
  static isSupported() {
    return true;
  }
  constructor(options = {}) {
    super();
    this.options = options;
    this.shown = false;
    notifications.push(this);
  }
  show() {
    this.shown = true;
    record('Notification.show', { title: this.options.title, body: this.options.body });
  }
}

// ---- the rest ------------------------------------------------------------------------------------
const noKeyring = env.STANDIN_NO_KEYRING === '1';
const SEAL = Buffer.from('stand-in-sealed:');
export const safeStorage = {
  isEncryptionAvailable: () => !noKeyring,
  getSelectedStorageBackend: () => (noKeyring ? 'basic_text' : 'gnome_libsecret'),
  encryptString(text) {
    if (noKeyring) throw new Error('Encryption is not available.');
    return Buffer.concat([SEAL, Buffer.from(text).map((b) => b ^ 0x5a)]);
  },
  decryptString(buffer) {
    if (!buffer.subarray(0, SEAL.length).equals(SEAL)) throw new Error('Error while decrypting the ciphertext');
    return Buffer.from(buffer.subarray(SEAL.length).map((b) => b ^ 0x5a)).toString();
  },
};

export const powerMonitor = new EventEmitter();

export const nativeImage = {
  createFromPath: (p) => ({ path: p, isEmpty: () => !existsSync(p), getSize: () => ({ width: 16, height: 16 }) }),
  createEmpty: () => ({ path: null, isEmpty: () => true, getSize: () => ({ width: 0, height: 0 }) }),
};

const dialogs = [];
export const dialog = {
  showErrorBox(title, content) {
    dialogs.push({ title, content });
    record('dialog.showErrorBox', { title, content: String(content).slice(0, 2000) });
    process.stderr.write(`[stand-in dialog] ${title}: ${content}\n`);
  },
  showMessageBox: async (...a) => {
    record('dialog.showMessageBox', { options: a.at(-1) });
    return { response: 0, checkboxChecked: false };
  },
};

export const shell = {
  openPath: async (p) => {
    record('shell.openPath', { path: p });
    return '';
  },
  openExternal: async (url) => record('shell.openExternal', { url }),
  showItemInFolder: (p) => record('shell.showItemInFolder', { path: p }),
};

// ---- the test's side of the channel --------------------------------------------------------------
function menuOf(tray) {
  return (tray?.menu?.items ?? []).map(({ label, type, checked, enabled }) => ({ label, type, checked, enabled }));
}

function state() {
  const tray = trays.at(-1) ?? null;
  return {
    ready: app.isReady(),
    windows: [...windows].map((w) => ({
      id: w.id,
      visible: w.visible,
      shows: w.shows,
      url: w.webContents.url,
      webPreferences: { ...w.options.webPreferences },
      sent: { ...w.webContents.sent, types: [...w.webContents.sent.types] },
    })),
    tray: tray && {
      image: tray.image?.path ? path.basename(tray.image.path) : null,
      tooltip: tray.tooltip,
      menu: menuOf(tray),
      menusSet: tray.menusSet,
      destroyed: tray.destroyed,
    },
    notifications: notifications.map((n) => ({ title: n.options.title, body: n.options.body, shown: n.shown })),
    ipcChannels: [...ipcMain.handlers.keys()],
    dialogs: [...dialogs],
    loginItem: { ...loginItem },
  };
}

async function command(msg) {
  switch (msg.cmd) {
    case 'ready':
      app.fireReady();
      return null;
    case 'state':
      return state();
    case 'emit': {
      const event = electronEvent();
      const target =
        msg.target === 'app'
          ? app
          : msg.target === 'powerMonitor'
            ? powerMonitor
            : msg.target === 'window'
              ? [...windows][0]
              : null;
      if (!target) throw new Error(`stand-in: no ${msg.target} to emit on`);
      target.emit(msg.event, event, ...(msg.args ?? []));
      return { defaultPrevented: event.defaultPrevented };
    }
    case 'stallRenderer':
      for (const w of windows) w.webContents.setStalled(msg.stalled === true);
      return null;
    case 'closeWindow':
      [...windows][0]?.close();
      return null;
    case 'clickTray': {
      const tray = trays.at(-1);
      const item = tray?.menu?.items.find((i) => i.label === msg.label);
      if (!item) throw new Error(`stand-in: no tray menu item "${msg.label}"`);
      if (!item.enabled) throw new Error(`stand-in: tray menu item "${msg.label}" is disabled`);
      // Electron flips a checkbox before it calls click
      if (item.type === 'checkbox') item.checked = !item.checked;
      item.click?.(item, undefined, {});
      return null;
    }
    case 'clickNotification':
      notifications.at(msg.index ?? -1)?.emit('click', electronEvent());
      return null;
    case 'invoke': {
      const handler = ipcMain.handlers.get(msg.channel);
      if (!handler) throw new Error(`No handler registered for '${msg.channel}'`);
      return structuredClone(await handler(senderEvent(msg.from ?? 'window'), ...(msg.args ?? [])));
    }
    default:
      throw new Error(`stand-in: unknown command ${msg.cmd}`);
  }
}

if (process.connected) {
  process.on('message', (msg) => {
    if (!msg || typeof msg.id !== 'number') return;
    command(msg).then(
      (value) => process.send({ type: 'reply', id: msg.id, ok: true, value }),
      (err) => process.send({ type: 'reply', id: msg.id, ok: false, error: String(err?.message ?? err) }),
    );
  });
  // the channel must not keep a quitting app alive, nor die with it unnoticed
  process.channel?.unref();
  process.send({ type: 'loaded', pid: process.pid });
}

export default {
  app,
  BrowserWindow,
  Menu,
  Notification,
  Tray,
  dialog,
  ipcMain,
  nativeImage,
  powerMonitor,
  safeStorage,
  session,
  shell,
};
