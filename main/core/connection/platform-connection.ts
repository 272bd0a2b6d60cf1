/**
 * The link to the platform (PROTOCOL.md "Connection"): token in the query and the Authorization
 * header, an `auth` frame, `auth_success`; 30 s to get there; reconnects with jittered backoff;
 * ping/pong both to find dead links and to confirm delivery of the outbox (or, with `ack` negotiated,
 * the platform's acks); AUTH_FAILED is fatal. It owns backpressure: `behind` turns on when the
 * unconfirmed frames pass the high mark while online and off when they fall below the low mark (or
 * the link goes down: offline, output goes to the outbox's file and tasks keep running), and also,
 * online or not, while more than the high mark waits for the outbox's file (a disk slower than the
 * tasks' output must not fill memory).
 */
import { EventEmitter } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import type { ConnectionPhase } from '../api.js';
import type { Logger } from '../logging/logger.js';
import { redactUrl } from '../logging/redact.js';
import { ErrorCode, ExitCode, FatalError } from '../protocol/codes.js';
import {
  AuthSuccessFrame,
  type AckFrame,
  type AgentInfo,
  type AlertFrame,
  type AuthFrame,
  type ErrorFrame,
  type HeartbeatFrame,
  type OnConfirmed,
} from '../protocol/frames.js';
import { Backoff } from './backoff.js';
import { Outbox, type OutboxFrame } from './outbox.js';
import { OutboxFile } from './outbox-file.js';
import { readCaFile } from './ca-file.js';
import { proxyAgent, proxyFor, redactProxy } from './proxy.js';

const AUTH_CLOSE_CODES = new Set([4001, 4003, 1008]);
/**
 * Inbound frames can carry large env vars; past this ws closes the socket with 1009 (message too
 * big), the agent logs the frame's size as an error and reconnects (the platform learns from the
 * 1009 close why).
 */
export const MAX_INBOUND_BYTES = 64 * 1024 * 1024;
/** the slowest uplink the pong deadline allows for when the socket has a backlog (64 KB/s) */
const SLOWEST_LINK_BYTES_PER_S = 64 * 1024;
/** unconfirmed bytes at which task output reading pauses (online), and resumes */
export const OUTBOX_HIGH_WATER = 8 * 1024 * 1024;
export const OUTBOX_LOW_WATER = 2 * 1024 * 1024;
/** bytes the socket may hold unsent before the outbox stops handing it frames */
const SEND_WINDOW_BYTES = 4 * 1024 * 1024;

export interface ConnectionOptions {
  url: string;
  /** read before every attempt, so that a rotated token file takes effect without a restart */
  token: () => string;
  agentInfo: AgentInfo;
  caFile?: string;
  /** config `server.proxy`: wins over HTTPS_PROXY / HTTP_PROXY (see proxy.ts) */
  proxy?: string;
  /** config `server.no_proxy`: wins over NO_PROXY */
  noProxy?: string[];
  /** where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read; process.env by default */
  env?: NodeJS.ProcessEnv;
  /** the outbox's write-ahead file (outbox.ts); without it the outbox is in memory only */
  outboxFile?: string;
  /** the outbox file's cap in bytes (outbox.ts DEFAULT_DISK_CAP) */
  outboxDiskCap?: number;
  maxRetries: number;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  backoff?: Backoff;
  log: Logger;
}

export interface ConnectionEvents {
  /** `attempt`: failed attempts in a row, when it changes */
  phase: [
    phase: ConnectionPhase,
    detail: { nextAttemptAt?: Date; error?: { code: string; message: string }; attempt?: number },
  ];
  authenticated: [frame: AuthSuccessFrame];
  /** a parsed inbound frame other than the auth ones; unusable text arrives as `invalid` */
  frame: [frame: unknown];
  invalid: [raw: string, reason: string];
  /** AUTH_FAILED, or CONNECTION_FAILED once max_retries is reached */
  fatal: [error: FatalError];
  /** the platform is behind (stop reading task output) or caught up again; fired on changes only */
  behind: [behind: boolean];
}

export class PlatformConnection extends EventEmitter<ConnectionEvents> {
  readonly outbox: Outbox;
  private socket: WebSocket | null = null;
  private authenticated = false;
  private stopped = false;
  private epoch = 0;
  private pingOutstanding = false;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private confirmScheduled = false;
  /** the platform announced `ack` in this connection's auth_success */
  private acking = false;
  private behindNow = false;
  private ackWarned = false;
  private readonly backoff: Backoff;
  private readonly log: Logger;

  constructor(private readonly opts: ConnectionOptions) {
    super();
    this.backoff = opts.backoff ?? new Backoff();
    this.log = opts.log;
    let warned = false;
    this.outbox = new Outbox({
      file: opts.outboxFile,
      diskCap: opts.outboxDiskCap,
      onWriteError: (err) => {
        if (!warned) this.log.error(`cannot write the outbox file (${err.message}): keeping frames in memory`);
        warned = true;
      },
      onNotice: (message) => this.log.warn(message),
      onWritten: () => {
        if (this.authenticated) this.flush();
        this.updateBehind();
      },
    });
    if (opts.outboxFile) this.importLegacySpill(path.join(path.dirname(opts.outboxFile), 'outbox.spill'));
  }

  get online(): boolean {
    return this.authenticated;
  }

  start(): void {
    this.connect();
  }

  /** Heartbeats, alerts and error replies: state of the moment, sent now or never (no task to ack them by). */
  sendNow(frame: HeartbeatFrame | AlertFrame | ErrorFrame): boolean {
    if (!this.authenticated || !this.socket) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * An agent before the write-ahead outbox kept frames past 16 MB in `state/outbox.spill` (JSON
   * lines): after an upgrade they join the outbox, after what it already holds, and the file goes.
   */
  private importLegacySpill(file: string): void {
    if (!existsSync(file)) return;
    let imported = 0;
    try {
      const legacy = new OutboxFile(file);
      const { lines } = legacy.scan(); // a torn last line is cut, as for the outbox's own file
      legacy.close();
      for (const { value } of lines) {
        const frame = value as OutboxFrame | null;
        if (frame?.type !== 'task_log' && frame?.type !== 'task_result') continue;
        this.outbox.push(frame);
        imported += 1;
      }
      rmSync(file, { force: true });
      this.log.info(`imported ${imported} frame(s) from the previous version's ${file}`);
    } catch (err) {
      this.log.error(`cannot import the previous version's ${file}: ${(err as Error).message}`);
    }
  }

  /** True when the platform confirms frames with `ack` on this connection. */
  get acknowledging(): boolean {
    return this.acking;
  }

  /** task_log and task_result: on disk before anything else, kept until the platform has them. */
  sendReliable(frame: OutboxFrame, onConfirmed?: OnConfirmed): void {
    this.outbox.push(frame, onConfirmed);
    if (this.authenticated) this.flush();
    this.updateBehind();
  }

  /** The platform's `ack` (validated by protocol/inbound.ts): only meaningful when it announced `ack`. */
  acknowledge(frame: AckFrame): void {
    if (!this.acking) {
      if (!this.ackWarned) this.log.warn('the platform sent an ack without announcing "ack" in auth_success: ignored');
      this.ackWarned = true;
      return;
    }
    const what = frame.result === true ? { result: true as const } : { seq: frame.seq ?? 0 };
    const outcome = this.outbox.ack(frame.task_id, what);
    if (outcome.ignored) this.log.debug(`ack for task ${frame.task_id.slice(0, 128)} ignored: ${outcome.ignored}`);
    if (this.outbox.hasUnsent) this.flush();
    this.updateBehind();
  }

  /** Stop reconnecting, give the outbox up to `flushMs` to be confirmed, then close with 1000. */
  async close(flushMs: number): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    try {
      await this.closeSocket(flushMs);
    } finally {
      this.outbox.close(); // what is still unconfirmed stays on disk for the next start
    }
  }

  private async closeSocket(flushMs: number): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const deadline = Date.now() + flushMs;
    while (this.authenticated && this.outbox.size > 0 && Date.now() < deadline) {
      this.requestConfirmation();
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, 'agent shutting down');
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const url = new URL(this.opts.url);
    this.emit('phase', 'connecting', {});
    let token: string;
    let ca: string[] | undefined;
    let proxy: URL | null;
    try {
      // a token file mid-rotation or a CA file being renewed: retry rather than give up
      token = this.opts.token();
      url.searchParams.set('token', token);
      ca = this.opts.caFile ? [...rootCertificates, readCaFile(this.opts.caFile)] : undefined;
      proxy = proxyFor(url, { proxy: this.opts.proxy, noProxy: this.opts.noProxy, env: this.opts.env ?? process.env });
    } catch (err) {
      this.scheduleRetry({ code: ErrorCode.CONNECTION_FAILED, message: (err as Error).message });
      return;
    }
    const via = proxy ? ` via proxy ${redactProxy(proxy)}` : '';
    this.log.info(`connecting to ${redactUrl(url.toString())}${via}`);
    const agent = proxy ? proxyAgent(proxy) : undefined;
    let failure: { code: string; message: string } | null = null;
    /** the proxy answered CONNECT with something else than 200: its answer is not the platform's */
    let proxyRefused = false;
    agent?.once('proxyConnect', ({ statusCode, statusText }: { statusCode: number; statusText: string }) => {
      if (statusCode === 200) return;
      proxyRefused = true;
      failure = {
        code: ErrorCode.CONNECTION_FAILED,
        message: `the proxy ${redactProxy(proxy!)} refused the tunnel to ${url.host} (HTTP ${statusCode}${statusText ? ` ${statusText}` : ''})`,
      };
    });
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: this.opts.connectTimeoutMs ?? 30_000,
      maxPayload: MAX_INBOUND_BYTES,
      perMessageDeflate: false,
      ca,
      agent,
    });
    this.socket = socket;
    const authTimer = setTimeout(() => {
      failure = { code: ErrorCode.CONNECTION_FAILED, message: 'no auth_success within the connect timeout' };
      socket.terminate();
    }, this.opts.connectTimeoutMs ?? 30_000);

    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (proxyRefused) {
        // failure already says so; a proxy's 403 must not pass for the platform refusing the token
      } else if (status === 401 || status === 403) {
        this.fail(
          new FatalError(
            ErrorCode.AUTH_FAILED,
            `the platform refused the token (HTTP ${status})`,
            ExitCode.AUTH_FAILED,
          ),
        );
      } else {
        failure = { code: ErrorCode.CONNECTION_FAILED, message: `the platform answered HTTP ${status} to the upgrade` };
      }
      socket.terminate();
    });
    socket.on('open', () => {
      this.emit('phase', 'authenticating', {});
      const auth: AuthFrame = { type: 'auth', token, agent_info: this.opts.agentInfo };
      socket.send(JSON.stringify(auth));
    });
    socket.on('message', (data) => {
      // a link that delivers frames is alive: a pong queued behind a burst of big frames is late, not lost
      if (this.socket === socket) this.pongTimer?.refresh();
      // one Buffer per message, text or binary alike (ws's default binaryType, 'nodebuffer')
      const text = (data as Buffer).toString('utf8');
      this.onMessage(text, socket, authTimer);
    });
    socket.on('pong', (payload) => this.onPong(payload));
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws closes with 1009; its receiver knows how long the frame said it was
        const size = (socket as unknown as { _receiver?: { _totalPayloadLength?: unknown } })._receiver
          ?._totalPayloadLength;
        const what = typeof size === 'number' && size > 0 ? `frame of ${size} bytes` : 'frame';
        const message = `the platform sent a ${what}, which exceeds the ${MAX_INBOUND_BYTES / 1048576} MiB limit; closing with 1009 and reconnecting`;
        this.log.error(message);
        failure ??= { code: ErrorCode.CONNECTION_FAILED, message };
        return;
      }
      failure ??= { code: ErrorCode.CONNECTION_FAILED, message: `${describeSocketError(err)}${via}` };
    });
    socket.on('close', (code, reasonBuffer) => {
      clearTimeout(authTimer);
      const reason = reasonBuffer.toString();
      const wasOnline = this.authenticated;
      this.detach();
      if (this.stopped) return;
      if (AUTH_CLOSE_CODES.has(code)) {
        this.fail(
          new FatalError(
            ErrorCode.AUTH_FAILED,
            `the platform closed the connection for authentication (code ${code}${reason ? `: ${reason}` : ''})`,
            ExitCode.AUTH_FAILED,
          ),
        );
        return;
      }
      if (wasOnline) {
        this.log.warn(`connection lost (code ${code}${reason ? `: ${reason}` : ''}); reconnecting`);
        this.backoff.afterDrop();
      }
      failure ??= {
        code: ErrorCode.CONNECTION_FAILED,
        message: `connection closed (code ${code}${reason ? `: ${reason}` : ''})`,
      };
      this.scheduleRetry(failure);
    });
  }

  private onMessage(text: string, socket: WebSocket, authTimer: NodeJS.Timeout): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.emit('invalid', text, 'not JSON');
      return;
    }
    const type = (frame as { type?: unknown } | null)?.type;
    if (type === 'auth_failed') {
      const detail = frame as { message?: unknown; reason?: unknown };
      const why =
        typeof detail.message === 'string'
          ? detail.message
          : typeof detail.reason === 'string'
            ? detail.reason
            : 'token rejected';
      this.fail(new FatalError(ErrorCode.AUTH_FAILED, `the platform rejected the token: ${why}`, ExitCode.AUTH_FAILED));
      socket.terminate();
      return;
    }
    if (type === 'auth_success') {
      if (this.authenticated) {
        // once is enough: a second one must not switch the work dir or restart the session
        this.emit('invalid', text, 'auth_success after the connection was already authenticated');
        return;
      }
      const parsed = AuthSuccessFrame.safeParse(frame);
      if (!parsed.success) {
        this.emit('invalid', text, `auth_success: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        return;
      }
      clearTimeout(authTimer);
      this.authenticated = true;
      this.acking = parsed.data.features?.includes('ack') ?? false;
      this.backoff.reset();
      this.emit('phase', 'online', {});
      this.emit('authenticated', parsed.data);
      this.startPinging(socket);
      this.outbox.requeueUnconfirmed();
      this.flush();
      return;
    }
    if (!this.authenticated) {
      this.emit('invalid', text, 'frame before auth_success');
      return;
    }
    this.emit('frame', frame);
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || !this.authenticated) return;
    for (const data of this.outbox.takeUnsent(this.epoch)) {
      socket.send(data, { binary: false });
      // a backlog read back from the file goes out a window at a time, not all into memory at once;
      // the next pong or ack sends more
      if (socket.bufferedAmount > SEND_WINDOW_BYTES) break;
    }
    this.requestConfirmation();
  }

  /** One ping in flight at a time: its pong confirms every frame sent before it. */
  private requestConfirmation(): void {
    if (this.acking) return; // acks confirm; the interval's pings only watch the link
    if (this.confirmScheduled || this.pingOutstanding || !this.outbox.awaitingConfirmation) return;
    this.confirmScheduled = true;
    setImmediate(() => {
      this.confirmScheduled = false;
      this.ping();
    });
  }

  private ping(): void {
    const socket = this.socket;
    if (!socket || !this.authenticated || this.pingOutstanding) return;
    const payload = String(this.epoch);
    this.epoch += 1;
    this.pingOutstanding = true;
    socket.ping(payload);
    // the ping queues behind what the socket still has to send: a slow link is not a dead one
    const backlogMs = (socket.bufferedAmount / SLOWEST_LINK_BYTES_PER_S) * 1000;
    this.pongTimer = setTimeout(
      () => {
        this.log.warn('no pong from the platform in time; the link is dead, reconnecting');
        socket.terminate();
      },
      (this.opts.pongTimeoutMs ?? 10_000) + backlogMs,
    );
  }

  private onPong(payload: Buffer): void {
    // only the answer to our outstanding ping confirms anything (an unsolicited pong is ignored)
    if (!this.pingOutstanding || payload.toString() !== String(this.epoch - 1)) return;
    const epoch = this.epoch - 1;
    this.pingOutstanding = false;
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
    // with ack negotiated a pong proves only that the platform's socket read the bytes
    if (!this.acking) this.outbox.confirm(epoch);
    if (this.outbox.hasUnsent) this.flush();
    else if (this.outbox.awaitingConfirmation) this.requestConfirmation();
    this.updateBehind();
  }

  /** The one backpressure signal: unconfirmed bytes against the marks while online, unwritten ones always. */
  private updateBehind(): void {
    const pending = this.authenticated ? this.outbox.pendingBytes : 0;
    const waiting = Math.max(pending, this.outbox.unwrittenBytes);
    const behind = this.behindNow ? waiting > OUTBOX_LOW_WATER : waiting > OUTBOX_HIGH_WATER;
    if (behind === this.behindNow) return;
    this.behindNow = behind;
    this.emit('behind', behind);
  }

  private startPinging(socket: WebSocket): void {
    this.pingTimer = setInterval(() => {
      if (this.socket === socket) this.ping();
    }, this.opts.pingIntervalMs ?? 15_000);
  }

  private detach(): void {
    this.authenticated = false;
    this.acking = false;
    this.pingOutstanding = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pingTimer = this.pongTimer = null;
    this.socket?.removeAllListeners();
    this.socket?.on('error', () => {});
    this.socket = null;
    this.outbox.requeueUnconfirmed();
    this.updateBehind();
  }

  private scheduleRetry(error: { code: string; message: string }): void {
    if (this.opts.maxRetries > 0 && this.backoff.attempts >= this.opts.maxRetries) {
      this.fail(
        new FatalError(
          ErrorCode.CONNECTION_FAILED,
          `could not connect after ${this.backoff.attempts} attempts: ${error.message}`,
          ExitCode.CONNECTION_FAILED,
        ),
      );
      return;
    }
    const delay = this.backoff.next();
    const nextAttemptAt = new Date(Date.now() + delay);
    this.log.warn(`${error.message}; next attempt in ${(delay / 1000).toFixed(1)} s`);
    this.emit('phase', 'reconnecting', { nextAttemptAt, error, attempt: this.backoff.attempts });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private fail(error: FatalError): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.emit('phase', error.code === ErrorCode.AUTH_FAILED ? 'auth_failed' : 'stopped', {
      error: { code: error.code, message: error.message },
    });
    this.emit('fatal', error);
  }
}

const TLS_CERT_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT(_LOCALLY)?|VERIFY_LEAF_SIGNATURE)|CERT_[A-Z_]+)$/;

export function describeSocketError(err: Error & { code?: string }): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ENOTFOUND') return 'host not found';
  if (err.code === 'ETIMEDOUT' || /timed out/i.test(err.message)) return 'connection timed out';
  if ((err.code && TLS_CERT_CODES.test(err.code)) || /certificate|self.signed|unable to verify/i.test(err.message)) {
    return `TLS certificate rejected: ${err.message}${err.code ? ` (${err.code})` : ''}; trust the platform's CA with --ca-file or server.ca_file`;
  }
  if (err.code === 'EPROTO' || /wrong version number|ssl3_get_record|packet length too long/i.test(err.message)) {
    return `TLS handshake failed: ${err.message} (is the server really speaking wss://?)`;
  }
  return err.message;
}
