/**
 * `ats-agent register`: trades a registration token for an agent token (PROTOCOL.md, Registration).
 * One WebSocket to the platform, one `register` frame; the `registered` token goes to --token-file
 * (written to a temporary file with mode 0600, then renamed over it) and never to stdout or stderr.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { AGENT_VERSION } from '../core/agent.js';
import { splitTags } from '../core/config/tags.js';
import { tagProblem } from '../core/config/schema.js';
import { requestAgentToken } from '../core/connection/registration.js';
import { ExitCode, FatalError } from '../core/protocol/codes.js';
import { CliExit } from './options.js';

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
export async function register(opts: RegisterOptions): Promise<string> {
  const { token, environmentId } = await requestAgentToken({ ...opts, version: AGENT_VERSION, mode: 'headless' });
  try {
    writeTokenFile(opts.tokenFile, token);
  } catch (err) {
    throw new FatalError(
      'WORK_DIR_ERROR',
      `cannot write the token file ${opts.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ExitCode.UNEXPECTED,
    );
  }
  return environmentId;
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

function usage(message: string): FatalError {
  return new FatalError('USAGE', message, ExitCode.USAGE);
}
