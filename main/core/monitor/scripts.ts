/**
 * monitor.scripts: the operator's probes. Each script runs on its own timer chain, so a slow one
 * delays only itself (never a heartbeat, which reads the latest values) and never overlaps itself:
 * the next run is scheduled when the previous one has ended. A run is bounded in time (its whole
 * process group is killed at `timeout`) and in memory (only the first line is read).
 */
import { spawn } from 'node:child_process';

export interface ScriptSpec {
  name: string;
  command: string;
  /** seconds between the starts of two runs */
  interval: number;
  /** seconds */
  timeout: number;
}

/** a number, a string of at most 256 characters, or "unknown" */
export type CustomValue = number | string;

export const VALUE_MAX_CHARS = 256;
/** bytes read from a script's stdout at most: enough for any first line worth keeping */
export const READ_MAX_BYTES = 4096;
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** PROTOCOL.md: a number when the first line parses as one, else that line cut to 256 characters, else "unknown". */
export function parseValue(output: string | null): CustomValue {
  if (output === null) return 'unknown';
  const line = output.split('\n', 1)[0]!.replace(/\r$/, '').trim();
  if (line === '') return 'unknown';
  if (NUMBER.test(line)) {
    const n = Number(line);
    if (Number.isFinite(n)) return n;
  }
  return Array.from(line).slice(0, VALUE_MAX_CHARS).join('');
}

export interface ProbeOptions {
  shell: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/**
 * One run. Resolves (never rejects) with the parsed first line; "unknown" when the script could not
 * start, printed nothing or was killed at its timeout. Once the first line (or READ_MAX_BYTES) is in,
 * stdout is closed: a script that goes on printing gets EPIPE/SIGPIPE instead of filling memory.
 */
export function runProbe(script: ScriptSpec, opts: ProbeOptions): Promise<CustomValue> {
  return new Promise((resolve) => {
    const posix = process.platform !== 'win32';
    const [file, ...args] = opts.shell;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file!, [...args, script.command], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: opts.env,
        // its own process group: the timeout kills whatever the script started, too
        detached: posix,
        windowsHide: true,
      });
    } catch {
      resolve('unknown');
      return;
    }
    let settled = false;
    const finish = (value: CustomValue) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const chunks: Buffer[] = [];
    let bytes = 0;
    const killGroup = () => {
      try {
        if (posix && child.pid) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      // a grandchild that left the group may still hold the pipe: do not wait for it
      child.stdout!.destroy();
      finish('unknown');
    }, script.timeout * 1000);
    const onAbort = () => killGroup();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= READ_MAX_BYTES || chunk.includes(10)) child.stdout!.destroy();
    });
    child.stdout!.on('error', () => undefined);
    // the script is done: what it left running in the background goes with it
    child.on('exit', killGroup);
    child.on('error', () => finish('unknown'));
    child.on('close', () => {
      if (opts.signal?.aborted) return finish('unknown');
      const text = Buffer.concat(chunks).subarray(0, READ_MAX_BYTES).toString('utf8');
      finish(parseValue(bytes === 0 ? null : text));
    });
  });
}

export type ProbeRunner = (script: ScriptSpec, signal: AbortSignal) => Promise<CustomValue>;

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  now: () => number;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

export class ScriptMonitor {
  private readonly latest = new Map<string, CustomValue>();
  private readonly timers = new Map<string, unknown>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly scripts: readonly ScriptSpec[],
    private readonly run: ProbeRunner,
    private readonly clock: Timers = realTimers,
    private readonly onError: (script: ScriptSpec, err: unknown) => void = () => undefined,
  ) {
    for (const s of scripts) this.latest.set(s.name, 'unknown');
  }

  /** Every script runs now, then every `interval` seconds from the start of its previous run. */
  start(): void {
    for (const s of this.scripts) this.schedule(s, 0);
  }

  /** The latest value of each script ("unknown" until its first run ends). */
  values(): Record<string, CustomValue> {
    return Object.fromEntries(this.latest);
  }

  /** No new run starts; running ones are killed; settles when they have ended. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.running.values());
  }

  private schedule(script: ScriptSpec, delayMs: number): void {
    if (this.abort.signal.aborted) return;
    this.timers.set(
      script.name,
      this.clock.setTimeout(() => this.runOnce(script), delayMs),
    );
  }

  private runOnce(script: ScriptSpec): void {
    this.timers.delete(script.name);
    if (this.running.has(script.name) || this.abort.signal.aborted) return;
    const started = this.clock.now();
    const run = this.run(script, this.abort.signal)
      .catch((err: unknown) => {
        this.onError(script, err);
        return 'unknown' as const;
      })
      .then((value) => {
        if (!this.abort.signal.aborted) this.latest.set(script.name, value);
        this.running.delete(script.name);
        this.schedule(script, Math.max(0, script.interval * 1000 - (this.clock.now() - started)));
      });
    this.running.set(script.name, run);
  }
}
