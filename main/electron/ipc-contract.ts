/**
 * The one IPC contract between the Electron main process and the preload bridge, derived from
 * `AgentCall` / `AgentApi` (main/core/api.ts) so that it cannot drift from the API every other host
 * carries. GitHub Desktop's `ipc-shared.ts` model: a typed channel map plus constant channel names.
 *
 * Types and constants only: imported by the main process AND bundled into the sandboxed preload, so
 * it must never import 'electron' or anything from Node.
 */
import type { AgentApi, AgentCall, AgentEvent } from '../core/api.js';

export type AgentMethod = AgentCall['method'];
export type ArgsOf<M extends AgentMethod> = Extract<AgentCall, { method: M }>['args'];
export type ResultOf<M extends AgentMethod> = Awaited<ReturnType<AgentApi[M]>>;

/** invoke/handle channels: one per AgentApi call */
export const AGENT_CHANNELS = {
  getSnapshot: 'agent:getSnapshot',
  getTaskOutput: 'agent:getTaskOutput',
  cancelTask: 'agent:cancelTask',
  getSettings: 'agent:getSettings',
  updateSettings: 'agent:updateSettings',
  openPath: 'agent:openPath',
  pause: 'agent:pause',
  resume: 'agent:resume',
  quit: 'agent:quit',
  getTaskHistory: 'agent:getTaskHistory',
  readTaskLog: 'agent:readTaskLog',
  searchTaskLog: 'agent:searchTaskLog',
  revealTaskLog: 'agent:revealTaskLog',
} as const satisfies { [M in AgentMethod]: `agent:${M}` };

/** main → renderer: every AgentEvent, payload only */
export const AGENT_EVENT_CHANNEL = 'agent:event';
/** renderer → main (send): how many events the page has received since its last ack; main's backpressure */
export const AGENT_EVENT_ACK_CHANNEL = 'agent:event-ack';

export type AgentChannel = (typeof AGENT_CHANNELS)[AgentMethod];

/** channel → (args) => result, for typed `handle` / `invoke` wrappers */
export type RequestResponseChannels = {
  [M in AgentMethod as (typeof AGENT_CHANNELS)[M]]: (...args: ArgsOf<M>) => Promise<ResultOf<M>>;
};

/** main → renderer channels and their one payload */
export type MainToRendererChannels = {
  [AGENT_EVENT_CHANNEL]: AgentEvent;
};

export const AGENT_METHODS = Object.keys(AGENT_CHANNELS) as AgentMethod[];

export function methodOfChannel(channel: string): AgentMethod | undefined {
  return AGENT_METHODS.find((m) => AGENT_CHANNELS[m] === channel);
}

// Compile-time guard: the transported args of every call are exactly the AgentApi method's parameters.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type ContractMatchesApi = { [M in AgentMethod]: Same<ArgsOf<M>, Parameters<AgentApi[M]>> }[AgentMethod];
type AllMatch = false extends ContractMatchesApi ? never : true;
export const CONTRACT_MATCHES_API: AllMatch = true;
