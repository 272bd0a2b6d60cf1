/**
 * The platform's side of the agent protocol (docs/protocol.md), as a real WebSocket server on loopback.
 * Used by integration and Playwright tests, the benchmark, the demo and `serve.ts`.
 *
 * Records are typed `any` on purpose: they are whatever the agent under test sent, and tests must
 * be able to look at malformed frames too.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the records are received JSON of any shape, as said above */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import type { AuthSuccessFrame } from '../../main/core/protocol/frames.js';

export interface SimulatorOptions {
  tokens: Iterable<string>;
  host?: string;
  /** 0 = a random free port */
  port?: number;
  path?: string;
  environmentId?: string;
  /** sent in auth_success; omitted when undefined */
  workDir?: string;
  /** where a bad token is refused: HTTP 401 at the upgrade, or auth_failed + close 4001 after `auth` */
  rejectAt?: 'upgrade' | 'frame';
  /** false: keep only each task_log's line count, not its text (floods would fill the test's memory) */
  keepLogText?: boolean;
  /** serve wss:// with this key and certificate (PEM) */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** registration tokens `register` accepts; each registration issues a new agent token (PROTOCOL.md, Registration) */
  registrationTokens?: Iterable<string>;
  /**
   * Application acknowledgement (PROTOCOL.md second round), when the agent announces "ack":
   * 'auto' (default) announces it and acks every task_log and task_result on receipt; 'never'
   * announces it and acks nothing (a platform that stores nothing); false speaks no ack at all
   * (ping/pong confirms, as with a platform that predates it).
   */
  ack?: 'auto' | 'never' | false;
}

export interface DispatchedTask {
  task_id: string;
  command: string;
  work_dir?: string;
  env_vars?: Record<string, unknown>;
  timeout?: number;
  /** PROTOCOL.md second round: higher starts first */
  priority?: number;
  /** task_ids that must each end `success` on the agent first */
  depends_on?: string[];
  /** PROTOCOL.md second round: globs of JUnit/xUnit files, summed in task_result.test_report */
  test_reports?: string[];
  /** PROTOCOL.md second round: answered with task_result.limits_applied */
  limits?: { memory_mb?: number; cpu_percent?: number; max_processes?: number };
  /** PROTOCOL.md second round */
  files?: Array<{ url: string; path: string; sha256?: string; mode?: number | string }>;
  artifacts?: { paths: string[]; upload_url: string };
}

/**
 * A file the simulator serves at `/files/<name>` (PROTOCOL.md second round, `files`). Without
 * `public`, only a request with a valid agent token gets it (401 otherwise), as a platform's own
 * storage would.
 */
export interface ServedFile {
  content?: string | Buffer;
  /** instead of content: this many bytes of a fixed pattern, generated as they are sent */
  size?: number;
  public?: boolean;
  /** answer with this status and no body */
  status?: number;
  /** send the headers and this many bytes, then nothing more (a stalled server) */
  stallAfterBytes?: number;
  /** answer 302 to this URL */
  redirectTo?: string;
}

/** An artifact received at `PUT /artifacts/<path>`: what arrived, hashed as it came. */
export interface ReceivedUpload {
  path: string;
  size: number;
  sha256: string;
  /** the body when at most 1 MB */
  content?: Buffer;
  attempts: number;
}

/** An HTTP request to the simulator's file and artifact endpoints. */
export interface HttpRecord {
  method: string;
  path: string;
  host: string | undefined;
  authorization: string | undefined;
  status: number;
}

const PATTERN = Buffer.alloc(64 * 1024, 'ats-agent simulator pattern 0123456789\n');

/** The bytes a `size` file is made of, generated (the same for the same size). */
export function* patternChunks(size: number): Generator<Buffer> {
  for (let sent = 0; sent < size; sent += PATTERN.length)
    yield PATTERN.subarray(0, Math.min(PATTERN.length, size - sent));
}

export function patternSha256(size: number): string {
  const hash = createHash('sha256');
  for (const chunk of patternChunks(size)) hash.update(chunk);
  return hash.digest('hex');
}

/** A frame as the agent sent it (see the top of this file): tests read the fields they assert. */
export type ReceivedFrame = any;

/** A stand-in for "not yet": anything else a waitFor check returns resolves it, 0 and '' included. */
type Pending = undefined | null | false;

export class PlatformSimulator extends EventEmitter {
  readonly frames: Array<{ at: number; frame: any }> = [];
  readonly authFrames: any[] = [];
  /** `register` frames received, and the agent token each accepted one was issued */
  readonly registrations: Array<{ frame: any; token: string | null }> = [];
  readonly heartbeats: Array<{ at: number; frame: any }> = [];
  /** the agent's `error` frames, plus `{ type: 'unparseable' | 'socket_error', ... }` entries of our own */
  readonly errors: any[] = [];
  /** every upgrade request, refused ones included (an agent must not retry after a 401) */
  upgradeCount = 0;
  /** accepted WebSocket connections */
  connectionCount = 0;
  authCount = 0;
  lastUpgradeHeaders: IncomingHttpHeaders | undefined;
  lastUpgradeUrl: string | undefined;

  private readonly tokens: Set<string>;
  private readonly registrationTokens: Set<string>;
  private readonly opts: Required<
    Omit<SimulatorOptions, 'tokens' | 'workDir' | 'tls' | 'keepLogText' | 'registrationTokens'>
  > &
    Pick<SimulatorOptions, 'workDir' | 'tls' | 'keepLogText'>;
  /** sockets on which ack was negotiated, and whether this simulator acks there */
  private readonly acking = new Map<WebSocket, boolean>();
  /** ack frames sent, in order */
  readonly acksSent: any[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  /** authenticated sockets and the token each one used, for revokeToken() */
  private readonly sessions = new Map<WebSocket, string>();
  private readonly logsByTask = new Map<string, any[]>();
  private readonly resultsByTask = new Map<string, any[]>();
  private readonly waiters = new Set<() => void>();
  private server: Server | undefined;
  private port: number;
  private readonly files = new Map<string, ServedFile>();
  /** artifact uploads by path, the latest attempt's content */
  readonly uploads = new Map<string, ReceivedUpload>();
  readonly httpRequests: HttpRecord[] = [];
  /** the next uploads to answer with a status instead of storing them */
  private uploadFailures: number[] = [];

  constructor(opts: SimulatorOptions) {
    super();
    this.tokens = new Set(opts.tokens);
    this.registrationTokens = new Set(opts.registrationTokens ?? []);
    this.opts = {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      path: opts.path ?? '/ws/agent',
      environmentId: opts.environmentId ?? 'env-simulator',
      workDir: opts.workDir,
      rejectAt: opts.rejectAt ?? 'upgrade',
      tls: opts.tls,
      keepLogText: opts.keepLogText,
      ack: opts.ack ?? 'auto',
    };
    this.port = this.opts.port;
  }

  get url(): string {
    return `${this.opts.tls ? 'wss' : 'ws'}://${this.opts.host}:${this.port}${this.opts.path}`;
  }

  get connected(): boolean {
    return this.sessions.size > 0;
  }

  async start(): Promise<string> {
    if (this.server) return this.url;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.onHttp(req, res);
    const server: Server = this.opts.tls
      ? createTlsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, onRequest)
      : createServer(onRequest);
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.opts.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await Promise.all([...this.sockets].map((ws) => closeGently(ws, 1001, 'platform stopping')));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A platform restart: the agent sees its connection end and must reconnect to the same port. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    await sleep(downMs);
    await this.start();
  }

  // The senders below go to every authenticated agent and throw when there is none: a test that
  // sends into the void would otherwise fail later and far from the cause.
  dispatch(task: DispatchedTask | Record<string, unknown>): void {
    this.toAgents({ type: 'task', ...task });
  }

  cancel(taskId: string): void {
    this.toAgents({ type: 'cancel_task', task_id: taskId });
  }

  sendConfigUpdate(cfg: object): void {
    this.toAgents({ type: 'config_update', ...cfg });
  }

  /** Agent control (PROTOCOL.md second round): no new task starts until resume(). */
  pause(): void {
    this.toAgents({ type: 'pause' });
  }

  resume(): void {
    this.toAgents({ type: 'resume' });
  }

  /** Like pause; once nothing runs the agent closes with 1000 and exits 0. */
  drain(): void {
    this.toAgents({ type: 'drain' });
  }

  sendRaw(data: string): void {
    this.toAgents(data);
  }

  /** `register` frames with this registration token are accepted from now on. */
  acceptRegistrationToken(token: string): void {
    this.registrationTokens.add(token);
  }

  /** Later upgrades and `auth` frames with this token fail; `closeSessions` also ends current ones. */
  revokeToken(token: string, closeSessions = false): void {
    this.tokens.delete(token);
    if (!closeSessions) return;
    for (const [ws, used] of this.sessions) if (used === token) ws.close(4001, 'token revoked');
  }

  /** Abrupt loss: no close frame, like a network cut or a crashed platform. */
  dropConnections(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  closeConnections(code: number, reason?: string): void {
    for (const ws of this.sockets) ws.close(code, reason);
  }

  /** task_log frames of a task, a redelivered `seq` counted once, in `seq` order. */
  logs(taskId: string): any[] {
    const bySeq = new Map<unknown, any>();
    (this.logsByTask.get(taskId) ?? []).forEach((f, i) => {
      const key = typeof f.seq === 'number' ? f.seq : `unnumbered-${i}`;
      if (!bySeq.has(key)) bySeq.set(key, f);
    });
    const order = (f: any) => (typeof f.seq === 'number' ? f.seq : Number.MAX_SAFE_INTEGER);
    return [...bySeq.values()].sort((a, b) => order(a) - order(b));
  }

  /** Lines received for a task (redeliveries counted once; a `partial` message joins the next); works with keepLogText false. */
  lineCount(taskId: string): number {
    return (
      this.logs(taskId).reduce((n, f) => n + f.lines - (f.partial ? 1 : 0), 0) +
      (this.logs(taskId).at(-1)?.partial ? 1 : 0)
    );
  }

  /** The text as the task wrote it, lines joined by "\n"; a `partial` message runs into the next. */
  output(taskId: string, stream?: 'stdout' | 'stderr' | 'agent'): string {
    let text = '';
    let continues = true;
    for (const f of this.logs(taskId)) {
      if (stream && (f.stream ?? (f.level === 'warning' ? 'stderr' : 'stdout')) !== stream) continue;
      text += (continues ? '' : '\n') + f.message;
      continues = f.partial === true;
    }
    return text;
  }

  results(taskId: string): any[] {
    return [...(this.resultsByTask.get(taskId) ?? [])];
  }

  /** The first result reported for the task (redeliveries are in results()). */
  result(taskId: string): any | undefined {
    return this.resultsByTask.get(taskId)?.[0];
  }

  /**
   * Resolves with the first value of `check` that is not undefined, null or false. `check` runs now,
   * on every frame received and on every connection event; if it throws, the promise rejects.
   */
  waitFor<T>(check: () => T | Pending, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(attempt);
      };
      const attempt = () => {
        try {
          const value = check();
          if (value === undefined || value === null || value === false) return;
          done();
          resolve(value);
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(attempt);
      attempt();
    });
  }

  private recheck(): void {
    for (const attempt of [...this.waiters]) attempt();
  }

  /** http(s)://host:port of this simulator; `host` another name for it (the token must not go there). */
  httpBase(host = this.opts.host): string {
    return `${this.opts.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  /** Serves `file` at /files/<name>; returns its URL (at `host`, another name for this server, if given). */
  serveFile(name: string, file: ServedFile, host?: string): string {
    this.files.set(name, file);
    return `${this.httpBase(host)}/files/${name.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Where a task's artifacts go: PUT <this>/<relative path> lands in uploads as `<prefix>/<path>`. */
  artifactsUrl(prefix: string, host?: string): string {
    return `${this.httpBase(host)}/artifacts/${encodeURIComponent(prefix)}`;
  }

  /** The next uploads are answered with these statuses, one each, before they are stored again. */
  failNextUploads(...statuses: number[]): void {
    this.uploadFailures.push(...statuses);
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const record: HttpRecord = {
      method: req.method ?? '',
      path: decodeURIComponent(url.pathname),
      host: req.headers.host,
      authorization: req.headers.authorization,
      status: 0,
    };
    this.httpRequests.push(record);
    const answer = (status: number, body = '') => {
      record.status = status;
      res.writeHead(status, { 'content-length': Buffer.byteLength(body) }).end(body);
      this.recheck();
    };
    const token = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const authorized = token !== undefined && this.tokens.has(token);
    if (req.method === 'GET' && url.pathname.startsWith('/files/')) {
      const file = this.files.get(record.path.slice('/files/'.length));
      if (!file) return answer(404, 'no such file\n');
      if (!file.public && !authorized) return answer(401, 'token required\n');
      if (file.status) return answer(file.status);
      if (file.redirectTo) {
        record.status = 302;
        res.writeHead(302, { location: file.redirectTo, 'content-length': 0 }).end();
        return;
      }
      return this.sendFile(file, res, record);
    }
    if (req.method === 'PUT' && url.pathname.startsWith('/artifacts/')) {
      if (!authorized) {
        req.resume();
        return answer(401, 'token required\n');
      }
      return this.receiveUpload(record.path.slice('/artifacts/'.length), req, answer);
    }
    answer(426, 'WebSocket only\n');
  }

  private sendFile(file: ServedFile, res: ServerResponse, record: HttpRecord): void {
    const content = file.content === undefined ? undefined : Buffer.from(file.content);
    const size = content?.length ?? file.size ?? 0;
    record.status = 200;
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
    const limit = file.stallAfterBytes ?? Infinity;
    const chunks = content ? [content][Symbol.iterator]() : patternChunks(size);
    let sent = 0;
    const pump = () => {
      for (;;) {
        if (sent >= limit) return; // a stalled server: the headers and part of the body, then nothing
        const next = chunks.next();
        if (next.done) return void res.end();
        const part = next.value.subarray(0, limit - sent);
        sent += part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
    };
    pump();
  }

  private receiveUpload(path: string, req: IncomingMessage, answer: (status: number, body?: string) => void): void {
    const earlier = this.uploads.get(path);
    const attempts = (earlier?.attempts ?? 0) + 1;
    const failWith = this.uploadFailures.shift();
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
      if (size <= 1024 * 1024) kept.push(chunk);
    });
    req.on('end', () => {
      if (failWith) {
        this.uploads.set(path, { path, size: 0, sha256: '', attempts });
        return answer(failWith);
      }
      this.uploads.set(path, {
        path,
        size,
        sha256: hash.digest('hex'),
        attempts,
        ...(size <= 1024 * 1024 ? { content: Buffer.concat(kept) } : {}),
      });
      answer(201);
    });
    req.on('error', () => answer(400));
  }

  /** Frames sent on a socket where ack was negotiated (stored here first, like a platform would). */
  private sendAck(ws: WebSocket, ack: object): void {
    this.acksSent.push(ack);
    ws.send(JSON.stringify(ack));
  }

  private toAgents(frame: object | string): void {
    if (this.sessions.size === 0) throw new Error('no authenticated agent is connected');
    const data = typeof frame === 'string' ? frame : JSON.stringify(frame);
    for (const ws of this.sessions.keys()) ws.send(data);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgradeCount++;
    this.lastUpgradeHeaders = req.headers;
    this.lastUpgradeUrl = req.url;
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname !== this.opts.path) return refuse(socket, 404, 'Not Found');
    const token = tokenOf(req, url);
    const valid = token !== undefined && (this.tokens.has(token) || this.registrationTokens.has(token));
    if (!valid && this.opts.rejectAt === 'upgrade') return refuse(socket, 401, 'Unauthorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, token));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage, upgradeToken: string | undefined): void {
    this.connectionCount++;
    this.sockets.add(ws);
    ws.on('message', (data) => this.onMessage(ws, upgradeToken, (data as Buffer).toString()));
    ws.on('error', (err) => this.errors.push({ type: 'socket_error', message: err.message, at: Date.now() }));
    ws.on('close', (code, reason) => {
      this.sockets.delete(ws);
      this.sessions.delete(ws);
      this.acking.delete(ws);
      this.emit('disconnect', code, reason.toString(), ws);
      this.recheck();
    });
    this.emit('connection', ws, req);
    this.recheck();
  }

  private onMessage(ws: WebSocket, upgradeToken: string | undefined, text: string): void {
    const at = Date.now();
    let frame: any;
    try {
      frame = JSON.parse(text);
    } catch {
      this.errors.push({ type: 'unparseable', data: text, at });
      this.recheck();
      return;
    }
    this.frames.push({ at, frame });
    switch (frame?.type) {
      case 'auth':
        this.authFrames.push(frame);
        this.onAuth(ws, upgradeToken, frame);
        break;
      case 'register':
        this.onRegister(ws, upgradeToken, frame);
        break;
      case 'heartbeat':
        this.heartbeats.push({ at, frame });
        break;
      case 'task_log':
        frame.lines = typeof frame.message === 'string' ? countLines(frame.message) : 0;
        if (this.opts.keepLogText === false) frame.message = '';
        push(this.logsByTask, frame.task_id, frame);
        if (this.acking.get(ws)) this.sendAck(ws, { type: 'ack', task_id: frame.task_id, seq: frame.seq });
        break;
      case 'task_result':
        push(this.resultsByTask, frame.task_id, frame);
        if (this.acking.get(ws)) this.sendAck(ws, { type: 'ack', task_id: frame.task_id, result: true });
        break;
      case 'error':
        this.errors.push(frame);
        break;
    }
    this.emit('frame', frame, ws);
    this.recheck();
  }

  private onRegister(ws: WebSocket, upgradeToken: string | undefined, frame: any): void {
    const rt = frame.registration_token;
    if (rt !== upgradeToken || !this.registrationTokens.has(rt)) {
      this.registrations.push({ frame, token: null });
      ws.send(JSON.stringify({ type: 'auth_failed', message: 'invalid registration token' }));
      ws.close(4001, 'invalid registration token');
      return;
    }
    const token = `tok-reg-${randomBytes(12).toString('hex')}`;
    this.tokens.add(token);
    this.registrations.push({ frame, token });
    ws.send(JSON.stringify({ type: 'registered', token, environment_id: this.opts.environmentId }));
  }

  private onAuth(ws: WebSocket, upgradeToken: string | undefined, frame: any): void {
    // The frame must repeat the token the connection was opened with, and it must still be valid.
    if (frame.token !== upgradeToken || !this.tokens.has(frame.token)) {
      ws.send(JSON.stringify({ type: 'auth_failed', message: 'invalid token' }));
      ws.close(4001, 'invalid token');
      return;
    }
    this.sessions.set(ws, frame.token);
    this.authCount++;
    const reply: AuthSuccessFrame = {
      type: 'auth_success',
      environment_id: this.opts.environmentId,
      server_time: new Date().toISOString(),
    };
    if (this.opts.workDir !== undefined) reply.work_dir = this.opts.workDir;
    const agentAcks = Array.isArray(frame.agent_info?.features) && frame.agent_info.features.includes('ack');
    if (this.opts.ack !== false) reply.features = ['seq', 'partial', 'ack', 'test_reports', 'limits', 'usage'];
    if (this.opts.ack !== false && agentAcks) this.acking.set(ws, this.opts.ack === 'auto');
    ws.send(JSON.stringify(reply));
    this.emit('auth', frame.agent_info);
  }
}

/** `?token=` or `Authorization: Bearer`; when both are sent they must agree. */
function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token') ?? undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (query !== undefined && bearer !== undefined && query !== bearer) return undefined;
  return query ?? bearer;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** A close handshake, but an agent that never answers it must not hold stop() up. */
function closeGently(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), 1000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(code, reason);
  });
}

function push(map: Map<string, any[]>, key: string, value: any): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function countLines(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
  return lines;
}
