/**
 * The main-process end of the IPC contract. Every channel goes through one wrapper (GitHub Desktop's
 * `safeListener` + `isTrustedIPCSender` model) that
 *   (a) rejects untrusted senders: the webContents must be one of our windows and the sending frame
 *       its main frame, showing our own page (file:// dist/index.html, or the dev server's origin);
 *   (b) hands the call to the one dispatcher (core/api-dispatch.ts), which parses the arguments with
 *       zod — a compromised page is assumed — and only then calls the AgentApi.
 * Events go out on 'agent:event', payload only, to our windows.
 */
import { ipcMain, type BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { dispatchCall } from '../core/api-dispatch.js';
import type { AgentApi, AgentEvent } from '../core/api.js';
import {
  AGENT_CHANNELS,
  AGENT_EVENT_ACK_CHANNEL,
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

/**
 * The dashboard's cap (core/dashboard/server.ts, MAX_BUFFERED_BYTES): a window further behind than
 * this gets nothing more until it has caught up, and then a `reset` (it refetches the snapshot), as a
 * browser that the dashboard disconnected does when it reconnects. "Behind" = sent and not yet acked
 * by the preload (AGENT_EVENT_ACK_CHANNEL): Electron's IPC itself gives no backpressure.
 */
export const MAX_EVENT_BACKLOG_BYTES = 4 * 1024 * 1024;

interface Backlog {
  /** sizes of the events sent and not yet acked, oldest first from `head` */
  sizes: number[];
  head: number;
  bytes: number;
  stalled: boolean;
}
const backlogs = new WeakMap<WebContents, Backlog>();

function backlogOf(contents: WebContents): Backlog {
  let backlog = backlogs.get(contents);
  if (!backlog) {
    backlog = { sizes: [], head: 0, bytes: 0, stalled: false };
    backlogs.set(contents, backlog);
    // a reloaded page will never ack what its predecessor was sent
    contents.on('did-finish-load', () => backlogs.delete(contents));
  }
  return backlog;
}

function send<C extends keyof MainToRendererChannels>(
  contents: WebContents,
  channel: C,
  payload: MainToRendererChannels[C],
  size = Buffer.byteLength(JSON.stringify(payload)),
): void {
  const backlog = backlogOf(contents);
  backlog.sizes.push(size);
  backlog.bytes += size;
  contents.send(channel, payload);
}

function acknowledge(contents: WebContents, count: unknown, maxBytes: number): void {
  const backlog = backlogs.get(contents);
  if (!backlog || typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) return;
  const end = Math.min(backlog.head + count, backlog.sizes.length);
  for (; backlog.head < end; backlog.head++) backlog.bytes -= backlog.sizes[backlog.head]!;
  if (backlog.head > 1024 && backlog.head * 2 > backlog.sizes.length) {
    backlog.sizes = backlog.sizes.slice(backlog.head);
    backlog.head = 0;
  }
  if (backlog.stalled && backlog.bytes <= maxBytes / 2) {
    backlog.stalled = false;
    send(contents, AGENT_EVENT_CHANNEL, { type: 'reset' });
  }
}

/**
 * Forwards the host's events to our visible windows. A hidden window (closed to the tray) gets
 * nothing, which keeps an idle tray app cheap; when it is shown again it gets `{type:'reset'}` and
 * fetches a fresh snapshot. A window that falls MAX_EVENT_BACKLOG_BYTES behind is skipped likewise.
 */
/** Windows that were skipped while hidden or loading: they need a fresh snapshot when shown. */
const missedEvents = new WeakSet<BrowserWindow>();

export function forwardAgentEvents(
  api: AgentApi,
  windows: () => BrowserWindow[],
  maxBacklogBytes = MAX_EVENT_BACKLOG_BYTES,
): () => void {
  const onAck = (event: IpcMainEvent, count: unknown) => acknowledge(event.sender, count, maxBacklogBytes);
  ipcMain.on(AGENT_EVENT_ACK_CHANNEL, onAck);
  const unsubscribe = api.subscribe((event: AgentEvent) => {
    let size = -1;
    for (const win of windows()) {
      if (win.isDestroyed()) continue;
      if (!win.isVisible() || win.webContents.isLoading()) {
        missedEvents.add(win);
        continue;
      }
      const backlog = backlogOf(win.webContents);
      if (backlog.stalled) continue;
      if (size < 0) size = Buffer.byteLength(JSON.stringify(event));
      if (backlog.bytes + size > maxBacklogBytes) {
        backlog.stalled = true;
        console.warn(`ats-agent: a window fell ${backlog.bytes} bytes behind; events paused until it catches up`);
        continue;
      }
      send(win.webContents, AGENT_EVENT_CHANNEL, event, size);
    }
  });
  return () => {
    unsubscribe();
    ipcMain.removeListener(AGENT_EVENT_ACK_CHANNEL, onAck);
  };
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
