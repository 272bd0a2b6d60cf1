/**
 * What `ats-agent service install` puts on a machine, as data: the files it writes and the commands it
 * runs. Each platform's renderer makes one from a ServiceRequest; install.ts prints it (--dry-run) or
 * carries it out.
 */

export const SERVICE_NAME = 'ats-agent';

export type ServicePlatform = 'linux' | 'darwin' | 'win32';
export type ServiceScope = 'system' | 'user';

export interface ServiceRequest {
  scope: ServiceScope;
  /** the account the service runs as: --run-as for --system, the caller for --user */
  user: { name: string; uid: number; home: string };
  /** the agent to run, absolute: the single file alone, or node and the installed cli.js */
  command: string[];
  /** extra environment the agent needs to be itself (the desktop app's Electron running as Node) */
  env: Record<string, string>;
  /** absolute */
  configFile: string | null;
  /** absolute; its content is the token, which never goes on a command line */
  tokenFile: string;
  /** seconds from SIGTERM to a task's SIGKILL (task.kill_grace): the service waits longer than that */
  killGrace: number;
  agentVersion: string;
}

export interface ServiceFile {
  path: string;
  content: string;
}

export interface ServicePlan {
  files: ServiceFile[];
  /** run in order after the files are written */
  commands: string[][];
}

export interface UninstallPlan {
  /** run first (stop the service); a failure here does not keep the files */
  before: string[][];
  files: string[];
  after: string[][];
}

/** Who the service is installed for: what uninstall and status need to find it. */
export type ServiceTarget = Pick<ServiceRequest, 'scope' | 'user'>;

/** One platform's service manager. */
export interface ServiceRenderer {
  install(req: ServiceRequest, env: NodeJS.ProcessEnv): ServicePlan;
  uninstall(target: ServiceTarget, env: NodeJS.ProcessEnv): UninstallPlan;
  status(target: ServiceTarget): string[];
}

/**
 * How long the service manager waits after SIGTERM before it kills everything: the tasks' grace,
 * then time for the agent to report their results and close its connection.
 */
export function stopTimeoutSeconds(killGrace: number): number {
  return Math.ceil(killGrace) + 20;
}

/** The agent's own arguments in a service: the config file only (the token comes by file). */
export function agentArgs(req: ServiceRequest): string[] {
  return req.configFile ? ['--config', req.configFile] : [];
}

/** A command as a person would type it, for `# run:` lines and messages. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
