/**
 * AgentApi over the headless agent's loopback dashboard socket: `ws(s)://<host>/api?key=<key>`.
 * Calls are `{kind:'call', id, method, args}`, answered by `{kind:'reply', id, ok, result|error}`;
 * `{kind:'event'}` messages fan out to subscribers. When the socket drops (the agent may restart) it
 * reconnects with a small backoff and then emits `{type:'reset'}` so the UI refetches everything.
 * A close with code 4401 (or an HTTP 401/403 on /api) means the access key is missing or wrong.
 */
import type {
  AgentApi,
  AgentCall,
  AgentEvent,
  AgentSnapshot,
  CommandResult,
  DashboardClientMessage,
  DashboardServerMessage,
  OutputChunk,
  PathTarget,
  SettingsPatch,
  SettingsView,
  TaskHistoryPage,
  TaskHistoryQuery,
  TaskLogPage,
  TaskLogSearch,
} from '../../../main/core/api.js';

/** The state of the link between this page and the agent (always 'open' over the Electron bridge). */
export type TransportState = 'connecting' | 'open' | 'reconnecting' | 'denied';

export interface TransportStatus {
  state(): TransportState;
  onState(listener: (state: TransportState) => void): () => void;
  /** after 'denied': try again (e.g., the user fixed the URL) */
  retry(): void;
}

export class AccessDeniedError extends Error {
  constructor() {
    super('access key missing or wrong');
    this.name = 'AccessDeniedError';
  }
}

export const CLOSE_ACCESS_DENIED = 4401;
const BACKOFF_MS = [250, 500, 1000, 2000, 3000, 5000];
const CALL_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Queued {
  message: DashboardClientMessage;
  pending: Omit<Pending, 'timer'>;
}

export interface DashboardClientOptions {
  /** defaults to location */
  location?: Pick<Location, 'protocol' | 'host' | 'search'>;
  WebSocketImpl?: typeof WebSocket;
  fetchImpl?: typeof fetch;
}

/** The dashboard's authenticated download of a task's whole log (core/dashboard/server.ts). */
export function taskLogDownloadUrl(taskId: string, search: string = window.location.search): string {
  return `/download/task-log/${encodeURIComponent(taskId)}?key=${encodeURIComponent(accessKeyOf(search) ?? '')}`;
}

export function accessKeyOf(search: string): string | null {
  const key = new URLSearchParams(search).get('key');
  return key && key.length > 0 ? key : null;
}

export function createDashboardClient(options: DashboardClientOptions = {}): AgentApi & { transport: TransportStatus } {
  const loc = options.location ?? window.location;
  const WS = options.WebSocketImpl ?? WebSocket;
  const doFetch = options.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const key = accessKeyOf(loc.search);
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${loc.host}/api?key=${encodeURIComponent(key ?? '')}`;

  const listeners = new Set<(event: AgentEvent) => void>();
  const stateListeners = new Set<(state: TransportState) => void>();
  const pending = new Map<number, Pending>();
  let queue: Queued[] = [];
  let nextId = 1;
  let socket: WebSocket | null = null;
  let state: TransportState = 'connecting';
  let failures = 0;
  let everOpened = false;
  /** asked /api over HTTP since the last open socket */
  let probed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  const setState = (next: TransportState) => {
    if (state === next) return;
    state = next;
    for (const l of [...stateListeners]) l(next);
  };

  const emit = (event: AgentEvent) => {
    for (const l of [...listeners]) {
      try {
        l(event);
      } catch (err) {
        console.error('agent event listener failed', err);
      }
    }
  };

  const rejectAll = (error: Error) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(error);
      pending.delete(id);
    }
  };

  const deny = () => {
    setState('denied');
    const err = new AccessDeniedError();
    rejectAll(err);
    for (const q of queue) q.pending.reject(err);
    queue = [];
  };

  const send = (q: Queued) => {
    const s = socket;
    if (!s || s.readyState !== WS.OPEN) {
      queue.push(q);
      return;
    }
    const timer = setTimeout(() => {
      if (pending.delete(q.message.id)) q.pending.reject(new Error(`${q.message.method}: no reply from the agent`));
    }, CALL_TIMEOUT_MS);
    pending.set(q.message.id, { ...q.pending, timer });
    s.send(JSON.stringify(q.message));
  };

  const onMessage = (data: unknown) => {
    if (typeof data !== 'string') return;
    let msg: DashboardServerMessage;
    try {
      msg = JSON.parse(data) as DashboardServerMessage;
    } catch {
      return;
    }
    if (msg.kind === 'event') {
      emit(msg.event);
    } else if (msg.kind === 'reply') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    }
  };

  /** A browser cannot see the HTTP status of a refused upgrade: ask /api over plain HTTP once. */
  const probeDenied = async (): Promise<boolean> => {
    try {
      const res = await doFetch(`/api?key=${encodeURIComponent(key ?? '')}`, { cache: 'no-store' });
      return res.status === 401 || res.status === 403;
    } catch {
      return false;
    }
  };

  const scheduleReconnect = () => {
    if (reconnectTimer !== null || state === 'denied') return;
    const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]!;
    failures += 1;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  };

  const connect = () => {
    if (key === null) {
      deny();
      return;
    }
    let opened = false;
    let s: WebSocket;
    try {
      s = new WS(url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = s;
    s.onopen = () => {
      opened = true;
      failures = 0;
      probed = false;
      const wasReconnect = everOpened;
      everOpened = true;
      setState('open');
      const waiting = queue;
      queue = [];
      for (const q of waiting) send(q);
      if (wasReconnect) emit({ type: 'reset' });
    };
    s.onmessage = (e: MessageEvent) => onMessage(e.data);
    s.onclose = (e: CloseEvent) => {
      if (socket === s) socket = null;
      rejectAll(new Error('the link to the agent closed'));
      if (e.code === CLOSE_ACCESS_DENIED || e.code === 1008) {
        deny();
        return;
      }
      if (state !== 'denied') setState(everOpened ? 'reconnecting' : 'connecting');
      if (!opened && !probed) {
        probed = true;
        // the first refusal may be a 401 on the upgrade: find out before retrying
        // a refused probe (agent still restarting) says nothing: probe again on the next failure
        void probeDenied().then((denied) => {
          if (denied) deny();
          else {
            probed = false;
            scheduleReconnect();
          }
        });
      } else {
        scheduleReconnect();
      }
    };
  };

  function call<M extends AgentCall['method']>(
    method: M,
    args: Extract<AgentCall, { method: M }>['args'],
  ): Promise<unknown> {
    if (state === 'denied') return Promise.reject(new AccessDeniedError());
    return new Promise((resolve, reject) => {
      const message = { kind: 'call', id: nextId++, method, args } as DashboardClientMessage;
      send({ message, pending: { resolve, reject } });
    });
  }

  connect();

  return {
    getSnapshot: () => call('getSnapshot', []) as Promise<AgentSnapshot>,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    getTaskOutput: (taskId: string) => call('getTaskOutput', [taskId]) as Promise<OutputChunk[]>,
    cancelTask: (taskId: string) => call('cancelTask', [taskId]) as Promise<CommandResult>,
    getSettings: () => call('getSettings', []) as Promise<SettingsView>,
    updateSettings: (patch: SettingsPatch) => call('updateSettings', [patch]) as Promise<CommandResult>,
    openPath: (target: PathTarget) => call('openPath', [target]) as Promise<CommandResult>,
    pause: () => call('pause', []) as Promise<CommandResult>,
    resume: () => call('resume', []) as Promise<CommandResult>,
    quit: () => call('quit', []) as Promise<CommandResult>,
    getTaskHistory: (query: TaskHistoryQuery) => call('getTaskHistory', [query]) as Promise<TaskHistoryPage>,
    readTaskLog: (taskId: string, fromLine: number, lineCount: number) =>
      call('readTaskLog', [taskId, fromLine, lineCount]) as Promise<TaskLogPage>,
    searchTaskLog: (taskId: string, query: string, fromLine: number) =>
      call('searchTaskLog', [taskId, query, fromLine]) as Promise<TaskLogSearch>,
    revealTaskLog: (taskId: string) => call('revealTaskLog', [taskId]) as Promise<CommandResult>,
    transport: {
      state: () => state,
      onState(listener) {
        stateListeners.add(listener);
        return () => {
          stateListeners.delete(listener);
        };
      },
      retry() {
        if (state !== 'denied') return;
        failures = 0;
        probed = false;
        everOpened = false;
        setState('connecting');
        connect();
      },
    },
  };
}
