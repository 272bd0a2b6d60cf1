/**
 * Starts the desktop host as it ships (the built dist-electron/main.js, unmodified) under the Electron
 * STAND-IN (stand-in/electron.mjs, mapped to the bare specifier `electron` by a module-resolution
 * hook), from `/`, with its own HOME and userData, and drives it over the process's IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_CWD, REPO, agentEnv } from '../lib/agent-env.js';

export const MAIN_JS = path.join(REPO, 'dist-electron', 'main.js');
const STAND_IN = path.join(REPO, 'e2e', 'desktop', 'stand-in');
const REGISTER = path.join(STAND_IN, 'register.mjs');
const SIGNAL_COUNTER = path.join(STAND_IN, 'signal-counter.mjs');

/** The build must exist and be newer than the desktop host's sources: a stale build would test old code. */
export function assertFreshBuild(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
  const built = statSync(MAIN_JS).mtimeMs;
  const dir = path.join(REPO, 'main', 'electron');
  const newer = readdirSync(dir).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(path.join(dir, f)).mtimeMs > built,
  );
  if (newer.length) throw new Error(`dist-electron/main.js is older than ${newer.join(', ')}: run \`npm run build\``);
}

export interface Call {
  api: string;
  [key: string]: unknown;
}

export interface StandInState {
  ready: boolean;
  windows: Array<{
    id: number;
    visible: boolean;
    shows: number;
    url: string;
    webPreferences: Record<string, unknown>;
    sent: { count: number; bytes: number; types: string[] };
  }>;
  tray: {
    image: string | null;
    tooltip: string;
    menu: Array<{ label?: string; type: string; checked: boolean; enabled: boolean }>;
    menusSet: number;
    destroyed: boolean;
  } | null;
  notifications: Array<{ title: string; body: string; shown: boolean }>;
  ipcChannels: string[];
  dialogs: Array<{ title: string; content: string }>;
  loginItem: { openAtLogin: boolean };
}

export type Sender = 'window' | 'stranger' | 'subframe' | 'other-page';

export interface DesktopApp {
  child: ChildProcess;
  calls: Call[];
  /** settles when the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  command<T = unknown>(msg: Record<string, unknown>): Promise<T>;
  state(): Promise<StandInState>;
  invoke<T = unknown>(channel: string, args?: unknown[], from?: Sender): Promise<T>;
  waitFor<T>(check: (s: StandInState) => T | undefined | null | false, what: string, timeoutMs?: number): Promise<T>;
  /** files of every module the process resolved (not `electron`, which is the stand-in) */
  modules(): string[];
  /** signals the headless agent received */
  signalsToAgent(): string[];
  /** ChildProcess.kill() calls in main.js's process: what its forwarder sent */
  signalsForwarded(): string[];
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

export interface Profile {
  home: string;
  userData: string;
  dir: string;
  remove(): void;
}

/** A user: a HOME and an Electron userData of their own. */
export function newProfile(): Profile {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ats-desktop-'));
  return {
    dir,
    home: path.join(dir, 'home'),
    userData: path.join(dir, 'home', '.config', 'ATS Agent'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function startDesktop(
  profile: Profile,
  opts: { args?: string[]; env?: NodeJS.ProcessEnv; token?: string | null } = {},
): Promise<DesktopApp> {
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const moduleLog = path.join(profile.dir, `modules-${stamp}.log`);
  const signalLog = path.join(profile.dir, `signals-${stamp}.log`);
  const forwardLog = path.join(profile.dir, `forwarded-${stamp}.log`);
  const child = spawn(process.execPath, ['--import', REGISTER, MAIN_JS, ...(opts.args ?? [])], {
    cwd: AGENT_CWD,
    env: agentEnv(opts.token ?? null, {
      HOME: profile.home,
      ATS_AGENT_USER_DATA_DIR: profile.userData,
      STANDIN_MODULE_LOG: moduleLog,
      STANDIN_SIGNAL_LOG: signalLog,
      STANDIN_FORWARD_LOG: forwardLog,
      NODE_OPTIONS: `--import=${SIGNAL_COUNTER}`,
      DISPLAY: ':0', // a desktop session: `--token` alone must not mean headless here
      ...opts.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const calls: Call[] = [];
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const loaded = new Promise<void>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the stand-in's own IPC messages, shaped by electron.mjs
    child.on('message', (msg: any) => {
      if (msg?.type === 'loaded') resolve();
      else if (msg?.type === 'call') calls.push(msg.call);
      else if (msg?.type === 'reply') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.value);
        else p?.reject(new Error(msg.error));
      }
    });
    // messages sent just before the exit may be handled after it
    void exited
      .then(() => new Promise((r) => setTimeout(r, 100)))
      .then(() => {
        const code = child.exitCode;
        reject(new Error(`the desktop host exited (${code}) before the stand-in loaded:\n${out}`));
        for (const p of pending.values())
          p.reject(new Error(`the desktop host exited (${code}):\n${out.slice(-2000)}`));
        pending.clear();
      });
  });
  await loaded;

  const app: DesktopApp = {
    child,
    calls,
    exited,
    output: () => out,
    command<T>(msg: Record<string, unknown>): Promise<T> {
      if (!child.connected) return Promise.reject(new Error(`the desktop host is gone:\n${out.slice(-2000)}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ ...msg, id });
      });
    },
    state: () => app.command<StandInState>({ cmd: 'state' }),
    invoke: <T>(channel: string, args: unknown[] = [], from: Sender = 'window') =>
      app.command<T>({ cmd: 'invoke', channel, args, from }),
    async waitFor(check, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: StandInState | undefined;
      while (Date.now() < deadline) {
        last = await app.state();
        const value = check(last);
        if (value !== undefined && value !== null && value !== false) return value;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)?.slice(0, 3000)}`);
    },
    modules: () => (existsSync(moduleLog) ? readFileSync(moduleLog, 'utf8').split('\n').filter(Boolean) : []),
    signalsToAgent: () => lines(signalLog),
    signalsForwarded: () => lines(forwardLog),
  };
  return app;
}
