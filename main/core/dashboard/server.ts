/**
 * The headless dashboard: the same React UI as the desktop window, served to a plain browser, plus
 * /healthz and /metrics. Loopback only. The UI page and its WebSocket need the access key the agent
 * prints at start; /healthz, /metrics and the static assets (no secrets in them) do not.
 *
 * The WebSocket at /api carries the AgentApi (DashboardClientMessage / DashboardServerMessage); the
 * calls go to the one dispatcher (api-dispatch.ts) that the desktop's IPC handlers use too.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { dispatchCall } from '../api-dispatch.js';
import type { AgentApi, AgentEvent, DashboardServerMessage } from '../api.js';
import { TASK_ID_PATTERN } from '../protocol/frames.js';
import { READ_NO_FOLLOW } from '../tasks/task-log-reader.js';
import type { DashboardMetrics } from './metrics.js';
import type { UiFile, UiFiles } from './ui-files.js';

export interface DashboardOptions {
  api: AgentApi;
  /** 0 = any free port */
  port: number;
  /** the built UI (vite's dist/, on disk or inside the single file); without index.html the rest still works */
  ui: UiFiles;
  /** default: 32 random bytes, base64url */
  accessKey?: string;
  metrics: DashboardMetrics;
  log: { info(m: string): void; warn(m: string): void };
  /** where a task's log file is, if it has one (the id is checked before): GET /download/task-log/<id> */
  taskLogFile?: (taskId: string) => Promise<string | null>;
}

export interface Dashboard {
  /** the page to open, access key included */
  url: string;
  key: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** a browser that does not keep up with the events is dropped rather than buffered for without bound */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_CLIENTS = 32;
const PING_INTERVAL_MS = 30_000;
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** + a task id: that task's whole log file, as an attachment; the access key is needed */
export const TASK_LOG_DOWNLOAD_PATH = '/download/task-log/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

// ---- the call envelope ----------------------------------------------------------------------------

const Id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** `{kind:'call', id, method, args}`: method and args are the dispatcher's to judge (api-dispatch.ts) */
const CallEnvelopeSchema = z.strictObject({ kind: z.literal('call'), id: Id, method: z.unknown(), args: z.unknown() });

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`)
    .join('; ');
}

// ---- the server -----------------------------------------------------------------------------------

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const { api, metrics, log } = opts;
  const key = opts.accessKey ?? randomBytes(32).toString('base64url');
  const keyDigest = digest(key);
  const keyMatches = (candidate: string | null): boolean =>
    candidate !== null && timingSafeEqual(digest(candidate), keyDigest);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  const alive = new WeakMap<WebSocket, boolean>();
  let port = 0;

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      log.warn(`dashboard: ${req.method} ${req.url?.split('?')[0]} failed: ${(err as Error)?.message ?? err}`);
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_err, socket) => socket.destroy());
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'method not allowed\n');
    }
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    switch (url.pathname) {
      case '/healthz':
        return healthz(res);
      case '/metrics': {
        const body = await metrics.render();
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/api':
        // a browser cannot see why an upgrade failed: it may ask here, and gets the same 401
        if (!keyMatches(url.searchParams.get('key'))) return sendText(res, 401, 'access key missing or wrong\n');
        return sendText(res, 426, 'WebSocket only\n');
      case '/':
      case '/index.html':
        return index(req, res, url);
      default:
        if (url.pathname.startsWith(TASK_LOG_DOWNLOAD_PATH)) return downloadTaskLog(req, res, url);
        return asset(req, res, url.pathname);
    }
  }

  async function healthz(res: ServerResponse): Promise<void> {
    const s = await api.getSnapshot();
    const online = s.connection.phase === 'online';
    const at = s.lastHeartbeatAt ? Date.parse(s.lastHeartbeatAt) : Number.NaN;
    const body = {
      status: online ? 'ok' : 'unavailable',
      phase: s.connection.phase,
      last_heartbeat_age_s: Number.isFinite(at) ? Math.round(Math.max(0, Date.now() - at) / 100) / 10 : null,
      running_tasks: s.tasks.filter((t) => t.phase === 'running').length,
    };
    res.writeHead(online ? 200 : 503, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    res.end(`${JSON.stringify(body)}\n`);
  }

  async function index(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const headers = {
      'Cache-Control': 'no-store',
      // the key is in the page's URL: never send it on as a Referer
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "frame-ancestors 'none'",
    };
    if (!keyMatches(url.searchParams.get('key'))) {
      res.writeHead(401, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : ACCESS_DENIED_PAGE);
      return;
    }
    const file = await opts.ui.get(['index.html']);
    if (!file) {
      res.writeHead(503, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : NOT_BUILT_PAGE);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES['.html']!, 'Content-Length': file.size });
    if (req.method === 'HEAD') return void res.end();
    pipeFile(file, res);
  }

  async function asset(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const segments = assetSegments(pathname);
    const file = segments && (await opts.ui.get(segments));
    if (!file) return sendText(res, 404, 'not found\n');
    const ext = path.extname(segments[segments.length - 1]!).toLowerCase();
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'Content-Length': file.size,
      'X-Content-Type-Options': 'nosniff',
      // vite names the files under assets/ by their content hash
      'Cache-Control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    pipeFile(file, res);
  }

  /** The file as it is when asked (a running task's log grows: the length sent is the one announced). */
  async function downloadTaskLog(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!keyMatches(url.searchParams.get('key'))) return sendText(res, 401, 'access key missing or wrong\n');
    let taskId: string;
    try {
      taskId = decodeURIComponent(url.pathname.slice(TASK_LOG_DOWNLOAD_PATH.length));
    } catch {
      return sendText(res, 400, 'not a task id\n');
    }
    // the id becomes a file name: only the protocol's id characters, so "..", "/" and "\\" never get here
    if (!TASK_ID_PATTERN.test(taskId)) return sendText(res, 400, 'not a task id\n');
    const file = opts.taskLogFile ? await opts.taskLogFile(taskId) : null;
    if (!file) return sendText(res, 404, `task ${taskId} has no log file\n`);
    const handle = await open(file, READ_NO_FOLLOW);
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (err) {
      await handle.close();
      throw err;
    }
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': size,
      'Content-Disposition': `attachment; filename="${taskId}.log"`,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD' || size === 0) {
      await handle.close();
      return void res.end();
    }
    const stream = handle.createReadStream({ start: 0, end: size - 1 });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (url.pathname !== '/api') return refuse(socket, 404, 'Not Found');
    if (!keyMatches(url.searchParams.get('key'))) {
      log.warn('dashboard: refused a WebSocket with a wrong or missing access key');
      return refuse(socket, 401, 'Unauthorized');
    }
    if (!sameOrigin(req, port)) {
      log.warn(`dashboard: refused a cross-site WebSocket from ${String(req.headers.origin).slice(0, 200)}`);
      return refuse(socket, 403, 'Forbidden');
    }
    if (wss.clients.size >= MAX_CLIENTS) return refuse(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  }

  function onConnection(ws: WebSocket): void {
    alive.set(ws, true);
    const send = (msg: DashboardServerMessage): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        log.warn(`dashboard: a browser fell ${ws.bufferedAmount} bytes behind; disconnecting it`);
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify(msg));
    };
    const unsubscribe = api.subscribe((event: AgentEvent) => send({ kind: 'event', event }));
    ws.on('pong', () => alive.set(ws, true));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => unsubscribe());
    ws.on('message', (data, isBinary) => {
      // one Buffer per message (ws's default binaryType); a reply that cannot be sent ends the socket
      handleMessage(isBinary ? null : (data as Buffer).toString())
        .then(send)
        .catch(() => ws.terminate());
    });
  }

  async function handleMessage(text: string | null): Promise<DashboardServerMessage> {
    let raw: unknown;
    try {
      if (text === null) throw new Error('binary');
      raw = JSON.parse(text);
    } catch {
      return { kind: 'reply', id: -1, ok: false, error: 'messages are JSON text: {kind:"call", id, method, args}' };
    }
    const rawId = (raw as { id?: unknown } | null)?.id;
    const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) ? rawId : -1;
    const envelope = CallEnvelopeSchema.safeParse(raw);
    if (!envelope.success)
      return { kind: 'reply', id, ok: false, error: `invalid call: ${describeIssues(envelope.error)}` };
    return { kind: 'reply', id, ...(await dispatchCall(api, envelope.data.method, envelope.data.args)) };
  }

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new Error(`the dashboard cannot listen on ${HOST}:${opts.port}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen(opts.port, HOST, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.warn(`dashboard: ${err.message}`));
  port = (server.address() as AddressInfo).port;
  log.info(`dashboard listening on http://${HOST}:${port}/ (UI ${opts.ui.where})`);

  let closing: Promise<void> | null = null;
  return {
    url: `http://${HOST}:${port}/?key=${encodeURIComponent(key)}`,
    key,
    close: () =>
      (closing ??= (async () => {
        clearInterval(pinger);
        for (const ws of wss.clients) ws.close(1001, 'agent stopping');
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // give the close frames a moment, then cut whatever is left
          setTimeout(() => {
            for (const ws of wss.clients) ws.terminate();
            server.closeAllConnections();
          }, 200).unref();
        });
        wss.close();
      })()),
  };
}

// ---- helpers --------------------------------------------------------------------------------------

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * A browser always sends Origin on a WebSocket upgrade: it must be this server as the browser
 * addressed it (a loopback name, any port, for SSH tunnels). No Origin = not a browser; the key suffices.
 */
function sameOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const allowed = new Set([`http://${HOST}:${port}`, `http://localhost:${port}`]);
  const host = req.headers.host;
  if (host) {
    try {
      if (LOOPBACK_NAMES.has(new URL(`http://${host}`).hostname)) allowed.add(`http://${host}`.toLowerCase());
    } catch {
      // not a host name: only the fixed origins
    }
  }
  return allowed.has(origin.toLowerCase());
}

/** The path segments of an asset's URL path, or null: no `..`, no dot files, no NUL or backslash. */
function assetSegments(pathname: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter(Boolean);
  if (segments.length === 0 || segments.some((s) => s === '..' || s.startsWith('.'))) return null;
  return segments;
}

function pipeFile(file: UiFile, res: ServerResponse): void {
  const stream = file.open();
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\n\r\n${text}\n`,
  );
}

const page = (title: string, body: string) =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}code{background:#f2f2f2;padding:.1em .3em}</style>
</head><body>${body}</body></html>
`;

const ACCESS_DENIED_PAGE = page(
  'ATS Agent — access key needed',
  `<main data-testid="access-denied">
<h1>Access key needed</h1>
<p>This dashboard opens only with its access key. Open the URL the agent printed when it started,
the line <code>dashboard: http://127.0.0.1:PORT/?key=…</code> on its standard output.</p>
<p>Health and metrics need no key: <a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a>.</p>
</main>`,
);

const NOT_BUILT_PAGE = page(
  'ATS Agent — UI not built',
  `<main data-testid="ui-not-built">
<h1>The dashboard UI is not built</h1>
<p>This agent has no <code>dist/index.html</code> (run <code>npm run build</code>). The agent runs;
<a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a> and the API at <code>/api</code> work.</p>
</main>`,
);
