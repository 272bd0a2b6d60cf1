/**
 * `ats-agent service install | uninstall | status`: builds the ServiceRequest from the flags and the
 * running agent, asks the platform's renderer for the plan, and prints it (--dry-run) or carries it out.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_VERSION } from '../../core/agent.js';
import { readConfigFile, resolveConfig } from '../../core/config/load.js';
import { ExitCode, FatalError } from '../../core/protocol/codes.js';
import { launchd } from './launchd.js';
import {
  shellLine,
  type ServicePlan,
  type ServicePlatform,
  type ServiceRenderer,
  type ServiceRequest,
  type ServiceScope,
  type ServiceTarget,
} from './plan.js';
import { systemd } from './systemd.js';
import { windows } from './windows.js';

export interface ServiceFlags {
  system?: boolean;
  user?: boolean;
  runAs?: string;
  config?: string;
  tokenFile?: string;
  dryRun?: boolean;
  platform?: ServicePlatform;
}

/** Where the service's output goes, so tests can read it. */
export interface ServiceIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

const RENDERERS: Record<ServicePlatform, ServiceRenderer> = { linux: systemd, darwin: launchd, win32: windows };

const usage = (message: string) => new FatalError('USAGE', message, ExitCode.USAGE);

function platformOf(flags: ServiceFlags): ServicePlatform {
  const here = process.platform;
  const platform = flags.platform ?? (here === 'linux' || here === 'darwin' || here === 'win32' ? here : null);
  if (!platform) throw usage(`no service manager known for ${here}: run the agent under your own supervisor`);
  if (platform !== here && !flags.dryRun)
    throw usage(`--platform ${platform} only previews (add --dry-run): this machine is ${here}`);
  return platform;
}

/**
 * The agent that runs `service install` is the one the service runs: the single file by itself, or
 * this Node and this cli.js (the npm-installed agent), or Electron as Node for the desktop app's CLI.
 */
export function runningAgent(): { command: string[]; env: Record<string, string> } {
  const sea = process.getBuiltinModule('node:sea') as typeof import('node:sea') | undefined;
  if (sea?.isSea()) return { command: [process.execPath], env: {} };
  const script = realpathSync(process.argv[1]!);
  return {
    command: [process.execPath, script],
    env: process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {},
  };
}

/** A user name known to this machine, with its uid; off the target machine (a --platform preview) it is taken as given. */
function lookupUser(name: string, platform: ServicePlatform): ServiceTarget['user'] {
  if (platform === 'win32' || platform !== process.platform) return { name, uid: -1, home: '' };
  const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const uid = Number(id.stdout.trim());
  if (id.status !== 0 || !Number.isInteger(uid)) throw usage(`--run-as ${name}: no such user on this machine`);
  return { name, uid, home: '' };
}

function scopeOf(flags: ServiceFlags, platform: ServicePlatform): ServiceScope {
  if (flags.system && flags.user) throw usage('--system and --user exclude each other');
  if (platform === 'win32') {
    if (flags.user) throw usage('Windows services belong to the machine: use --system (and --run-as USER)');
    return 'system';
  }
  return flags.system ? 'system' : 'user';
}

/** forInstall: the account matters (User=, UserName); uninstall and status find a --system service without it */
export function serviceTarget(flags: ServiceFlags, platform: ServicePlatform, forInstall = false): ServiceTarget {
  const scope = scopeOf(flags, platform);
  if (scope === 'user') {
    if (flags.runAs !== undefined) throw usage('--run-as goes with --system: a --user service runs as you');
    const me = os.userInfo();
    return { scope, user: { name: me.username, uid: me.uid, home: os.homedir() } };
  }
  if (flags.runAs === undefined) {
    if (platform === 'win32' || !forInstall) return { scope, user: { name: '', uid: -1, home: '' } };
    throw usage(
      '--system needs --run-as USER: the agent and its tasks should not run as root (say --run-as root to mean it)',
    );
  }
  if (!flags.runAs.trim()) throw usage('--run-as must name a user');
  return { scope, user: lookupUser(flags.runAs.trim(), platform) };
}

function existingFile(flag: string, file: string): string {
  const absolute = path.resolve(file);
  let isFile = false;
  try {
    isFile = statSync(absolute).isFile();
  } catch {
    // reported below
  }
  if (!isFile) throw usage(`${flag} ${absolute}: no such file`);
  return absolute;
}

export function serviceRequest(flags: ServiceFlags, platform: ServicePlatform, env: NodeJS.ProcessEnv): ServiceRequest {
  const target = serviceTarget(flags, platform, true);
  const tokenFlag = flags.tokenFile ?? env.ATS_AGENT_TOKEN_FILE;
  if (!tokenFlag)
    throw usage(
      'service install needs --token-file FILE (or ATS_AGENT_TOKEN_FILE): a service never gets the token on its command line',
    );
  const tokenFile = existingFile('--token-file', tokenFlag);
  const configFile = flags.config === undefined ? null : existingFile('--config', flags.config);
  // the config decides task.kill_grace, and a config the agent would refuse is refused now, not at boot
  const config = resolveConfig(configFile ? [readConfigFile(configFile)] : []);
  const agent = runningAgent();
  return {
    ...target,
    command: agent.command,
    env: agent.env,
    configFile,
    tokenFile,
    killGrace: config.task.kill_grace,
    agentVersion: AGENT_VERSION,
  };
}

/** The nearest directory that exists on the way to file, and whether this process may write there. */
function writable(file: string): boolean {
  let dir = path.dirname(file);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    accessSync(existsSync(file) ? file : dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function noRights(file: string, target: ServiceTarget): FatalError {
  const hint =
    target.scope === 'system'
      ? 'a --system service is installed by an administrator (sudo ats-agent service …), or use --user'
      : 'check who owns that directory';
  return new FatalError('USAGE', `cannot write ${file}: permission denied; ${hint}`, ExitCode.USAGE);
}

/** Runs commands in order; at the first failure says what is done and what is left, and answers false. */
function runCommands(commands: string[][], io: ServiceIo, done: string): boolean {
  for (const [i, command] of commands.entries()) {
    io.out(`running: ${shellLine(command)}\n`);
    const result = spawnSync(command[0]!, command.slice(1), { stdio: 'inherit', env: io.env });
    if (result.error || result.status !== 0) {
      const why = result.error
        ? `${command[0]} is not available (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`
        : `it exited ${result.status ?? result.signal}`;
      io.err(
        `ats-agent: \`${shellLine(command)}\` failed: ${why}. ${done}; once the service manager runs, finish with:\n` +
          commands
            .slice(i)
            .map((c) => `  ${shellLine(c)}\n`)
            .join(''),
      );
      return false;
    }
  }
  return true;
}

function printPlan(plan: ServicePlan, io: ServiceIo): void {
  for (const file of plan.files)
    io.out(`# ${file.path}\n${file.content.endsWith('\n') ? file.content : `${file.content}\n`}`);
  for (const command of plan.commands) io.out(`# run: ${shellLine(command)}\n`);
}

export function install(flags: ServiceFlags, io: ServiceIo): number {
  const platform = platformOf(flags);
  const req = serviceRequest(flags, platform, io.env);
  const plan = RENDERERS[platform].install(req, io.env);
  if (flags.dryRun) {
    printPlan(plan, io);
    return ExitCode.OK;
  }
  // every file checked before the first is written: no half-installed service for want of rights
  for (const file of plan.files) if (!writable(file.path)) throw noRights(file.path, req);
  for (const file of plan.files) {
    mkdirSync(path.dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content, { mode: 0o644 });
    io.out(`wrote ${file.path}\n`);
  }
  const written = `The service file is written (${plan.files.map((f) => f.path).join(', ')})`;
  return runCommands(plan.commands, io, written) ? ExitCode.OK : ExitCode.UNEXPECTED;
}

export function uninstall(flags: ServiceFlags, io: ServiceIo): number {
  const platform = platformOf(flags);
  const target = serviceTarget(flags, platform);
  const plan = RENDERERS[platform].uninstall(target, io.env);
  if (flags.dryRun) {
    for (const c of plan.before) io.out(`# run: ${shellLine(c)}\n`);
    for (const f of plan.files) io.out(`# remove: ${f}\n`);
    for (const c of plan.after) io.out(`# run: ${shellLine(c)}\n`);
    return ExitCode.OK;
  }
  const present = plan.files.filter((f) => existsSync(f));
  if (present.length === 0) {
    io.out(`not installed: no ${plan.files.join(', ')}\n`);
    return ExitCode.OK;
  }
  for (const file of present) if (!writable(path.dirname(file))) throw noRights(file, target);
  // the service may already be stopped or unknown to the manager: that does not keep its files
  for (const c of plan.before) spawnSync(c[0]!, c.slice(1), { stdio: 'inherit', env: io.env });
  for (const file of present) {
    rmSync(file);
    io.out(`removed ${file}\n`);
  }
  return runCommands(plan.after, io, 'The service file is removed') ? ExitCode.OK : ExitCode.UNEXPECTED;
}

/** 0 when the service manager reports it running; 3 when it is not installed; else the manager's answer. */
export function status(flags: ServiceFlags, io: ServiceIo): number {
  const platform = platformOf(flags);
  const target = serviceTarget(flags, platform);
  const renderer = RENDERERS[platform];
  const files = renderer.uninstall(target, io.env).files;
  const command = renderer.status(target);
  if (flags.dryRun) {
    io.out(`# run: ${shellLine(command)}\n`);
    return ExitCode.OK;
  }
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    io.out(`not installed: no ${missing.join(', ')}\n`);
    return 3;
  }
  io.out(`installed: ${files.join(', ')}\n`);
  const result = spawnSync(command[0]!, command.slice(1), { stdio: 'inherit', env: io.env });
  if (result.error) {
    io.err(`ats-agent: cannot ask the service manager: ${shellLine(command)}: ${result.error.message}\n`);
    return ExitCode.UNEXPECTED;
  }
  return result.status ?? ExitCode.UNEXPECTED;
}
