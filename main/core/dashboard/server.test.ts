/**
 * The dashboard server over real sockets on 127.0.0.1, in front of a real AgentState behind a small
 * AgentApi (the one createAgentApi builds needs a whole Agent).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type {
  AgentApi,
  AgentSnapshot,
  CommandResult,
  DashboardServerMessage,
  SettingsPatch,
  SettingsView,
  TaskView,
} from '../api.js';
import { AgentState } from '../state/agent-state.js';
import { TaskLogReader } from '../tasks/task-log-reader.js';
import { DashboardMetrics } from './metrics.js';
import { startDashboard, type Dashboard } from './server.js';
import { directoryUi } from './ui-files.js';

const SETTINGS: SettingsView = {
  serverUrl: 'ws://127.0.0.1:1/ws/agent',
  workDir: '/tmp/work',
  logLevel: 'INFO',
  maxConcurrent: 1,
  keepTasks: 10,
  keepDays: 7,
  notifyOnFailure: null,
  startAtLogin: null,
  tokenStorage: 'environment',
  editable: false,
};

function newState(): AgentState {
  return new AgentState(
    {
      version: '1.0.0',
      agentId: 'agent-1',
      mode: 'headless',
      hostname: 'host',
      pid: process.pid,
      startedAt: new Date().toISOString(),
      runningAsRoot: false,
    },
    {
      phase: 'connecting',
      serverUrl: SETTINGS.serverUrl,
      environmentId: null,
      workDir: '/tmp/work',
      connectedSince: null,
      nextAttemptAt: null,
      attempt: 0,
      lastError: null,
    },
  );
}

function task(taskId: string, patch: Partial<TaskView> = {}): TaskView {
  return {
    taskId,
    command: 'echo hi',
    phase: 'running',
    workDir: `/tmp/work/${taskId}`,
    receivedAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
    duration: null,
    exitCode: null,
    signal: null,
    errorCode: null,
    error: null,
    pid: 4242,
    outputSeq: 0,
    ...patch,
  };
}

/** What the calls received, so that a test can see the arguments arrived typed and intact. */
interface Calls {
  cancelled: string[];
  patches: SettingsPatch[];
}

function apiOver(state: AgentState, calls: Calls): AgentApi {
  return {
    getSnapshot: async () => state.snapshot(),
    subscribe: (listener) => state.subscribe(listener),
    getTaskOutput: async (taskId) => state.taskOutput(taskId),
    cancelTask: async (taskId): Promise<CommandResult> => {
      calls.cancelled.push(taskId);
      if (!state.task(taskId)) return { ok: false, message: `no queued or running task ${taskId}` };
      state.updateTask(taskId, { phase: 'cancelled', finishedAt: new Date().toISOString(), duration: 1.5 });
      return { ok: true };
    },
    getSettings: async () => SETTINGS,
    updateSettings: async (patch) => {
      calls.patches.push(patch);
      return { ok: false, message: 'read-only' };
    },
    openPath: async () => {
      throw new Error('folders open only in the desktop app');
    },
    pause: async () => ({ ok: true }),
    resume: async () => ({ ok: true }),
    quit: async () => ({ ok: false, message: 'not in this test' }),
    getTaskHistory: async () => ({ tasks: state.taskViews(), total: state.taskViews().length }),
    readTaskLog: async () => {
      throw new Error('no log files here');
    },
    searchTaskLog: async () => {
      throw new Error('no log files here');
    },
    revealTaskLog: async () => ({ ok: false, message: 'not here' }),
  };
}

let state: AgentState;
let calls: Calls;
let metrics: DashboardMetrics;
let dashboard: Dashboard;
let base: string;
let staticDir: string;
let taskLogsDir: string;
const tmp: string[] = [];
const sockets: WebSocket[] = [];
const warnings: string[] = [];

beforeEach(async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ats-dash-'));
  tmp.push(root);
  staticDir = path.join(root, 'dist');
  mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>ATS Agent</title><div id="root"></div>');
  writeFileSync(path.join(staticDir, 'assets', 'app-1234.js'), 'console.log("app")');
  writeFileSync(path.join(staticDir, 'assets', 'app-1234.css'), 'body{}');
  writeFileSync(path.join(root, 'secret.txt'), 'outside the static dir');
  writeFileSync(path.join(staticDir, '.env'), 'TOKEN=x');
  symlinkSync(path.join(root, 'secret.txt'), path.join(staticDir, 'link.txt'));
  taskLogsDir = path.join(root, 'logs', 'tasks');
  mkdirSync(taskLogsDir, { recursive: true });
  const taskLogs = new TaskLogReader((id) => path.join(taskLogsDir, `${id}.log`));
  warnings.length = 0;
  state = newState();
  calls = { cancelled: [], patches: [] };
  metrics = new DashboardMetrics(state);
  dashboard = await startDashboard({
    api: apiOver(state, calls),
    port: 0,
    ui: directoryUi(staticDir),
    accessKey: undefined,
    metrics,
    log: { info() {}, warn: (m) => warnings.push(m) },
    taskLogFile: (id) => taskLogs.existing(id),
  });
  base = new URL(dashboard.url).origin;
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) {
    ws.on('error', () => {});
    if (ws.readyState !== WebSocket.CONNECTING) ws.terminate();
  }
  await dashboard.close();
  metrics.close();
  for (const dir of tmp.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path: rawPath, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the API socket; resolves with it once open, or rejects with the HTTP status of a refusal. */
function connect(key: string | null, headers: Record<string, string> = {}): Promise<WebSocket> {
  const url = `${base.replace('http', 'ws')}/api${key === null ? '' : `?key=${encodeURIComponent(key)}`}`;
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

function messages(ws: WebSocket): DashboardServerMessage[] {
  const list: DashboardServerMessage[] = [];
  ws.on('message', (data) => list.push(JSON.parse((data as Buffer).toString()) as DashboardServerMessage));
  return list;
}

async function until<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function callOver(
  ws: WebSocket,
  inbox: DashboardServerMessage[],
  msg: unknown,
): Promise<Extract<DashboardServerMessage, { kind: 'reply' }>> {
  ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  const before = inbox.length;
  return until(
    () =>
      inbox.slice(before).find((m) => m.kind === 'reply') as
        Extract<DashboardServerMessage, { kind: 'reply' }> | undefined,
    'a reply',
  );
}

describe('access key and origin', () => {
  it('makes a 32-byte base64url key and puts it in the URL', () => {
    expect(dashboard.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(dashboard.url).toBe(`${base}/?key=${dashboard.key}`);
    expect(new URL(dashboard.url).hostname).toBe('127.0.0.1');
  });

  it('refuses a WebSocket with a wrong or missing key with 401', async () => {
    await expect(connect('wrong')).rejects.toMatchObject({ status: 401 });
    await expect(connect(null)).rejects.toMatchObject({ status: 401 });
    await expect(connect(`${dashboard.key}x`)).rejects.toMatchObject({ status: 401 });
    await expect(connect(dashboard.key.slice(0, -1))).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a cross-site WebSocket with 403, accepts its own origin and non-browser clients', async () => {
    await expect(connect(dashboard.key, { Origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(connect(dashboard.key, { Origin: 'null' })).rejects.toMatchObject({ status: 403 });
    // DNS rebinding: a foreign name that resolves to 127.0.0.1 sends matching Host and Origin
    const { port } = new URL(base);
    await expect(
      connect(dashboard.key, { Origin: `http://evil.example:${port}`, Host: `evil.example:${port}` }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(connect(dashboard.key, { Origin: base })).resolves.toBeInstanceOf(WebSocket);
    await expect(
      connect(dashboard.key, { Origin: `http://localhost:${port}`, Host: `localhost:${port}` }),
    ).resolves.toBeInstanceOf(WebSocket);
    await expect(connect(dashboard.key)).resolves.toBeInstanceOf(WebSocket);
  });

  it('answers a plain GET /api with 401 for a wrong key (the page asks after a refused upgrade)', async () => {
    expect((await rawGet('/api?key=wrong')).status).toBe(401);
    expect((await rawGet('/api')).status).toBe(401);
    expect((await rawGet(`/api?key=${dashboard.key}`)).status).toBe(426);
  });

  it('refuses upgrades elsewhere than /api', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/other?key=${dashboard.key}`);
    sockets.push(ws);
    const status = await new Promise((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode)));
    expect(status).toBe(404);
  });
});

describe('the call protocol', () => {
  it('answers a call with its id and the result', async () => {
    state.upsertTask(task('t-1'));
    const ws = await connect(dashboard.key, { Origin: base });
    const inbox = messages(ws);
    const reply = await callOver(ws, inbox, { kind: 'call', id: 7, method: 'getSnapshot', args: [] });
    expect(reply).toMatchObject({ kind: 'reply', id: 7, ok: true });
    const snap = (reply as { result: AgentSnapshot }).result;
    expect(snap.agent.agentId).toBe('agent-1');
    expect(snap.tasks.map((t) => t.taskId)).toEqual(['t-1']);

    expect(await callOver(ws, inbox, { kind: 'call', id: 8, method: 'cancelTask', args: ['t-1'] })).toEqual({
      kind: 'reply',
      id: 8,
      ok: true,
      result: { ok: true },
    });
    expect(calls.cancelled).toEqual(['t-1']);
    expect(await callOver(ws, inbox, { kind: 'call', id: 9, method: 'getSettings', args: [] })).toEqual({
      kind: 'reply',
      id: 9,
      ok: true,
      result: SETTINGS,
    });
    expect(
      await callOver(ws, inbox, {
        kind: 'call',
        id: 10,
        method: 'updateSettings',
        args: [{ logLevel: 'DEBUG', maxConcurrent: 2 }],
      }),
    ).toMatchObject({ id: 10, ok: true, result: { ok: false } });
    expect(calls.patches).toEqual([{ logLevel: 'DEBUG', maxConcurrent: 2 }]);
    // a method that throws becomes an error reply
    expect(await callOver(ws, inbox, { kind: 'call', id: 11, method: 'openPath', args: ['logs'] })).toEqual({
      kind: 'reply',
      id: 11,
      ok: false,
      error: 'folders open only in the desktop app',
    });
  });

  it('returns task output', async () => {
    state.upsertTask(task('t-2'));
    state.appendOutput('t-2', { seq: 1, stream: 'stdout', text: 'hello', at: new Date().toISOString() });
    const ws = await connect(dashboard.key);
    const inbox = messages(ws);
    const reply = await callOver(ws, inbox, { kind: 'call', id: 1, method: 'getTaskOutput', args: ['t-2'] });
    expect(reply).toMatchObject({ ok: true, result: [{ seq: 1, stream: 'stdout', text: 'hello' }] });
  });

  it('answers invalid messages with an error and keeps serving', async () => {
    const ws = await connect(dashboard.key);
    const inbox = messages(ws);
    const bad: unknown[] = [
      'not json',
      'null',
      '[]',
      { kind: 'call', id: 1, method: 'shutdown', args: [] },
      { kind: 'call', id: 2, method: 'cancelTask', args: [] },
      { kind: 'call', id: 3, method: 'cancelTask', args: [42] },
      { kind: 'call', id: 4, method: 'cancelTask', args: ['x'.repeat(257)] },
      { kind: 'call', id: 5, method: 'openPath', args: ['/etc'] },
      { kind: 'call', id: 6, method: 'updateSettings', args: [{ maxConcurrent: 'many' }] },
      { kind: 'call', id: 7, method: 'updateSettings', args: [{ evil: true }] },
      { kind: 'call', id: 8, method: 'getSnapshot', args: [1] },
      { kind: 'event', id: 9, method: 'getSnapshot', args: [] },
      { kind: 'call', id: 'ten', method: 'getSnapshot', args: [] },
      { kind: 'call', id: 11, method: '__proto__', args: [] },
    ];
    for (const msg of bad) {
      const reply = await callOver(ws, inbox, msg);
      expect(reply.ok, JSON.stringify(msg)).toBe(false);
      expect((reply as { error: string }).error.length).toBeGreaterThan(0);
      const id =
        typeof msg === 'object' && msg !== null && typeof (msg as { id: unknown }).id === 'number'
          ? (msg as { id: number }).id
          : -1;
      expect(reply.id).toBe(id);
    }
    expect(calls.cancelled).toEqual([]);
    const before = inbox.length;
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await until(() => inbox[before], 'the reply to a binary message')).toMatchObject({
      kind: 'reply',
      id: -1,
      ok: false,
    });
    expect(await callOver(ws, inbox, { kind: 'call', id: 99, method: 'getSettings', args: [] })).toMatchObject({
      id: 99,
      ok: true,
    });
  });

  it('pushes every state event to every client and unsubscribes on close', async () => {
    const a = await connect(dashboard.key);
    const b = await connect(dashboard.key);
    const inboxA = messages(a);
    const inboxB = messages(b);
    await new Promise((r) => setTimeout(r, 50));
    state.updateConnection({ phase: 'online', environmentId: 'env-1' });
    state.upsertTask(task('t-3'));
    state.appendOutput('t-3', { seq: 1, stream: 'stderr', text: 'oops', at: new Date().toISOString() });
    for (const inbox of [inboxA, inboxB]) {
      await until(() => inbox.length >= 3, 'three events');
      expect(inbox.map((m) => (m.kind === 'event' ? m.event.type : m.kind))).toEqual([
        'connection',
        'task',
        'task-output',
      ]);
      expect(inbox[0]).toMatchObject({
        kind: 'event',
        event: { type: 'connection', connection: { phase: 'online', environmentId: 'env-1' } },
      });
      expect(inbox[2]).toMatchObject({
        kind: 'event',
        event: { type: 'task-output', taskId: 't-3', chunk: { stream: 'stderr', text: 'oops' } },
      });
    }
    const listeners = () =>
      (state as unknown as { events: { listenerCount(e: string): number } }).events.listenerCount('event');
    const before = listeners();
    a.close();
    b.terminate();
    await until(() => listeners() === before - 2, 'the listeners to go');
  });

  it('disconnects a client that does not read its events', async () => {
    const ws = await connect(dashboard.key);
    // stop reading: the server's send buffer fills up
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const big = 'x'.repeat(64 * 1024);
    state.upsertTask(task('t-flood'));
    for (let i = 0; i < 400; i++) {
      state.appendOutput('t-flood', { seq: i + 1, stream: 'stdout', text: big, at: new Date().toISOString() });
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    (ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
    await closed;
    expect(warnings.some((w) => /fell \d+ bytes behind/.test(w))).toBe(true);
    // the server still serves others
    const other = await connect(dashboard.key);
    expect(other.readyState).toBe(WebSocket.OPEN);
  });
});

describe('static files', () => {
  it('serves index.html only with the key, uncached', async () => {
    const denied = await rawGet('/');
    expect(denied.status).toBe(401);
    expect(denied.body).toContain('data-testid="access-denied"');
    expect(denied.body).toContain('printed');
    expect((await rawGet('/?key=nope')).status).toBe(401);
    expect((await rawGet('/index.html')).status).toBe(401);
    const ok = await rawGet(`/?key=${dashboard.key}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<div id="root">');
    expect(ok.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves assets without the key, with their content types', async () => {
    const js = await rawGet('/assets/app-1234.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toBe('console.log("app")');
    expect((await rawGet('/assets/app-1234.css')).headers['content-type']).toMatch(/^text\/css/);
    expect((await rawGet('/assets/missing.js')).status).toBe(404);
    expect((await rawGet('/assets')).status).toBe(404);
  });

  it('refuses directory traversal, dot files and symlinks out of the static dir', async () => {
    for (const p of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2E%2E%2F..%2Fsecret.txt',
      '/..%5csecret.txt',
      '/.env',
      '/link.txt',
      '/%00',
      '/%E0%A4%A',
    ]) {
      const res = await rawGet(p);
      expect(res.status, p).toBe(404);
      expect(res.body, p).not.toContain('outside the static dir');
    }
  });

  it('says the UI is not built when index.html is missing, and keeps the rest working', async () => {
    rmSync(path.join(staticDir, 'index.html'));
    const res = await rawGet(`/?key=${dashboard.key}`);
    expect(res.status).toBe(503);
    expect(res.body).toContain('not built');
    expect((await rawGet('/metrics')).status).toBe(200);
    expect((await connect(dashboard.key)).readyState).toBe(WebSocket.OPEN);
  });

  it('answers other methods with 405', async () => {
    const { port } = new URL(base);
    const status = await new Promise((resolve) =>
      request({ host: '127.0.0.1', port: Number(port), path: '/', method: 'POST' }, (res) =>
        resolve(res.statusCode),
      ).end(),
    );
    expect(status).toBe(405);
  });
});

describe('/healthz', () => {
  it('is 503 until online, then 200, without a key and without secrets', async () => {
    const before = await rawGet('/healthz');
    expect(before.status).toBe(503);
    expect(JSON.parse(before.body)).toEqual({
      status: 'unavailable',
      phase: 'connecting',
      last_heartbeat_age_s: null,
      running_tasks: 0,
    });

    state.updateConnection({ phase: 'online' });
    state.upsertTask(task('t-4'));
    state.recordHeartbeat(systemInfo(), new Date(Date.now() - 2000));
    const after = await rawGet('/healthz');
    expect(after.status).toBe(200);
    expect(after.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(after.body);
    expect(body).toMatchObject({ status: 'ok', phase: 'online', running_tasks: 1 });
    expect(body.last_heartbeat_age_s).toBeGreaterThanOrEqual(1.9);
    expect(body.last_heartbeat_age_s).toBeLessThan(10);
    expect(Object.keys(body).sort()).toEqual(['last_heartbeat_age_s', 'phase', 'running_tasks', 'status']);
    expect(after.body).not.toContain(dashboard.key);

    state.updateConnection({ phase: 'reconnecting' });
    expect((await rawGet('/healthz')).status).toBe(503);
  });
});

describe('/metrics', () => {
  it('serves the agent series in Prometheus text, following the state', async () => {
    const first = await rawGet('/metrics');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m1 = first.body;
    expect(sample(m1, 'ats_agent_connected')).toBe(0);
    expect(sample(m1, 'ats_agent_connection_state{phase="connecting"}')).toBe(1);
    expect(sample(m1, 'ats_agent_connection_state{phase="online"}')).toBe(0);
    expect(sample(m1, 'ats_agent_tasks{phase="running"}')).toBe(0);
    expect(sample(m1, 'ats_agent_tasks_total{status="success"}')).toBe(0);
    expect(sample(m1, 'ats_agent_reconnects_total')).toBe(0);
    expect(sample(m1, 'ats_agent_outbox_frames')).toBe(0);
    expect(sample(m1, 'ats_agent_outbox_bytes')).toBe(0);
    expect(sample(m1, 'ats_agent_heartbeat_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(m1).toContain('# TYPE ats_agent_task_duration_seconds histogram');
    expect(m1).toContain('process_cpu_seconds_total');
    expect(m1).toContain('nodejs_eventloop_lag_seconds');

    state.setOutboxProbe(() => ({ frames: 3, bytes: 1234 }));
    state.updateConnection({ phase: 'online' });
    state.upsertTask(task('t-5'));
    state.upsertTask(task('t-6', { phase: 'queued', startedAt: null }));
    state.updateTask('t-5', { phase: 'success', finishedAt: new Date().toISOString(), duration: 2.5, exitCode: 0 });
    state.updateTask('t-5', { outputSeq: 9 }); // a repeated event of a finished task counts once
    state.count('tasksReceived', 2);
    state.count('tasksSucceeded');
    state.count('reconnects');
    state.recordHeartbeat(systemInfo(), new Date());

    const m2 = (await rawGet('/metrics')).body;
    expect(sample(m2, 'ats_agent_connected')).toBe(1);
    expect(sample(m2, 'ats_agent_connection_state{phase="online"}')).toBe(1);
    expect(sample(m2, 'ats_agent_connection_state{phase="connecting"}')).toBe(0);
    expect(sample(m2, 'ats_agent_tasks{phase="success"}')).toBe(1);
    expect(sample(m2, 'ats_agent_tasks{phase="queued"}')).toBe(1);
    expect(sample(m2, 'ats_agent_tasks{phase="running"}')).toBe(0);
    expect(sample(m2, 'ats_agent_tasks_total{status="success"}')).toBe(1);
    expect(sample(m2, 'ats_agent_reconnects_total')).toBe(1);
    expect(sample(m2, 'ats_agent_outbox_frames')).toBe(3);
    expect(sample(m2, 'ats_agent_outbox_bytes')).toBe(1234);
    expect(sample(m2, 'ats_agent_task_duration_seconds_count{status="success"}')).toBe(1);
    expect(sample(m2, 'ats_agent_task_duration_seconds_sum{status="success"}')).toBe(2.5);
    expect(sample(m2, 'ats_agent_task_duration_seconds_bucket{le="5",status="success"}')).toBe(1);
    expect(sample(m2, 'ats_agent_heartbeat_age_seconds')).toBeLessThan(1);

    // counters only grow: a second scrape adds nothing
    const m3 = (await rawGet('/metrics')).body;
    expect(sample(m3, 'ats_agent_tasks_total{status="success"}')).toBe(1);
    expect(sample(m3, 'ats_agent_reconnects_total')).toBe(1);
  });

  it("exports each finished task's usage as histograms, by status and source", async () => {
    state.upsertTask(task('t-u'));
    const usage = { cpu_seconds: 3.5, peak_rss_mb: 300, read_mb: 2, write_mb: 50, source: 'sampled' as const };
    state.updateTask('t-u', { phase: 'failed', finishedAt: new Date().toISOString(), duration: 4, usage });
    state.updateTask('t-u', { outputSeq: 3 }); // observed once
    const m = (await rawGet('/metrics')).body;
    const labels = 'status="failed",source="sampled"';
    expect(sample(m, `ats_agent_task_cpu_seconds_count{${labels}}`)).toBe(1);
    expect(sample(m, `ats_agent_task_cpu_seconds_sum{${labels}}`)).toBe(3.5);
    expect(sample(m, `ats_agent_task_cpu_seconds_bucket{le="5",${labels}}`)).toBe(1);
    expect(sample(m, `ats_agent_task_cpu_seconds_bucket{le="1",${labels}}`)).toBe(0);
    expect(sample(m, `ats_agent_task_peak_rss_bytes_sum{${labels}}`)).toBe(300 * 1024 * 1024);
    expect(sample(m, `ats_agent_task_peak_rss_bytes_bucket{le="268435456",${labels}}`)).toBe(0);
    expect(sample(m, `ats_agent_task_read_bytes_sum{${labels}}`)).toBe(2 * 1024 * 1024);
    expect(sample(m, `ats_agent_task_write_bytes_sum{${labels}}`)).toBe(50 * 1024 * 1024);
  });

  it('counts agent log lines that never reached agent.log and says while it cannot be written', async () => {
    const m1 = (await rawGet('/metrics')).body;
    expect(sample(m1, 'ats_agent_log_lines_lost_total')).toBe(0);
    expect(sample(m1, 'ats_agent_log_file_writable')).toBe(1);

    const problem = { path: '/w/logs/agent.log', message: 'EISDIR', since: new Date().toISOString() };
    state.setLogFile(problem, 3);
    const m2 = (await rawGet('/metrics')).body;
    expect(sample(m2, 'ats_agent_log_lines_lost_total')).toBe(3);
    expect(sample(m2, 'ats_agent_log_file_writable')).toBe(0);

    state.setLogFile(null, 5);
    const m3 = (await rawGet('/metrics')).body;
    expect(sample(m3, 'ats_agent_log_lines_lost_total')).toBe(5);
    expect(sample(m3, 'ats_agent_log_file_writable')).toBe(1);
  });

  it('keeps a registry per instance', async () => {
    const other = new DashboardMetrics(newState());
    try {
      expect(other.registry).not.toBe(metrics.registry);
      expect(await other.render()).toContain('ats_agent_connected 0');
    } finally {
      other.close();
    }
  });
});

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line)
    throw new Error(
      `no sample ${series} in\n${text
        .split('\n')
        .filter((l) => l.startsWith('ats_'))
        .join('\n')}`,
    );
  return Number(line.slice(series.length + 1));
}

function systemInfo(): Parameters<AgentState['recordHeartbeat']>[0] {
  return {
    cpu: { usage_percent: 12.5, cores: 2 },
    memory: { usage_percent: 40, total_gb: 8, used_gb: 3.2 },
    disk: { usage_percent: 55, total_gb: 100, used_gb: 55 },
  } as unknown as Parameters<AgentState['recordHeartbeat']>[0];
}

describe('GET /download/task-log/<id>', () => {
  const keyOf = () => encodeURIComponent(dashboard.key);

  it('sends the whole log as an attachment, with the access key only', async () => {
    const body = Array.from({ length: 50_000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    writeFileSync(path.join(taskLogsDir, 't-9.log'), body);
    const res = await rawGet(`/download/task-log/t-9?key=${keyOf()}`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(body);
    expect(res.headers['content-disposition']).toBe('attachment; filename="t-9.log"');
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect((await rawGet('/download/task-log/t-9')).status).toBe(401);
    expect((await rawGet('/download/task-log/t-9?key=wrong')).status).toBe(401);
  });

  it.each([
    '/download/task-log/..%2F..%2Fsecret.txt',
    '/download/task-log/../../secret.txt',
    '/download/task-log/%2e%2e',
    '/download/task-log/a%5Cb',
    '/download/task-log/.hidden',
    '/download/task-log/%00',
    '/download/task-log/%E0%A4%A',
    '/download/task-log/',
  ])('%s: refused, nothing outside logs/tasks is read', async (raw) => {
    writeFileSync(path.join(taskLogsDir, '.hidden.log'), 'hidden');
    const res = await rawGet(`${raw}?key=${keyOf()}`);
    expect([400, 404]).toContain(res.status);
    expect(res.body).not.toContain('outside the static dir');
    expect(res.body).not.toContain('hidden');
  });

  it('a task without a log, or with a symlink planted as its log, is 404', async () => {
    expect((await rawGet(`/download/task-log/none?key=${keyOf()}`)).status).toBe(404);
    symlinkSync(path.join(taskLogsDir, '..', '..', 'secret.txt'), path.join(taskLogsDir, 'planted.log'));
    const res = await rawGet(`/download/task-log/planted?key=${keyOf()}`);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('outside the static dir');
  });
});
