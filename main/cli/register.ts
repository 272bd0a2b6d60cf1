/**
 * `ats-agent register`: trades a registration token for an agent token (PROTOCOL.md, Registration).
 * One WebSocket to the platform, one `register` frame; the `registered` token goes to --token-file
 * (written to a temporary file with mode 0600, then renamed over it) and never to stdout or stderr.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { Command, CommanderError } from 'commander';
import WebSocket from 'ws';
import { AGENT_VERSION } from '../core/agent.js';
import { agentTags, splitTags } from '../core/config/tags.js';
import { tagProblem } from '../core/config/schema.js';
import { readCaFile } from '../core/connection/ca-file.js';
import { proxyAgent, proxyFor } from '../core/connection/proxy.js';
import { ExitCode, FatalError } from '../core/protocol/codes.js';
import { CliExit } from './options.js';

const REGISTER_TIMEOUT_MS = 30_000;

export interface RegisterOptions {
  registrationToken: string;
  serverUrl: string;
  tokenFile: string;
  tags: string[];
  caFile?: string;
}

export function parseRegisterArgs(argv: string[], env: NodeJS.ProcessEnv): RegisterOptions {
  const program = new Command('ats-agent register')
    .description('Register this machine with the platform and write the agent token it issues to a file.')
    .option(
      '--registration-token <token>',
      'the registration token (or ATS_AGENT_REGISTRATION_TOKEN, which stays out of process lists)',
    )
    .requiredOption('--server-url <url>', 'platform WebSocket URL (ws:// or wss://)')
    .requiredOption('--token-file <file>', 'where the agent token is written (mode 0600)')
    .option('--tags <a,b>', 'comma-separated tags sent with the registration')
    .option('--ca-file <file>', 'extra CA certificate (PEM) to trust for wss://')
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nExit codes: 0 registered, 2 bad usage, 3 registration token refused, 4 platform unreachable.',
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new CliExit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    throw err;
  }
  const o = program.opts<{
    registrationToken?: string;
    serverUrl: string;
    tokenFile: string;
    tags?: string;
    caFile?: string;
  }>();
  const registrationToken = (o.registrationToken ?? env.ATS_AGENT_REGISTRATION_TOKEN ?? '').trim();
  if (!registrationToken)
    throw usage('a registration token is required: --registration-token or ATS_AGENT_REGISTRATION_TOKEN');
  if (!/^wss?:\/\//i.test(o.serverUrl))
    throw usage(`--server-url must start with ws:// or wss:// (got ${o.serverUrl})`);
  try {
    new URL(o.serverUrl);
  } catch {
    throw usage(`--server-url is not a URL: ${o.serverUrl}`);
  }
  const tags = o.tags === undefined ? [] : splitTags(o.tags);
  for (const tag of tags) {
    const problem = tagProblem(tag);
    if (problem) throw usage(`--tags: ${problem}`);
  }
  return { registrationToken, serverUrl: o.serverUrl, tokenFile: path.resolve(o.tokenFile), tags, caFile: o.caFile };
}

/** Resolves with the environment id once the token file is written; rejects with a FatalError. */
export function register(opts: RegisterOptions): Promise<string> {
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
    const finish = (err: FatalError | null, environmentId = '') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'registered');
      else socket.terminate();
      if (err) reject(err);
      else resolve(environmentId);
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
            version: AGENT_VERSION,
            platform: process.platform,
            node_version: process.versions.node,
            hostname: os.hostname(),
            mode: 'headless',
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
        try {
          writeTokenFile(opts.tokenFile, frame.token.trim());
        } catch (err) {
          finish(
            new FatalError(
              'WORK_DIR_ERROR',
              `cannot write the token file ${opts.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
              ExitCode.UNEXPECTED,
            ),
          );
          return;
        }
        finish(null, typeof frame.environment_id === 'string' ? frame.environment_id : '');
      }
    });
  });
}

/** Readers see the old file or the whole new one, never a part; nobody but the owner can read it. */
export function writeTokenFile(file: string, token: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export async function runRegister(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseRegisterArgs(argv, env);
  const environmentId = await register(opts);
  process.stdout.write(
    `registered${environmentId ? ` in environment ${environmentId}` : ''}; the agent token is in ${opts.tokenFile}\n` +
      `start the agent with: ats-agent --server-url ${opts.serverUrl} --token-file ${opts.tokenFile}\n`,
  );
  return ExitCode.OK;
}

function readCa(file: string): string {
  try {
    return readCaFile(file);
  } catch (err) {
    throw usage((err as Error).message);
  }
}

function usage(message: string): FatalError {
  return new FatalError('USAGE', message, ExitCode.USAGE);
}

function refused(message: string): FatalError {
  return new FatalError('AUTH_FAILED', message, ExitCode.AUTH_FAILED);
}

function connectionFailed(message: string): FatalError {
  return new FatalError('CONNECTION_FAILED', message, ExitCode.CONNECTION_FAILED);
}
