/**
 * Picks the transport: the Electron preload bridge (`window.atsAgent`, exactly an AgentApi exposed
 * with contextBridge) when present, else the headless dashboard's WebSocket.
 */
import type { AgentApi } from '../../../main/core/api.js';
import { createDashboardClient, type TransportState, type TransportStatus } from './dashboard-client.js';

export { AccessDeniedError } from './dashboard-client.js';
export type { TransportState, TransportStatus };

declare global {
  interface Window {
    /** set by the Electron preload (contextBridge.exposeInMainWorld('atsAgent', api)) */
    atsAgent?: AgentApi;
  }
}

export interface AgentConnection {
  api: AgentApi;
  transport: TransportStatus;
  kind: 'electron' | 'dashboard';
}

/** the preload bridge never drops: its transport is always open */
const bridgeTransport: TransportStatus = {
  state: () => 'open',
  onState: () => () => undefined,
  retry: () => undefined,
};

let connection: AgentConnection | null = null;

export function getAgentConnection(): AgentConnection {
  if (connection) return connection;
  const bridged = window.atsAgent;
  if (bridged) {
    connection = { api: bridged, transport: bridgeTransport, kind: 'electron' };
  } else {
    const client = createDashboardClient();
    connection = { api: client, transport: client.transport, kind: 'dashboard' };
  }
  return connection;
}
