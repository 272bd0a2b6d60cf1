/**
 * The contract test of the two AgentApi transports: the same calls, valid and hostile, go through
 * the headless dashboard (a real WebSocket on 127.0.0.1) and through the desktop's IPC handlers (a
 * fake ipcMain: there is no Electron binary here), and must get the same answers and reach the
 * AgentApi with the same arguments, or not at all.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { AgentApi, AgentSnapshot, DashboardServerMessage, SettingsView } from '../core/api.js';
import type { CallAnswer } from '../core/api-dispatch.js';
import { DashboardMetrics } from '../core/dashboard/metrics.js';
import { startDashboard, type Dashboard } from '../core/dashboard/server.js';
import { directoryUi } from '../core/dashboard/ui-files.js';
import { AgentState } from '../core/state/agent-state.js';

type Listener = (event: unknown, ...args: unknown[]) => Promise<unknown>;
const ipc = vi.hoisted(() => ({ handlers: new Map<string, Listener>() }));

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, listener: Listener) => {
      if (ipc.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      ipc.handlers.set(channel, listener);
    },
    removeHandler: (channel: string) => ipc.handlers.delete(channel),
  },
}));

const { registerAgentIpc } = await import('./ipc-handlers.js');

const SETTINGS: SettingsView = {
  serverUrl: 'ws://127.0.0.1:1/ws/agent',
  workDir: '/tmp/work',
  logLevel: 'INFO',
  maxConcurrent: 1,
  keepTasks: 10,
  keepDays: 7,
  notifyOnFailure: true,
  startAtLogin: false,
  tokenStorage: 'keyring',
  editable: true,
};

const state = new AgentState(
  {
    version: '1.0.0',
    agentId: 'agent-1',
    mode: 'gui',
    hostname: 'host',
    pid: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    runningAsRoot: false,
  },
  {
    phase: 'online',
    serverUrl: SETTINGS.serverUrl,
    environmentId: 'env-1',
    workDir: '/tmp/work',
    connectedSince: null,
    nextAttemptAt: null,
    attempt: 0,
    lastError: null,
  },
);
state.appendOutput('t-1', { seq: 1, stream: 'stdout', text: 'hello', at: '2026-01-01T00:00:01.000Z' });

/** Every call that reached the AgentApi, per transport. */
const reached: Record<'dashboard' | 'ipc', unknown[]> = { dashboard: [], ipc: [] };

function recordingApi(log: unknown[]): AgentApi {
  const seen = <T>(method: string, args: unknown[], result: T): T => (log.push({ method, args }), result);
  return {
    getSnapshot: async () => seen('getSnapshot', [], state.snapshot() as AgentSnapshot),
    subscribe: (listener) => state.subscribe(listener),
    getTaskOutput: async (taskId) => seen('getTaskOutput', [taskId], state.taskOutput(taskId)),
    cancelTask: async (taskId) => seen('cancelTask', [taskId], { ok: false, message: `no task ${taskId}` }),
    getSettings: async () => seen('getSettings', [], SETTINGS),
    updateSettings: async (patch) => seen('updateSettings', [patch], { ok: true }),
    openPath: async (target) => {
      seen('openPath', [target], null);
      throw new Error(`cannot open ${target}`);
    },
    pause: async () => seen('pause', [], { ok: true }),
    resume: async () => seen('resume', [], { ok: false, message: 'draining' }),
    quit: async () => seen('quit', [], { ok: true }),
    getTaskHistory: async (query) => seen('getTaskHistory', [query], { tasks: [], total: 0 }),
    readTaskLog: async (taskId, from, count) =>
      seen('readTaskLog', [taskId, from, count], { taskId, from, lines: [], cut: [], totalLines: 0, bytes: 0 }),
    searchTaskLog: async (taskId, query, fromLine) =>
      seen('searchTaskLog', [taskId, query, fromLine], {
        taskId,
        query,
        fromLine,
        matches: [],
        nextLine: null,
        totalLines: 0,
      }),
    revealTaskLog: async (taskId) => seen('revealTaskLog', [taskId], { ok: false, message: 'not here' }),
  };
}

const indexHtml = path.resolve('/opt/ats/dist/index.html');
const sender = { id: 1 };
const ourWindow = { isDestroyed: () => false, webContents: sender };
const trustedEvent = { sender, senderFrame: { parent: null, url: pathToFileURL(indexHtml).href } };

let dashboard: Dashboard;
let metrics: DashboardMetrics;
let ws: WebSocket;
let unregister: () => void;
const inbox: DashboardServerMessage[] = [];
let nextId = 1;

beforeAll(async () => {
  metrics = new DashboardMetrics(state);
  dashboard = await startDashboard({
    api: recordingApi(reached.dashboard),
    port: 0,
    ui: directoryUi('/nonexistent'),
    metrics,
    log: { info() {}, warn() {} },
  });
  ws = new WebSocket(dashboard.url.replace('http:', 'ws:').replace('/?key=', '/api?key='));
  ws.on('message', (data) => inbox.push(JSON.parse((data as Buffer).toString()) as DashboardServerMessage));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  unregister = registerAgentIpc({
    api: recordingApi(reached.ipc),
    trusted: { indexHtml, devServerUrl: null },
    windows: () => [ourWindow] as never,
  });
});

afterAll(async () => {
  unregister();
  ws.terminate();
  await dashboard.close();
  metrics.close();
});

async function overDashboard(method: unknown, args: unknown[]): Promise<CallAnswer> {
  const id = nextId++;
  ws.send(JSON.stringify({ kind: 'call', id, method, args }));
  const end = Date.now() + 5000;
  for (;;) {
    const reply = inbox.find((m) => m.kind === 'reply' && m.id === id);
    if (reply?.kind === 'reply')
      return reply.ok ? { ok: true, result: reply.result } : { ok: false, error: reply.error };
    if (Date.now() > end) throw new Error(`no reply to call ${id}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What ipcRenderer.invoke does: structured-clone the arguments, run the channel's handler, or refuse. */
async function overIpc(method: unknown, args: unknown[], event: unknown = trustedEvent): Promise<CallAnswer> {
  const channel = `agent:${String(method)}`;
  const handler = ipc.handlers.get(channel);
  if (!handler) return { ok: false, error: `No handler registered for '${channel}'` };
  try {
    const result = await handler(event, ...structuredClone(args));
    return { ok: true, result: structuredClone(result) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

async function both(method: string, args: unknown[]): Promise<{ dashboard: CallAnswer; ipc: CallAnswer }> {
  reached.dashboard.length = 0;
  reached.ipc.length = 0;
  const answers = { dashboard: await overDashboard(method, args), ipc: await overIpc(method, args) };
  expect(reached.dashboard, `what ${method} handed the api`).toEqual(reached.ipc);
  return answers;
}

const VALID: [string, unknown[]][] = [
  ['getSnapshot', []],
  ['getTaskOutput', ['t-1']],
  ['cancelTask', ['t-1']],
  ['getSettings', []],
  ['updateSettings', [{}]],
  ['updateSettings', [{ logLevel: 'DEBUG', maxConcurrent: 2, keepTasks: 100_000, keepDays: 1.5 }]],
  ['updateSettings', [{ serverUrl: 'wss://ats.example.com/ws/agent', token: 'tok-123', workDir: '/srv/ats' }]],
  ['updateSettings', [{ notifyOnFailure: false, startAtLogin: true }]],
  ['pause', []],
  ['resume', []],
  ['quit', []],
  ['getTaskHistory', [{}]],
  ['getTaskHistory', [{ status: 'failed', search: 'npm test', limit: 50 }]],
  ['readTaskLog', ['t-1', 0, 500]],
  ['searchTaskLog', ['t-1', 'error', 1000]],
  ['revealTaskLog', ['t-1']],
];

const HOSTILE: [string, unknown[]][] = [
  ['getSnapshot', [1]],
  ['getSettings', [undefined, undefined]],
  ['pause', [true]],
  ['resume', ['now']],
  ['quit', [{ force: true }]],
  ['cancelTask', []],
  ['cancelTask', [42]],
  ['cancelTask', ['a', 'b']],
  ['getTaskOutput', [{ toString: 'x' }]],
  ['getTaskOutput', [null]],
  ['cancelTask', ['x'.repeat(257)]],
  ['cancelTask', ['x'.repeat(20_000)]],
  ['cancelTask', ['a\nb']],
  ['openPath', ['/etc']],
  ['openPath', ['../logs']],
  ['updateSettings', []],
  ['updateSettings', [null]],
  ['updateSettings', [[]]],
  ['updateSettings', [{ keepTasks: 1_000_000 }]],
  ['updateSettings', [{ maxConcurrent: 'many' }]],
  ['updateSettings', [{ maxConcurrent: 65 }]],
  ['updateSettings', [{ editable: false }]],
  ['updateSettings', [JSON.parse('{"__proto__": {"polluted": true}}')]],
  ['updateSettings', [JSON.parse('{"constructor": {"prototype": {"polluted": true}}}')]],
  ['updateSettings', [{ serverUrl: 'http://ats.example.com/' }]],
  ['updateSettings', [{ serverUrl: `ws://${'x'.repeat(2100)}` }]],
  ['updateSettings', [{ token: 'has space' }]],
  ['updateSettings', [{ token: 'x'.repeat(4097) }]],
  ['updateSettings', [{ workDir: 'relative/dir' }]],
  ['updateSettings', [{ workDir: '/tmp/a\u0000b' }]],
  ['updateSettings', [{ logLevel: 'debug' }]],
  // a task's log file is named by its id: nothing that walks a path reaches the api
  ['readTaskLog', ['../../etc/passwd', 0, 10]],
  ['readTaskLog', ['..', 0, 10]],
  ['readTaskLog', ['a/b', 0, 10]],
  ['readTaskLog', ['a\\b', 0, 10]],
  ['readTaskLog', ['.hidden', 0, 10]],
  ['readTaskLog', ['%2e%2e', 0, 10]],
  ['readTaskLog', ['t-1', -1, 10]],
  ['readTaskLog', ['t-1', 0, 2001]],
  ['readTaskLog', ['t-1', 0.5, 10]],
  ['readTaskLog', ['t-1', 0]],
  ['searchTaskLog', ['/etc/shadow', 'root', 0]],
  ['searchTaskLog', ['t-1', '', 0]],
  ['searchTaskLog', ['t-1', 'x'.repeat(257), 0]],
  ['revealTaskLog', ['../state/outbox']],
  ['revealTaskLog', ['x'.repeat(129)]],
  ['getTaskHistory', []],
  ['getTaskHistory', [{ status: 'lost' }]],
  ['getTaskHistory', [{ limit: 501 }]],
  ['getTaskHistory', [{ search: 'x'.repeat(257) }]],
  ['getTaskHistory', [{ path: '/etc' }]],
];

describe('the dashboard socket and the IPC handlers answer alike', () => {
  it.each(VALID)('%s %j: the same result, the same arguments reach the api', async (method, args) => {
    const answers = await both(method, args);
    expect(answers.dashboard).toMatchObject({ ok: true });
    expect(answers.ipc).toEqual(answers.dashboard);
    expect(reached.ipc).toHaveLength(1);
  });

  it('a method that throws is the same error answer on both', async () => {
    const answers = await both('openPath', ['logs']);
    expect(answers.dashboard).toEqual({ ok: false, error: 'cannot open logs' });
    expect(answers.ipc).toEqual(answers.dashboard);
  });

  it.each(HOSTILE.map(([m, a]) => [m, JSON.stringify(a).slice(0, 60), a] as const))(
    '%s %s: the same refusal, the api never reached',
    async (method, _shown, args) => {
      const answers = await both(method, args);
      expect(answers.dashboard).toMatchObject({ ok: false });
      expect(answers.ipc).toEqual(answers.dashboard);
      expect(reached.dashboard).toEqual([]);
      expect((answers.dashboard as { error: string }).error).not.toMatch(/has space|xxxxxxxxxx/);
    },
  );

  it.each(['shutdown', 'subscribe', '__proto__', 'constructor', 'toString'])(
    'unknown method %s: refused on both, the api never reached',
    async (method) => {
      const answers = await both(method, []);
      expect(answers.dashboard).toEqual({ ok: false, error: `unknown method ${JSON.stringify(method)}` });
      // IPC has no channel for it: Electron itself refuses
      expect(answers.ipc).toEqual({ ok: false, error: `No handler registered for 'agent:${method}'` });
      expect(reached.dashboard).toEqual([]);
    },
  );

  it('no hostile call polluted a prototype', () => {
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('IPC refuses a sender that is not our page before parsing anything', async () => {
    reached.ipc.length = 0;
    const foreign = { sender, senderFrame: { parent: null, url: 'https://evil.example.com/' } };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await overIpc('cancelTask', ['t-1'], foreign)).toEqual({
      ok: false,
      error: 'IPC refused: the sender is not the ATS Agent dashboard',
    });
    expect(await overIpc('getSnapshot', [], { ...trustedEvent, sender: { id: 2 } })).toMatchObject({ ok: false });
    warn.mockRestore();
    expect(reached.ipc).toEqual([]);
  });
});
