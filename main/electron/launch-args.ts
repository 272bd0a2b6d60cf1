/** Arguments only the desktop app knows; main.ts strips them before running the headless agent. */

/** start in the tray, without showing the window (start at login) */
export const HIDDEN_ARG = '--hidden';
