/**
 * Which file of the tray icons folder (assets/tray, resources/tray when packaged) each platform shows
 * for a state. Pure (NO electron) so that the choice unit-tests in Node against the shipped files.
 *   macOS:   <state>Template.png (+ @2x): black + alpha, tinted by the menu bar in light and dark mode
 *   Windows: <state>.ico with 16/20/24/32 px frames: the shell picks the one for the display's scaling
 *   Linux:   <state>.png (+ @2x), in colour (StatusNotifierItem hosts don't tint)
 * nativeImage.createFromPath picks up a `@2x` file beside the named one by itself.
 */
import type { TrayIcon } from './tray-state.js';

export interface TrayImageFile {
  file: string;
  /** macOS: mark the image as a template (state by shape, the system supplies the colour) */
  template: boolean;
}

export function trayImageFile(platform: NodeJS.Platform, icon: TrayIcon): TrayImageFile {
  if (platform === 'darwin') return { file: `${icon}Template.png`, template: true };
  if (platform === 'win32') return { file: `${icon}.ico`, template: false };
  return { file: `${icon}.png`, template: false };
}
