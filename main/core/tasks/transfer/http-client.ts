/**
 * HTTP(S) for a task's files and artifacts, with the connection's own proxy (proxy.ts: CONNECT,
 * NO_PROXY) and CA (ca-file.ts) settings, and the token rule of PROTOCOL.md: `Authorization: Bearer`
 * goes to the platform's own origin only (the host and port of server.url, never from wss:// to plain
 * http://), re-decided at every redirect, so a redirect to storage elsewhere never carries it.
 * Bodies are streams both ways: nothing is held in memory beyond a socket's buffers.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { readCaFile } from '../../connection/ca-file.js';
import { proxyAgent, proxyFor } from '../../connection/proxy.js';
import { urlForLog } from '../../protocol/transfer-fields.js';

export interface HttpSettings {
  /** server.url: the only origin the token is sent to */
  serverUrl: string;
  token: () => string;
  caFile?: string;
  proxy?: string;
  noProxy?: string[];
  env: NodeJS.ProcessEnv;
  /** a request fails after this long without a byte either way */
  idleTimeoutMs: number;
}

export interface Request {
  method: 'GET' | 'PUT';
  url: URL;
  headers?: Record<string, string>;
  /** the body, streamed; with `length` as Content-Length */
  body?: () => Readable;
  length?: number;
  signal: AbortSignal;
}

/** An error with the words a person reads in the task log; `retryable` for a network error or a 5xx. */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransferError';
  }
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function effectivePort(url: URL): string {
  return url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
}

function secure(url: URL): boolean {
  return url.protocol === 'https:' || url.protocol === 'wss:';
}

/** Does the token go to `target`? Same host name and port as server.url, and no weaker transport. */
export function tokenGoesTo(target: URL, serverUrl: string): boolean {
  let server: URL;
  try {
    server = new URL(serverUrl);
  } catch {
    return false;
  }
  const host = (u: URL) => u.hostname.toLowerCase().replace(/\.$/, '');
  return (
    host(target) === host(server) &&
    effectivePort(target) === effectivePort(server) &&
    (secure(target) || !secure(server))
  );
}

/** One request, following redirects for a GET; resolves with the final response (any status). */
export async function send(req: Request, settings: HttpSettings): Promise<IncomingMessage> {
  let url = req.url;
  for (let hop = 0; ; hop++) {
    const res = await once(req, url, settings);
    const location = res.headers.location;
    if (req.method !== 'GET' || !REDIRECTS.has(res.statusCode ?? 0) || !location) return res;
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new TransferError(`more than ${MAX_REDIRECTS} redirects`, false);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new TransferError(`a redirect to an unusable location ${JSON.stringify(location.slice(0, 200))}`, false);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new TransferError(`a redirect to ${urlForLog(next.href)}, which is not http(s)`, false);
    url = next;
  }
}

function once(req: Request, url: URL, settings: HttpSettings): Promise<IncomingMessage> {
  const headers: Record<string, string> = { 'user-agent': 'ats-agent', ...req.headers };
  if (tokenGoesTo(url, settings.serverUrl)) headers.authorization = `Bearer ${settings.token()}`;
  if (req.length !== undefined) headers['content-length'] = String(req.length);
  const proxy = proxyFor(url, { proxy: settings.proxy, noProxy: settings.noProxy, env: settings.env });
  const ca =
    settings.caFile && url.protocol === 'https:' ? [...rootCertificates, readCaFile(settings.caFile)] : undefined;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: req.method,
      headers,
      agent: proxy ? proxyAgent(proxy) : undefined,
      ca,
      signal: req.signal,
      timeout: settings.idleTimeoutMs,
    });
    request.on('timeout', () =>
      request.destroy(
        new TransferError(`no data for ${Math.round(settings.idleTimeoutMs / 1000)} s (timed out)`, true),
      ),
    );
    request.on('error', (err) => reject(describe(err, req.signal)));
    request.on('response', (res) => {
      // an error after the headers (a timeout, a reset) must reach whoever reads the body
      request.on('error', (err) => res.destroy(describe(err, req.signal)));
      resolve(res);
    });
    if (!req.body) {
      request.end();
      return;
    }
    const body = req.body();
    body.on('error', (err) => request.destroy(err));
    // an early answer (a 4xx before the end), an abort or a reset: stop reading the file
    request.once('close', () => body.destroy());
    body.pipe(request);
  });
}

/** A socket or TLS error in words, keeping its code; an abort stays an abort. */
export function describe(err: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted) return new TransferError('stopped', false, { cause: signal.reason });
  if (err instanceof TransferError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ? ` (${e.code})` : '';
  return new TransferError(`${e?.message ?? String(err)}${code}`, true, { cause: err });
}

/** A size and, for a transfer that took `ms`, its rate, for a progress line. */
export function sizeAndRate(bytes: number, ms?: number): string {
  const size =
    bytes < 1024 ? `${bytes} B` : bytes < MB ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / MB).toFixed(1)} MB`;
  if (ms === undefined) return size;
  const s = Math.max(ms, 1) / 1000;
  return `${size} in ${s.toFixed(1)} s${bytes >= MB ? ` (${(bytes / MB / s).toFixed(1)} MB/s)` : ''}`;
}

const MB = 1024 * 1024;

/** 5xx, 408 and 429 may pass on a retry; other statuses will not. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
