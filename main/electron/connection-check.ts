/**
 * Tries settings with a real connection, nothing more: a PlatformConnection opened with the new URL
 * and token, done at `auth_success` (or at the first clear failure) and closed with 1000. No Agent:
 * a second Agent on the same work dir would recover the running agent's journal and end its tasks.
 *
 * Known limit: between `auth_success` and the close the platform sees the node twice; a task it sends
 * to the check's connection in that moment is not run (the platform gets no result and, as for any
 * dropped connection, sends it again or reports it).
 */
import os from 'node:os';
import { AGENT_VERSION } from '../core/agent.js';
import type { AgentConfig } from '../core/config/schema.js';
import { PlatformConnection } from '../core/connection/platform-connection.js';
import type { Logger } from '../core/logging/logger.js';
import { redactUrl } from '../core/logging/redact.js';
import type { AgentInfo } from '../core/protocol/frames.js';

export type CheckResult = { ok: true } | { ok: false; message: string };

export interface ConnectionCheckOptions {
  config: AgentConfig;
  token: string;
  agentId: string;
  timeoutMs: number;
  /** failed attempts in a row after which the check gives up */
  maxAttempts: number;
  /** where the check's own lines go (the running agent's log); the new token is masked first */
  log: Logger;
}

export class ConnectionCheck {
  readonly result: Promise<CheckResult>;
  private readonly connection: PlatformConnection;
  private finish!: (r: CheckResult) => void;

  constructor(opts: ConnectionCheckOptions) {
    const { config, token } = opts;
    const url = redactUrl(config.server.url);
    const agentInfo: AgentInfo = {
      version: AGENT_VERSION,
      platform: process.platform,
      node_version: process.versions.node,
      ...(process.versions.electron ? { electron_version: process.versions.electron } : {}),
      hostname: os.hostname(),
      agent_id: opts.agentId,
      mode: 'gui',
    };
    this.connection = new PlatformConnection({
      url: config.server.url,
      token: () => token,
      agentInfo,
      caFile: config.server.ca_file,
      proxy: config.server.proxy,
      noProxy: config.server.no_proxy,
      maxRetries: config.server.max_retries,
      log: masked(opts.log, token),
    });
    let settled = false;
    this.result = new Promise<CheckResult>((resolve) => {
      this.finish = (r) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
    }).then(async (r) => {
      await this.connection.close(0);
      return r;
    });
    let last: { code: string; message: string } | undefined;
    const timer = setTimeout(
      () =>
        this.finish({
          ok: false,
          message: `could not connect to ${url} within ${Math.round(opts.timeoutMs / 1000)} s${last ? `: ${last.message}` : ''}`,
        }),
      opts.timeoutMs,
    );
    this.connection.on('phase', (phase, detail) => {
      if (detail.error) last = detail.error;
      if (phase === 'online') this.finish({ ok: true });
      else if (phase === 'auth_failed')
        this.finish({ ok: false, message: detail.error?.message ?? 'the platform refused the token (AUTH_FAILED)' });
      else if (phase === 'reconnecting' && (detail.attempt ?? 0) >= opts.maxAttempts)
        this.finish({ ok: false, message: `cannot connect to ${url}: ${detail.error?.message ?? 'no answer'}` });
    });
    this.connection.on('fatal', (error) => this.finish({ ok: false, message: `${error.code}: ${error.message}` }));
    this.connection.start();
  }

  /** Ends the check now (the app is quitting). */
  cancel(): Promise<CheckResult> {
    this.finish({ ok: false, message: 'the agent is shutting down' });
    return this.result;
  }
}

function masked(log: Logger, secret: string): Logger {
  const clean = (text: string) => (secret ? text.split(secret).join('***') : text);
  return {
    debug: (msg) => log.debug(clean(msg)),
    info: (msg) => log.info(clean(msg)),
    warn: (msg) => log.warn(clean(msg)),
    error: (msg) => log.error(clean(msg)),
  };
}
