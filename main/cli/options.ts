/**
 * The headless agent's command line. Flags > environment > config file > defaults; bad usage exits 2
 * with a message naming the flag.
 */
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { environmentLayer, flagLayer, readConfigFile, resolveConfig, type TokenSource } from '../core/config/load.js';
import { LOG_LEVELS, type AgentConfig } from '../core/config/schema.js';
import { splitTags } from '../core/config/tags.js';
import { AGENT_VERSION } from '../core/agent.js';
import { ExitCode, FatalError } from '../core/protocol/codes.js';

export interface CliSettings {
  config: AgentConfig;
  token: TokenSource;
  /** serve the UI, /healthz and /metrics on 127.0.0.1 at this port (0 = any free port) */
  dashboardPort: number | null;
  /** run exactly one task, then drain */
  ephemeral: boolean;
  /** seconds a drain (SIGQUIT, the platform's `drain`, --ephemeral) waits before stopping running tasks */
  drainTimeoutS: number | null;
  /** the config file given, absolute; null without one */
  configFile: string | null;
}

/** Exit without starting the agent (help, version). */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a whole number ≥ 1.`);
    return n;
  };
}

function seconds(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} takes a number of seconds > 0.`);
    return n;
  };
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('--dashboard takes a port number from 0 to 65535.');
  return n;
}

function buildProgram(): Command {
  return new Command('ats-agent')
    .description('ATS Agent: runs the test tasks an ATS platform sends, headless.')
    .version(AGENT_VERSION, '-V, --version')
    .option(
      '--token <token>',
      'the agent token (or ATS_AGENT_TOKEN, or --token-file); prefer those two: a flag shows in process lists until the agent hides it',
    )
    .option(
      '--token-file <file>',
      'read the token from this file (or ATS_AGENT_TOKEN_FILE); read again before every reconnect',
    )
    .option('--server-url <url>', 'platform WebSocket URL (config server.url; default ws://localhost:8000/ws/agent)')
    .addOption(
      new Option('--log-level <level>', 'DEBUG, INFO, WARNING or ERROR (config logging.level; default INFO)').argParser(
        (v) => {
          const upper = v.toUpperCase();
          if (!(LOG_LEVELS as readonly string[]).includes(upper))
            throw new InvalidArgumentError(`Allowed choices are ${LOG_LEVELS.join(', ')}.`);
          return upper;
        },
      ),
    )
    .option('--config <file>', 'YAML config file (or ATS_AGENT_CONFIG)')
    .option(
      '--work-dir <dir>',
      'work dir until the platform names its own (config work_dir; default ~/.ats-agent/work)',
    )
    .option(
      '--max-concurrent <n>',
      'tasks run at once (config task.max_concurrent; default 1)',
      positiveInt('--max-concurrent'),
    )
    .option('--tags <a,b>', 'comma-separated tags the platform routes work by (config agent.tags)')
    .option('--ca-file <file>', 'extra CA certificate (PEM) to trust for wss:// (config server.ca_file)')
    .option(
      '--dashboard [port]',
      'serve the UI, /healthz and /metrics on 127.0.0.1 (default port: any free one), guarded by an access key printed at start',
      portNumber,
    )
    .option('--ephemeral', 'run exactly one task, then drain and exit 0 (a disposable VM or container)')
    .option(
      '--drain-timeout <seconds>',
      'a drain (SIGQUIT, the platform, --ephemeral) waits this long for running tasks, then stops them (default: no limit)',
      seconds('--drain-timeout'),
    )
    .option('--no-gui', 'accepted for symmetry with the desktop app: this entry is always headless')
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nRegister a new machine first: ats-agent register --help\n' +
        '\nSignals: SIGTERM/SIGINT stop (tasks get their grace period), SIGQUIT drains (no new task; exit once\n' +
        '         nothing runs), SIGHUP reloads the config file (an invalid one changes nothing).\n' +
        '\nExit codes: 0 stopped cleanly, 1 unexpected error, 2 bad usage or config, 3 AUTH_FAILED,\n' +
        '            4 CONNECTION_FAILED (server.max_retries reached), 5 WORK_DIR_ERROR.\n' +
        '\nAs a service: ats-agent service install|uninstall|status (ats-agent service --help).',
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliSettings {
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      throw new CliExit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    }
    throw err;
  }
  const flags = program.opts<{
    token?: string;
    tokenFile?: string;
    serverUrl?: string;
    logLevel?: string;
    config?: string;
    workDir?: string;
    maxConcurrent?: number;
    caFile?: string;
    tags?: string;
    dashboard?: number | true;
    ephemeral?: boolean;
    drainTimeout?: number;
  }>();
  const configPath = flags.config ?? env.ATS_AGENT_CONFIG;
  const layers = [
    ...(configPath ? [readConfigFile(configPath)] : []),
    environmentLayer(env),
    flagLayer({
      'server.url': flags.serverUrl,
      'server.ca_file': flags.caFile,
      'logging.level': flags.logLevel,
      work_dir: flags.workDir,
      'task.max_concurrent': flags.maxConcurrent,
      'agent.tags': flags.tags === undefined ? undefined : splitTags(flags.tags),
    }),
  ];
  const config = resolveConfig(layers);
  const dashboardPort = flags.dashboard === undefined ? null : flags.dashboard === true ? 0 : flags.dashboard;
  return {
    config,
    token: tokenSource(flags, env),
    dashboardPort,
    ephemeral: flags.ephemeral === true,
    drainTimeoutS: flags.drainTimeout ?? null,
    configFile: configPath ? path.resolve(configPath) : null,
  };
}

function tokenSource(flags: { token?: string; tokenFile?: string }, env: NodeJS.ProcessEnv): TokenSource {
  if (flags.token !== undefined) {
    if (!flags.token.trim()) throw usage('--token must not be empty');
    return { kind: 'value', value: flags.token.trim(), from: '--token' };
  }
  if (flags.tokenFile) return { kind: 'file', path: flags.tokenFile };
  if (env.ATS_AGENT_TOKEN?.trim()) return { kind: 'value', value: env.ATS_AGENT_TOKEN.trim(), from: 'ATS_AGENT_TOKEN' };
  if (env.ATS_AGENT_TOKEN_FILE) return { kind: 'file', path: env.ATS_AGENT_TOKEN_FILE };
  throw usage('a token is required: pass --token, set ATS_AGENT_TOKEN, or give --token-file FILE');
}

function usage(message: string): FatalError {
  return new FatalError('USAGE', message, ExitCode.USAGE);
}
