/**
 * Integration harness: the platform simulator and the REAL built headless agent as a child process,
 * talking over loopback. Every agent and simulator a test starts is stopped after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach } from 'vitest';
import { PlatformSimulator, type ReceivedFrame, type SimulatorOptions } from '../platform/simulator.js';
import { AGENT_CWD, agentCommand, agentEnv } from '../lib/agent-env.js';

export const TOKEN = 'tok-SECRET-4f9a2c7e1b';

const AGENT_FILE = agentCommand().file;
if (!existsSync(AGENT_FILE)) throw new Error(`${AGENT_FILE} is missing: run \`npm run build\` first (npm test does)`);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** removed when the test file ends: a suite may make one in beforeAll and share it */
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'ats-it-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function startPlatform(opts: Partial<SimulatorOptions> = {}): Promise<PlatformSimulator> {
  const sim = new PlatformSimulator({ tokens: [TOKEN], ...opts });
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

export interface AgentRun {
  child: ChildProcess;
  workDir: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface AgentSpawnOptions {
  url?: string;
  workDir?: string | null;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** written to a YAML file passed with --config */
  config?: Record<string, unknown>;
  token?: string | null;
  uid?: number;
  gid?: number;
  /** where the agent starts (default AGENT_CWD, `/`) */
  cwd?: string;
}

export function spawnAgent(opts: AgentSpawnOptions = {}): AgentRun {
  // null: no --work-dir flag at all (the config file or the default decides)
  const workDir = opts.workDir === null ? '' : (opts.workDir ?? path.join(tempDir(), 'work'));
  const command = agentCommand();
  const args = [
    ...command.args,
    ...(opts.url ? ['--server-url', opts.url] : []),
    ...(workDir ? ['--work-dir', workDir] : []),
  ];
  if (opts.config) {
    const file = path.join(tempDir('ats-cfg-'), 'agent.yaml');
    writeFileSync(file, stringify(opts.config));
    args.push('--config', file);
  }
  args.push(...(opts.args ?? []));
  const env = agentEnv(opts.token === null ? null : (opts.token ?? TOKEN), opts.env);
  const child = spawn(command.file, args, {
    cwd: opts.cwd ?? AGENT_CWD,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: opts.uid,
    gid: opts.gid,
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d) => {
    out += d;
    listeners.forEach((l) => l());
  });
  child.stderr!.on('data', (d) => {
    err += d;
    listeners.forEach((l) => l());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      listeners.forEach((l) => l());
      resolve({ code, signal });
    }),
  );
  const run: AgentRun = {
    child,
    workDir,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput: (pattern, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out + err)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`agent output did not match ${pattern} within ${timeoutMs} ms:\n${out}${err}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  cleanups.push(async () => {
    await run.stop('SIGKILL');
  });
  return run;
}

/** Start an agent against `sim` and wait until it is ready: authenticated, work dir set, first heartbeat sent. */
export async function connectedAgent(sim: PlatformSimulator, opts: AgentSpawnOptions = {}): Promise<AgentRun> {
  const before = sim.heartbeats.length;
  const agent = spawnAgent({ url: sim.url, ...opts });
  await Promise.race([
    sim.waitFor(() => sim.heartbeats.length > before, 15_000, 'the agent to authenticate and send its first heartbeat'),
    agent.exited.then(({ code }) => {
      throw new Error(`agent exited with ${code} before authenticating:\n${agent.stdout()}${agent.stderr()}`);
    }),
  ]);
  return agent;
}

export function waitForResult(sim: PlatformSimulator, taskId: string, timeoutMs = 15_000): Promise<ReceivedFrame> {
  return sim.waitFor(() => sim.result(taskId), timeoutMs, `a task_result for ${taskId}`);
}

export { alive } from '../lib/proc.js';

/** Every file below dir, relative paths. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
