/**
 * Registration's exchange (PROTOCOL.md, Registration): a registration token for an agent token, over
 * one WebSocket and one `register` frame. Shared by `ats-agent register` (which writes the token to a
 * file) and the desktop's first-run form (which stores it sealed). The issued token is only returned.
 */
import os from 'node:os';
import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import { agentTags } from '../config/tags.js';
import { ExitCode, FatalError } from '../protocol/codes.js';
import { readCaFile } from './ca-file.js';
import { proxyAgent, proxyFor } from './proxy.js';

const REGISTER_TIMEOUT_MS = 30_000;

export interface RegistrationRequest {
  registrationToken: string;
  serverUrl: string;
  /** configured tags; os: and arch: are added */
  tags: string[];
  caFile?: string;
  version: string;
  mode: 'gui' | 'headless';
}

export interface Registered {
  token: string;
  environmentId: string;
}

/**
 * Resolves with the issued token; rejects with a FatalError: AUTH_FAILED (exit 3) when the platform
 * refuses the registration token, CONNECTION_FAILED (exit 4) when it cannot be reached or answers
 * nothing usable, USAGE (exit 2) for a CA file that holds no certificate.
 */
export function requestAgentToken(opts: RegistrationRequest): Promise<Registered> {
  const url = new URL(opts.serverUrl);
  const proxy = proxyFor(url, { env: process.env });
  const ca = opts.caFile ? [...rootCertificates, readCa(opts.caFile)] : undefined;
  const tags = agentTags(opts.tags);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${opts.registrationToken}` },
      ca,
      agent: proxy ? proxyAgent(proxy) : undefined,
      handshakeTimeout: REGISTER_TIMEOUT_MS,
    });
    let done = false;
    const finish = (err: FatalError | null, registered?: Registered) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'registered');
      else socket.terminate();
      if (err) reject(err);
      else resolve(registered!);
    };
    const timer = setTimeout(
      () => finish(connectionFailed(`no answer from ${url.host} within ${REGISTER_TIMEOUT_MS / 1000} s`)),
      REGISTER_TIMEOUT_MS,
    );
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      finish(
        status === 401 || status === 403
          ? refused(`the platform refused the registration token (HTTP ${status})`)
          : connectionFailed(`the platform answered the upgrade with HTTP ${status}`),
      );
    });
    socket.on('error', (err) => finish(connectionFailed(`cannot reach ${url.host}: ${err.message}`)));
    socket.on('close', (code) =>
      finish(
        code === 4001
          ? refused('the platform refused the registration token')
          : connectionFailed(`closed (${code}) before answering`),
      ),
    );
    socket.on('open', () => {
      socket.send(
        JSON.stringify({
          type: 'register',
          registration_token: opts.registrationToken,
          agent_info: {
            version: opts.version,
            platform: process.platform,
            node_version: process.versions.node,
            hostname: os.hostname(),
            mode: opts.mode,
            tags,
          },
          tags,
        }),
      );
    });
    socket.on('message', (data) => {
      let frame: { type?: unknown; token?: unknown; environment_id?: unknown; message?: unknown };
      try {
        // one Buffer per message (ws's default binaryType, 'nodebuffer')
        frame = JSON.parse((data as Buffer).toString('utf8')) as typeof frame;
      } catch {
        return;
      }
      if (frame.type === 'auth_failed') {
        const why = typeof frame.message === 'string' ? `: ${frame.message.slice(0, 200)}` : '';
        finish(refused(`the platform refused the registration token${why}`));
      } else if (frame.type === 'registered') {
        if (typeof frame.token !== 'string' || !frame.token.trim()) {
          finish(new FatalError('USAGE', 'the platform answered `registered` without a token', ExitCode.UNEXPECTED));
          return;
        }
        finish(null, {
          token: frame.token.trim(),
          environmentId: typeof frame.environment_id === 'string' ? frame.environment_id : '',
        });
      }
    });
  });
}

function readCa(file: string): string {
  try {
    return readCaFile(file);
  } catch (err) {
    throw new FatalError('USAGE', (err as Error).message, ExitCode.USAGE);
  }
}

function refused(message: string): FatalError {
  return new FatalError('AUTH_FAILED', message, ExitCode.AUTH_FAILED);
}

function connectionFailed(message: string): FatalError {
  return new FatalError('CONNECTION_FAILED', message, ExitCode.CONNECTION_FAILED);
}
