/**
 * DEV ONLY: the browser transport against a real WebSocket server that speaks the dashboard
 * protocol (DashboardClientMessage / DashboardServerMessage) with a minimal fake state:
 * right key → the UI loads; the server drops every socket → the UI says so, reconnects and
 * refetches (reset); wrong key (401 on upgrade) and a 4401 close → the access-denied screen.
 *   npx vite build && node --import tsx renderer/dev/dashboard-check.ts
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentSnapshot, DashboardClientMessage, DashboardServerMessage } from '../../main/core/api.js';
import { launch, repo } from './harness.js';

const KEY = 'k3y-123';
let snapshots = 0;
const snapshot = (): AgentSnapshot => ({
  agent: { version: '1.0.0', agentId: 'agt-1', mode: 'headless', hostname: 'ci-01', pid: 1, startedAt: new Date().toISOString(), runningAsRoot: false },
  connection: { phase: 'online', serverUrl: 'wss://ats.example.com/ws/agent', environmentId: `env-${++snapshots}`, workDir: '/w', connectedSince: new Date().toISOString(), nextAttemptAt: null, attempt: 0, lastError: null },
  system: null,
  metrics: [],
  tasks: [],
  counters: { tasksReceived: 0, tasksSucceeded: 0, tasksFailed: 0, tasksErrored: 0, tasksTimedOut: 0, tasksCancelled: 0, heartbeatsSent: 0, reconnects: 0, invalidFrames: 0 },
  log: [{ at: new Date().toISOString(), level: 'info', scope: 'dashboard', message: 'hello from the dashboard' }],
  lastHeartbeatAt: null,
  outbox: { frames: 0, bytes: 0 },
});

let closeWith4401 = false;
const server = http.createServer(async (req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname === '/api') return void res.writeHead(u.searchParams.get('key') === KEY ? 426 : 401).end();
  const file = path.join(process.env.UI_DIST ?? path.join(repo, 'dist'), u.pathname === '/' ? 'index.html' : u.pathname);
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname !== '/api' || (u.searchParams.get('key') !== KEY && !closeWith4401)) {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    if (closeWith4401) return ws.close(4401, 'access key missing or wrong');
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as DashboardClientMessage;
      const reply = (result: unknown): DashboardServerMessage => ({ kind: 'reply', id: msg.id, ok: true, result });
      if (msg.method === 'getSnapshot') ws.send(JSON.stringify(reply(snapshot())));
      else if (msg.method === 'getSettings')
        ws.send(JSON.stringify(reply({ serverUrl: 'wss://ats.example.com/ws/agent', workDir: '/w', logLevel: 'INFO', maxConcurrent: 1, keepTasks: 10, keepDays: 7, notifyOnFailure: null, startAtLogin: null, tokenStorage: 'file', editable: false })));
      else ws.send(JSON.stringify({ kind: 'reply', id: msg.id, ok: false, error: 'not here' } satisfies DashboardServerMessage));
    });
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

const browser = await launch();
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) process.exitCode = 1;
};
try {
  const page = await browser.newPage();
  await page.goto(`${base}?key=${KEY}`);
  await page.getByTestId('environment-id').filter({ hasText: 'env-1' }).waitFor({ timeout: 5000 });
  check(true, 'right key: snapshot loaded over the socket (env-1)');
  check((await page.getByTestId('agent-log').innerText()).includes('hello from the dashboard'), 'agent log shows the snapshot log');

  for (const c of wss.clients) c.terminate();
  await page.getByText('Lost the link to the agent').waitFor({ timeout: 3000 });
  check(true, 'dropped socket: the banner shows');
  await page.getByTestId('environment-id').filter({ hasText: 'env-2' }).waitFor({ timeout: 8000 });
  check(await page.getByText('Lost the link to the agent').count() === 0, 'reconnected, reset → snapshot refetched (env-2), banner gone');

  const denied = await browser.newPage();
  await denied.goto(`${base}?key=nope`);
  await denied.getByTestId('access-denied').waitFor({ timeout: 5000 });
  check(true, 'wrong key (401 on upgrade): access-denied screen');

  closeWith4401 = true;
  const closed = await browser.newPage();
  await closed.goto(`${base}?key=whatever`);
  await closed.getByTestId('access-denied').waitFor({ timeout: 5000 });
  check(true, 'close code 4401: access-denied screen');
  closeWith4401 = false;

  const nokey = await browser.newPage();
  await nokey.goto(base);
  await nokey.getByTestId('access-denied').waitFor({ timeout: 5000 });
  check(true, 'no key in the URL: access-denied screen');
} finally {
  await browser.close();
  wss.close();
  server.close();
}
