#!/usr/bin/env node
/**
 * The headless agent: plain Node, no Electron. Servers run it directly (`ats-agent --token ...`),
 * the packaged desktop app runs it through ELECTRON_RUN_AS_NODE for `--no-gui`.
 */
import path from 'node:path';
import { Agent } from './core/agent.js';
import type { Logger } from './core/logging/logger.js';
import type { TokenStorage } from './core/api.js';
import { readToken, tokenFileIsExposed, type TokenSource } from './core/config/load.js';
import { ExitCode, FatalError } from './core/protocol/codes.js';
import { CliExit, parseCli } from './cli/options.js';

// The token may have come as a flag: take it out of what `ps` shows for this process.
process.title = 'ats-agent';
// A bug leaves the process in a state nobody knows: write it down and exit 1 at once. The service
// manager starts the agent again and the journal and the outbox file recover its tasks and frames.
let crashLog: Logger | null = null;
const crash = (kind: string, err: unknown) => {
  const text = `internal error (${kind}), exiting: ${(err as Error)?.stack ?? String(err)}`;
  try {
    if (crashLog)
      crashLog.error(text); // agent.log (synchronous) and, in the foreground, stderr
    else process.stderr.write(`ats-agent: ${text}\n`);
  } finally {
    process.exit(ExitCode.UNEXPECTED);
  }
};
process.on('uncaughtException', (err) => crash('uncaught exception', err));
process.on('unhandledRejection', (err) => crash('unhandled rejection', err));

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'service') {
    const { runServiceCommand } = await import('./cli/service/command.js');
    return runServiceCommand(argv.slice(1), {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      env: process.env,
    });
  }
  if (argv[0] === 'register') return (await import('./cli/register.js')).runRegister(argv.slice(1), process.env);
  const settings = parseCli(argv, process.env);
  const tokenSource = settings.token;
  const agent = await Agent.create({
    config: settings.config,
    token: () => readToken(tokenSource),
    mode: 'headless',
    console: true,
    ephemeral: settings.ephemeral,
    ...(settings.drainTimeoutS !== null ? { drainTimeoutS: settings.drainTimeoutS } : {}),
    ownFiles: [settings.configFile, tokenSource.kind === 'file' ? path.resolve(tokenSource.path) : null].filter(
      (f): f is string => f !== null,
    ),
  });
  crashLog = agent.logger('crash');
  if (tokenSource.kind === 'file' && tokenFileIsExposed(tokenSource.path)) {
    process.stderr.write(`warning: the token file ${tokenSource.path} can be read by other users; chmod 600 it\n`);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      process.stderr.write(`\n${signal}: stopping (tasks get their grace period; again to force)\n`);
      agent.shutdown().catch((err: unknown) => {
        process.stderr.write(`the agent failed while stopping: ${(err as Error)?.stack ?? String(err)}\n`);
        process.exit(ExitCode.UNEXPECTED);
      });
    } else {
      process.exit(ExitCode.UNEXPECTED);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGQUIT', () => agent.drain('SIGQUIT'));
  // the same flags and environment, the file read again: an invalid file is logged and changes nothing
  process.on('SIGHUP', () => reloadConfig(agent, argv));
  // before the agent starts, so that a taken port is a usage error with no task running yet;
  // the dashboard (an HTTP server, prom-client) is loaded only by the agents that serve it
  const dashboard =
    settings.dashboardPort === null
      ? null
      : await startDashboard(agent, settings.dashboardPort, tokenStorageOf(tokenSource));
  agent.start();
  if (dashboard) process.stdout.write(`dashboard: ${dashboard.url}\n`);
  const exit = await agent.finished;
  await dashboard?.close();
  if (exit.error) process.stderr.write(`ats-agent: ${exit.error.code}: ${exit.error.message}\n`);
  return exit.exitCode;
}

function reloadConfig(agent: Agent, argv: string[]): void {
  const log = agent.logger('config');
  try {
    agent.reloadConfig(parseCli(argv, process.env).config, 'SIGHUP');
  } catch (err) {
    const why = err instanceof FatalError ? err.message : `${(err as Error)?.message ?? String(err)}`;
    log.error(`SIGHUP: the config was not reloaded, the one in force stays: ${why}`);
  }
}

async function startDashboard(agent: Agent, port: number, tokenStorage: TokenStorage) {
  try {
    return await (await import('./cli/dashboard.js')).startHeadlessDashboard(agent, port, tokenStorage);
  } catch (err) {
    throw new FatalError(
      'USAGE',
      `cannot serve the dashboard on 127.0.0.1:${port}: ${(err as Error).message}`,
      ExitCode.USAGE,
    );
  }
}

function tokenStorageOf(source: TokenSource): TokenStorage {
  if (source.kind === 'file') return 'file';
  return source.from === '--token' ? 'command-line' : 'environment';
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliExit) process.exit(err.exitCode);
    if (err instanceof FatalError) {
      process.stderr.write(`ats-agent: ${err.code === 'USAGE' ? 'error' : err.code}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`ats-agent: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(ExitCode.UNEXPECTED);
  },
);
