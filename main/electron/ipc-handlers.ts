/**
 * The main-process end of the IPC contract. Every channel goes through one wrapper (GitHub Desktop's
 * `safeListener` + `isTrustedIPCSender` model) that
 *   (a) rejects untrusted senders: the webContents must be one of our windows and the sending frame
 *       its main frame, showing our own page (file:// dist/index.html, or the dev server's origin);
 *   (b) hands the call to the one dispatcher (core/api-dispatch.ts), which parses the arguments with
 *       zod — a compromised page is assumed — and only then calls the AgentApi.
 * Events go out on 'agent:event', payload only, to our windows.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { dispatchCall } from '../core/api-dispatch.js';
import type { AgentApi, AgentEvent } from '../core/api.js';
import {
  AGENT_CHANNELS,
  AGENT_EVENT_CHANNEL,
  AGENT_METHODS,
  type AgentMethod,
  type MainToRendererChannels,
  type RequestResponseChannels,
} from './ipc-contract.js';
import { isTrustedSenderUrl, type TrustedOrigins } from './ipc-validation.js';

export interface IpcHostOptions {
  api: AgentApi;
  trusted: TrustedOrigins;
  /** our windows, the only ones that may call and that receive events */
  windows: () => BrowserWindow[];
}

export class UntrustedSenderError extends Error {
  constructor() {
    super('IPC refused: the sender is not the ATS Agent dashboard');
    this.name = 'UntrustedSenderError';
  }
}

export function isTrustedSender(event: IpcMainInvokeEvent, opts: Pick<IpcHostOptions, 'trusted' | 'windows'>): boolean {
  const contents = event.sender;
  if (!opts.windows().some((w) => !w.isDestroyed() && w.webContents === contents)) return false;
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false; // gone, or a subframe: never ours
  return isTrustedSenderUrl(frame.url, opts.trusted);
}

/** Typed registration over the channel map: the handler's args and result follow the contract. */
function handle<C extends keyof RequestResponseChannels>(
  channel: C,
  listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => ReturnType<RequestResponseChannels[C]>,
): void {
  ipcMain.handle(channel, listener);
}

/** Registers a handler per call; returns a function that removes them. */
export function registerAgentIpc(opts: IpcHostOptions): () => void {
  for (const method of AGENT_METHODS) {
    const channel = AGENT_CHANNELS[method];
    handle(channel, (async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      if (!isTrustedSender(event, opts)) {
        console.warn(`ats-agent: refused ${channel} from ${event.senderFrame?.url ?? 'a gone frame'}`);
        throw new UntrustedSenderError();
      }
      const answer = await dispatchCall(opts.api, method satisfies AgentMethod, args);
      if (!answer.ok) throw new Error(answer.error);
      return answer.result;
    }) as never);
  }
  return () => AGENT_METHODS.forEach((m) => ipcMain.removeHandler(AGENT_CHANNELS[m]));
}

function send<C extends keyof MainToRendererChannels>(
  contents: WebContents,
  channel: C,
  payload: MainToRendererChannels[C],
): void {
  contents.send(channel, payload);
}

/**
 * Forwards the host's events to our visible windows. A hidden window (closed to the tray) gets
 * nothing, which keeps an idle tray app cheap; when it is shown again it gets `{type:'reset'}` and
 * fetches a fresh snapshot.
 */
/** Windows that were skipped while hidden or loading: they need a fresh snapshot when shown. */
const missedEvents = new WeakSet<BrowserWindow>();

export function forwardAgentEvents(api: AgentApi, windows: () => BrowserWindow[]): () => void {
  const unsubscribe = api.subscribe((event: AgentEvent) => {
    for (const win of windows()) {
      if (win.isDestroyed()) continue;
      if (!win.isVisible() || win.webContents.isLoading()) missedEvents.add(win);
      else send(win.webContents, AGENT_EVENT_CHANNEL, event);
    }
  });
  return unsubscribe;
}

/**
 * Call for every window: on show, a reset only if it missed events while hidden, so that reopening
 * from the tray neither refetches for nothing nor throws away a settings form being edited.
 */
export function resetOnShow(win: BrowserWindow): void {
  win.on('show', () => {
    if (win.isDestroyed() || !missedEvents.has(win)) return;
    missedEvents.delete(win);
    send(win.webContents, AGENT_EVENT_CHANNEL, { type: 'reset' });
  });
}
