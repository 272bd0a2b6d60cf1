/**
 * The sandboxed preload: exposes `window.atsAgent`, an object that implements AgentApi exactly and
 * nothing more. One method per call (ipcRenderer.invoke on the contract's channel); `subscribe`
 * wraps each listener so that the page gets ONLY the payload, never the IpcRendererEvent (whose
 * `sender` is ipcRenderer itself), and returns the unsubscribe function (contextBridge proxies
 * functions, so an `off(listener)` could never match). No raw ipcRenderer reaches the page.
 *
 * Built by Vite into ONE CommonJS file (dist-electron/preload.cjs) whose only require is 'electron':
 * sandboxed preloads cannot load ESM or other modules. Import types and the constants-only contract.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AgentApi, AgentEvent } from '../main/core/api.js';
import {
  AGENT_CHANNELS,
  AGENT_EVENT_ACK_CHANNEL,
  AGENT_EVENT_CHANNEL,
  type RequestResponseChannels,
} from '../main/electron/ipc-contract.js';

function invoke<C extends keyof RequestResponseChannels>(
  channel: C,
  ...args: Parameters<RequestResponseChannels[C]>
): ReturnType<RequestResponseChannels[C]> {
  return ipcRenderer.invoke(channel, ...args) as ReturnType<RequestResponseChannels[C]>;
}

const api: AgentApi = {
  getSnapshot: () => invoke(AGENT_CHANNELS.getSnapshot),
  getTaskOutput: (taskId) => invoke(AGENT_CHANNELS.getTaskOutput, taskId),
  cancelTask: (taskId) => invoke(AGENT_CHANNELS.cancelTask, taskId),
  getSettings: () => invoke(AGENT_CHANNELS.getSettings),
  updateSettings: (patch) => invoke(AGENT_CHANNELS.updateSettings, patch),
  openPath: (target) => invoke(AGENT_CHANNELS.openPath, target),
  pause: () => invoke(AGENT_CHANNELS.pause),
  resume: () => invoke(AGENT_CHANNELS.resume),
  quit: () => invoke(AGENT_CHANNELS.quit),
  getTaskHistory: (query) => invoke(AGENT_CHANNELS.getTaskHistory, query),
  readTaskLog: (taskId, fromLine, lineCount) => invoke(AGENT_CHANNELS.readTaskLog, taskId, fromLine, lineCount),
  searchTaskLog: (taskId, query, fromLine) => invoke(AGENT_CHANNELS.searchTaskLog, taskId, query, fromLine),
  revealTaskLog: (taskId) => invoke(AGENT_CHANNELS.revealTaskLog, taskId),
  subscribe(listener) {
    if (typeof listener !== 'function') throw new TypeError('subscribe(listener): listener must be a function');
    const wrapped = (_event: IpcRendererEvent, payload: AgentEvent) => listener(payload);
    ipcRenderer.on(AGENT_EVENT_CHANNEL, wrapped);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipcRenderer.removeListener(AGENT_EVENT_CHANNEL, wrapped);
    };
  },
};

// Backpressure: tell main how many events arrived, once per task of this page's event loop. A page
// that falls behind acks late, and main stops sending past the dashboard's 4 MB (ipc-handlers.ts).
let received = 0;
ipcRenderer.on(AGENT_EVENT_CHANNEL, () => {
  if (received++ > 0) return;
  setTimeout(() => {
    ipcRenderer.send(AGENT_EVENT_ACK_CHANNEL, received);
    received = 0;
  }, 0);
});

contextBridge.exposeInMainWorld('atsAgent', api);
