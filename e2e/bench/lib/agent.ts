/**
 * The built headless agent as a child process, for the benchmark. Every process started here is
 * tracked and killed when the benchmark ends, also when it fails or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { PlatformSimulator } from '../../platform/simulator.js';
import { BUILT_CLI, REPO, agentEnv } from '../../lib/agent-env.js';

export { REPO };
/** ATS_BENCH_CLI: measure another build of the agent (e.g. a patched copy, for an A/B comparison) */
export const CLI = process.env.ATS_BENCH_CLI ? path.resolve(process.env.ATS_BENCH_CLI) : BUILT_CLI;
export const TOKEN = 'tok-bench-7d1e93b0c2';

const children = new Set<ChildProcess>();
let tmpRoot: string | null = null;

/** One temp dir per benchmark run, removed by cleanupAll(). */
export function benchTmp(): string {
  tmpRoot ??= mkdtempSync(path.join(os.tmpdir(), 'ats-bench-'));
  return tmpRoot;
}

let dirCounter = 0;
export function freshDir(prefix: string): string {
  const dir = path.join(benchTmp(), `${prefix}-${++dirCounter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Track a child so that it is killed at exit whatever happens. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Synchronous, for process 'exit': SIGKILL whatever is still running, remove the temp dir. */
export function cleanupAll(keepTmp = false): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  if (tmpRoot && !keepTmp) rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = null;
}

export interface BenchAgent {
  child: ChildProcess;
  pid: number;
  workDir: string;
  /** the last 64 KiB of stdout + stderr */
  output(): string;
  /** SIGTERM (graceful: tasks end, outbox flushes, a --cpu-prof profile is written), SIGKILL after 10 s */
  stop(): Promise<void>;
}

export interface AgentOptions {
  label: string;
  /** written to a YAML file passed with --config */
  config?: Record<string, unknown>;
  /** extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] */
  nodeArgs?: string[];
  /** run this executable instead of node and the built cli.js (the single file); nodeArgs do not apply */
  executable?: string;
  /** run the built cli.js with this Node binary instead of this process's own */
  node?: string;
  timeoutMs?: number;
  /** more command-line arguments (e.g. ['--dashboard', '0']) */
  args?: string[];
}

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it first (npm run build)`);
}

/** Start an agent against `sim` and resolve once it has authenticated and sent its first heartbeat. */
export async function startAgent(sim: PlatformSimulator, opts: AgentOptions): Promise<BenchAgent> {
  assertBuilt();
  const dir = freshDir(opts.label);
  const workDir = path.join(dir, 'work');
  const args = [
    ...(opts.executable ? [] : [...(opts.nodeArgs ?? []), CLI]),
    '--server-url',
    sim.url,
    '--work-dir',
    workDir,
  ];
  if (opts.config) {
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(file, stringify(opts.config));
    args.push('--config', file);
  }
  args.push(...(opts.args ?? []));
  const env = agentEnv(TOKEN);
  delete env.NODE_OPTIONS; // the bench runs under tsx; the agent must not
  const child = track(
    spawn(opts.executable ?? opts.node ?? process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 128 * 1024) out = out.slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const authBefore = sim.authCount;
  const hbBefore = sim.heartbeats.length;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  try {
    await Promise.race([
      sim.waitFor(
        () => sim.authCount > authBefore && sim.heartbeats.length > hbBefore,
        timeoutMs,
        `agent ${opts.label} to connect`,
      ),
      exited.then(() => {
        throw new Error(`agent ${opts.label} exited before connecting:\n${out.slice(-4000)}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    pid: child.pid!,
    workDir,
    output: () => out.slice(-64 * 1024),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
