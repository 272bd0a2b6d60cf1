/**
 * The tray icon: one image per state (Mattermost's state → image map), a tooltip with the state,
 * running tasks, CPU and memory, and the menu. The image changes only when the state does
 * (`setImage` is costly on Linux, electron#26603); the menu is rebuilt only when its contents change
 * and, on Linux (AppIndicator), set again after every change, since edits to a set menu don't show.
 */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import path from 'node:path';
import { trayImageFile } from './tray-icon-files.js';
import { TRAY_ICONS, type TrayIcon, type TrayState } from './tray-state.js';

export interface TrayActions {
  openDashboard(): void;
  openWorkFolder(): void;
  openLogs(): void;
  startAtLogin(): boolean;
  setStartAtLogin(enabled: boolean): void;
  pause(): void;
  resume(): void;
  quit(): void;
}

/** One image per state, the file this platform wants (tray-icon-files.ts). */
export function loadTrayImages(dir: string): Record<TrayIcon, NativeImage> {
  const images = {} as Record<TrayIcon, NativeImage>;
  for (const icon of TRAY_ICONS) {
    const { file, template } = trayImageFile(process.platform, icon);
    const image = nativeImage.createFromPath(path.join(dir, file));
    if (image.isEmpty()) console.warn(`ats-agent: tray icon ${file} missing in ${dir}`);
    if (template) image.setTemplateImage(true);
    images[icon] = image;
  }
  return images;
}

export class AgentTray {
  private readonly tray: Tray;
  private readonly images: Record<TrayIcon, NativeImage>;
  private icon: TrayIcon;
  private tooltip = '';
  private status = '';
  private paused = false;
  private draining = false;
  private menuKey = '';
  private menu: Menu | null = null;

  constructor(
    iconsDir: string,
    private readonly actions: TrayActions,
    initial: TrayState,
  ) {
    this.images = loadTrayImages(iconsDir);
    this.icon = initial.icon;
    this.tray = new Tray(this.images[initial.icon]);
    this.tray.setToolTip((this.tooltip = initial.tooltip));
    this.status = initial.status;
    this.paused = initial.paused;
    this.draining = initial.draining;
    // Windows / macOS: a click opens the dashboard (Linux AppIndicator ignores clicks: menu only)
    if (process.platform !== 'linux') this.tray.on('click', () => actions.openDashboard());
    this.refreshMenu();
  }

  update(state: TrayState): void {
    if (state.icon !== this.icon) {
      this.icon = state.icon;
      this.tray.setImage(this.images[state.icon]);
    }
    if (state.tooltip !== this.tooltip) {
      this.tooltip = state.tooltip;
      this.tray.setToolTip(state.tooltip);
    }
    if (state.status !== this.status || state.paused !== this.paused || state.draining !== this.draining) {
      this.status = state.status;
      this.paused = state.paused;
      this.draining = state.draining;
      this.refreshMenu();
    }
  }

  /**
   * Rebuilds and sets the menu when something in it changed (status line, start-at-login check), or
   * always with `force`: after a click on the checkbox, which Electron has already flipped on its own.
   */
  refreshMenu(force = false): void {
    const startAtLogin = this.actions.startAtLogin();
    const key = `${this.status}\u0000${startAtLogin}\u0000${this.paused}\u0000${this.draining}`;
    if (key === this.menuKey && !force) return;
    this.menuKey = key;
    this.menu = Menu.buildFromTemplate(this.template(startAtLogin));
    this.tray.setContextMenu(this.menu);
  }

  /** labels of the current menu, for tests */
  menuLabels(): string[] {
    return this.template(this.actions.startAtLogin())
      .map((item) => item.label)
      .filter((label): label is string => typeof label === 'string');
  }

  /** the menu as it is set now (what a user would see), for tests */
  menuItems(): Array<{ label: string; checked: boolean }> {
    return (this.menu?.items ?? []).map((i) => ({ label: i.label, checked: i.checked }));
  }

  /** clicks an item of the set menu as a user would (Electron flips a checkbox first), for tests */
  clickItem(label: string): void {
    const item = this.menu?.items.find((i) => i.label === label);
    if (!item) throw new Error(`no tray menu item ${label}`);
    item.click();
  }

  get currentIcon(): TrayIcon {
    return this.icon;
  }

  destroy(): void {
    this.tray.destroy();
  }

  private template(startAtLogin: boolean): MenuItemConstructorOptions[] {
    const a = this.actions;
    return [
      { label: this.status, enabled: false },
      { type: 'separator' },
      { label: 'Open dashboard', click: () => a.openDashboard() },
      { label: 'Open work folder', click: () => a.openWorkFolder() },
      { label: 'Open logs', click: () => a.openLogs() },
      { type: 'separator' },
      // the agent's state decides the label, so the tray and the window always offer the same
      this.paused
        ? { label: 'Resume', enabled: !this.draining, click: () => a.resume() }
        : { label: 'Pause', click: () => a.pause() },
      { type: 'separator' },
      {
        label: 'Start at login',
        type: 'checkbox',
        checked: startAtLogin,
        click: (item) => {
          a.setStartAtLogin(item.checked);
          this.refreshMenu(true); // the real state, not the flipped checkbox, until the change is done
        },
      },
      { type: 'separator' },
      { label: 'Quit', click: () => a.quit() },
    ];
  }
}
