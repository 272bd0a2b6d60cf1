/**
 * One task's process, from spawn to a settled outcome. `done` never rejects, and it settles only
 * once nothing of the task is left running: after the main process exits, whatever it left behind
 * (a background server holding the pipes, a daemon that left the group) is ended too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fchownSync, openSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode } from '../protocol/codes.js';
import type { TaskResultFrame, TaskStatus } from '../protocol/frames.js';
import { OutputBatcher, type ChildStream, type OutputBatch } from './output-batcher.js';
import { nothingLeft, openPidWindow, type PidWindow } from './pid-window.js';
import { processStartTime, stopTree, type RootIdentity } from './process-tree.js';
import { SecretMasker } from './secret-masker.js';
import { TaskLogFile } from './task-log-file.js';
import { TREE_KEY_VAR } from './tree-key.js';
import type { RunAsUser } from './task-policy.js';

export interface RunSpec {
  taskId: string;
  /** tree-key.ts: the mark of the task's processes; the task id alone when absent */
  treeKey?: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** between SIGTERM and SIGKILL when the task is stopped */
  killGraceMs: number;
  /** argv prefix, e.g. ['/bin/sh', '-c'] or ['cmd.exe', '/d', '/s', '/c']; the command is appended */
  shell: string[];
  /** receives the raw bytes of stdout and stderr in arrival order; created with its parents */
  logFile: string;
  /** bytes of each stream's tail kept in the outcome */
  resultMaxBytes: number;
  /** values replaced by *** in the output: task_log, the log file and the result's tails */
  secrets?: string[];
  /** run the task as this user (the agent is root): uid/gid, HOME/USER/LOGNAME, cwd chowned to it */
  runAs?: RunAsUser | null;
  /** the real path of `cwd` as confined (work-dir-guard.ts): the directory chowned must still be it */
  cwdReal?: string;
  /** limits (limits/task-resources.ts): how the shell is started */
  launch?: TaskLaunch;
}

/**
 * An argv put before the shell (prlimit, or a gate), and with `gate` a step between the spawn and
 * the command: the prefix waits on fd 3 until `gate` ran (e.g. moved the pid into a cgroup).
 */
export interface TaskLaunch {
  prefix: string[];
  gate?: (pid: number) => void;
}

export interface RunHooks {
  /** `start`: the process's start time (Linux), which with the pid names it for good */
  onSpawn?(pid: number, start: number | undefined): void;
  onOutput(batch: OutputBatch): void;
}

export interface RunOutcome {
  status: TaskStatus;
  /** -1 when the process was ended by a signal or never started */
  exitCode: number;
  signal: string | null;
  /** the tail of stdout */
  output: string;
  outputTruncated: boolean;
  /** the tail of stderr, or why the task could not start */
  error: string;
  errorTruncated: boolean;
  errorCode: ErrorCode | null;
  startedAt: Date;
  finishedAt: Date;
  /** what execution adds after the run (usage, limits, test report): copied into the task_result */
  report?: Partial<Pick<TaskResultFrame, 'usage' | 'test_report' | 'limits_applied' | 'limits_unenforced'>>;
}

export type StopReason = 'cancelled' | 'timeout' | 'shutdown' | 'memory';

export interface RunningTask {
  readonly pid: number | undefined;
  readonly done: Promise<RunOutcome>;
  stop(reason: StopReason): void;
  /** stop reading the task's output (the socket is behind); the task blocks once its pipes fill */
  pause(): void;
  resume(): void;
}

/** After the main process exits, how long its pipes may stay open (held by a background child). */
const STDIO_LINGER_MS = 1_000;
/** setTimeout's limit; a longer timeout would fire at once */
const MAX_TIMER_MS = 2 ** 31 - 1;

const STOPPED: Record<StopReason, { status: TaskStatus; errorCode: ErrorCode; note: string }> = {
  timeout: { status: 'timeout', errorCode: ErrorCode.TASK_TIMEOUT, note: 'timed out' },
  cancelled: { status: 'cancelled', errorCode: ErrorCode.TASK_CANCELLED, note: 'cancelled' },
  shutdown: { status: 'error', errorCode: ErrorCode.AGENT_SHUTDOWN, note: 'the agent is shutting down' },
  memory: { status: 'failed', errorCode: ErrorCode.TASK_RESOURCE_LIMIT, note: 'past its memory limit' },
};

export function defaultShell(): string[] {
  return process.platform === 'win32' ? ['cmd.exe', '/d', '/s', '/c'] : ['/bin/sh', '-c'];
}

/**
 * How to spawn `command` under `shell`. cmd.exe does not parse arguments the way Node quotes them
 * (backslash-escaped quotes), so it gets the command line verbatim, wrapped in the quotes that
 * `/s` strips: what Node's own `shell: true` does.
 */
export function shellInvocation(shell: string[], command: string): { file: string; args: string[]; verbatim: boolean } {
  const [file = '', ...prefix] = shell;
  const verbatim = /^cmd(\.exe)?$/i.test(path.win32.basename(file));
  return { file, args: [...prefix, verbatim ? `"${command}"` : command], verbatim };
}

function launchInvocation(
  launch: TaskLaunch | undefined,
  shell: { file: string; args: string[]; verbatim: boolean },
): { file: string; args: string[]; verbatim: boolean } {
  if (!launch || launch.prefix.length === 0) return shell;
  const [file = '', ...prefix] = launch.prefix;
  return { file, args: [...prefix, shell.file, ...shell.args], verbatim: shell.verbatim };
}

/**
 * The end of a run settles its outcome whatever throws (complete's finally): what still throws is a
 * bug in a hook, shown as a process warning rather than an unhandled rejection, which ends the agent.
 */
function warnUnexpected(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : String(err), { code: 'ATS_AGENT_TASK_RUN' });
}

export function startTask(spec: RunSpec, hooks: RunHooks): RunningTask {
  return new TaskRun(spec, hooks);
}

class TaskRun implements RunningTask {
  readonly done: Promise<RunOutcome>;
  private settle!: (outcome: RunOutcome) => void;
  private readonly startedAt = new Date();
  private readonly batcher: OutputBatcher;
  private readonly tails: Record<ChildStream, ByteTail>;
  private readonly maskers: Record<ChildStream, SecretMasker>;
  private readonly log: TaskLogFile;
  private readonly child: ChildProcess | null = null;
  private pipesClosed: Promise<void> = Promise.resolve();
  private timeoutTimer: NodeJS.Timeout | null = null;
  private stopReason: StopReason | null = null;
  private stopping: Promise<void> = Promise.resolve();
  private exited = false;
  private pausedByCaller = false;
  /** the task is over: its pipes are read to the end whatever the caller asked */
  private draining = false;
  private cutLinger: () => void = () => {};
  /** the root's start time and whether it was reaped: what tells it from a later holder of its pid */
  private readonly root: RootIdentity = { start: undefined, reaped: () => this.exited };
  /** what marks the task's processes, for finding those that leave its group */
  private readonly treeKey: string;
  /** the kernel's counters just before the spawn: the cheap look at the end needs them */
  private pidWindow: PidWindow | undefined;

  constructor(
    private readonly spec: RunSpec,
    hooks: RunHooks,
  ) {
    this.treeKey = spec.treeKey ?? spec.taskId;
    this.done = new Promise((resolve) => (this.settle = resolve));
    this.batcher = new OutputBatcher(hooks.onOutput);
    this.tails = { stdout: new ByteTail(spec.resultMaxBytes), stderr: new ByteTail(spec.resultMaxBytes) };
    this.maskers = { stdout: new SecretMasker(spec.secrets ?? []), stderr: new SecretMasker(spec.secrets ?? []) };
    this.log = new TaskLogFile(
      spec.logFile,
      (message) => this.batcher.note(message),
      () => this.updateFlow(),
    );

    const { file, args, verbatim } = launchInvocation(spec.launch, shellInvocation(spec.shell, spec.command));
    const gate = spec.launch?.gate;
    const runAs = spec.runAs ?? null;
    let child: ChildProcess;
    try {
      // the task owns its directory; only the directory itself: what is inside may be another task's
      if (runAs) chownVerified(spec.cwd, spec.cwdReal, runAs);
      this.pidWindow = openPidWindow();
      child = spawn(file, args, {
        cwd: spec.cwd,
        env: {
          ...spec.env,
          ...(runAs ? { HOME: runAs.home, USER: runAs.name, LOGNAME: runAs.name } : {}),
          [TREE_KEY_VAR]: this.treeKey,
        },
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
        // its own process group (and session), so that one signal reaches everything it starts
        detached: process.platform !== 'win32',
        stdio: gate ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
        windowsVerbatimArguments: verbatim,
      });
    } catch (err) {
      this.failToStart(err as Error).catch(warnUnexpected);
      return;
    }
    if (!child.stdout || !child.stderr) {
      // Node gives a child without pipes when the agent is out of file descriptors (EMFILE)
      child.once('error', () => undefined);
      this.failToStart(new Error('no pipes could be opened for the task (too many open files?)')).catch(warnUnexpected);
      return;
    }
    this.child = child;
    this.root.start = child.pid === undefined ? undefined : processStartTime(child.pid);
    const stdout = child.stdout!;
    const stderr = child.stderr!;
    this.pipesClosed = Promise.all([closed(stdout), closed(stderr)]).then(() => undefined);
    child.once('error', (err) => {
      if (child.pid === undefined) this.failToStart(err).catch(warnUnexpected);
    });
    child.once('spawn', () => {
      if (gate) this.openGate(child, gate);
      hooks.onSpawn?.(child.pid!, this.root.start);
    });
    child.once('exit', (code, signal) => {
      this.finish(code, signal).catch(warnUnexpected);
    });
    // pulled with 'readable' rather than 'data': Node resumes flowing stdio when the child exits,
    // which would defeat pause(); and the readable state's buffer limit is the backpressure
    stdout.on('readable', () => this.readPipe('stdout'));
    stderr.on('readable', () => this.readPipe('stderr'));
    this.timeoutTimer = setTimeout(() => this.stop('timeout'), Math.min(spec.timeoutMs, MAX_TIMER_MS));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The gate's step, then the command: a gate that fails is told in the log, and the command runs. */
  private openGate(child: ChildProcess, gate: (pid: number) => void): void {
    try {
      gate(child.pid!);
    } catch (err) {
      this.batcher.note(`the task's limits could not be applied: ${(err as Error).message}`);
    }
    const pipe = child.stdio[3] as NodeJS.WritableStream | null;
    pipe?.on('error', () => {});
    pipe?.end('\n');
  }

  stop(reason: StopReason): void {
    if (this.exited) {
      // the result is already decided; only stop waiting for leftovers to let go of the pipes
      this.cutLinger();
      return;
    }
    if (this.stopReason || this.child?.pid === undefined) return;
    this.stopReason = reason;
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    const graceS = this.spec.killGraceMs / 1000;
    const why = reason === 'timeout' ? `timed out after ${this.spec.timeoutMs / 1000} s` : STOPPED[reason].note;
    this.batcher.note(`${why}: ending the task's processes (SIGTERM, SIGKILL after ${graceS} s)`);
    this.stopping = stopTree(this.child.pid, this.treeKey, this.spec.killGraceMs, this.root);
  }

  pause(): void {
    this.pausedByCaller = true;
    this.updateFlow();
  }

  resume(): void {
    this.pausedByCaller = false;
    this.updateFlow();
  }

  private get reading(): boolean {
    return this.draining || !(this.pausedByCaller || this.log.behind);
  }

  private updateFlow(): void {
    if (!this.child || !this.reading) return;
    this.readPipe('stdout');
    this.readPipe('stderr');
  }

  private readPipe(stream: ChildStream): void {
    const pipe = this.child![stream]!;
    for (let chunk: Buffer | null; this.reading && (chunk = pipe.read()) !== null;) {
      this.output(stream, this.maskers[stream].push(chunk));
    }
  }

  private output(stream: ChildStream, chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.log.write(chunk);
    this.tails[stream].push(chunk);
    this.batcher.write(stream, chunk);
  }

  private async finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    try {
      await this.collect(code, signal);
    } catch (err) {
      await this.complete({
        status: 'error',
        exitCode: code ?? -1,
        signal,
        output: this.tails.stdout.text(),
        outputTruncated: this.tails.stdout.truncated,
        error: `the agent failed while collecting the task's end: ${(err as Error).message}`,
        errorTruncated: false,
        errorCode: ErrorCode.TASK_EXECUTION_FAILED,
      });
    }
  }

  private async collect(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.exited = true;
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    const child = this.child!;
    await this.waitForPipes();
    await this.stopping;
    // a task never leaves processes behind, even those that closed their stdio or left the group;
    // the usual end, nothing left, is seen cheaply (pid-window.ts), anything else by the full look
    if (!nothingLeft(this.pidWindow, child.pid, this.treeKey, this.root.start))
      await stopTree(child.pid, this.treeKey, this.spec.killGraceMs, this.root);
    this.draining = true;
    this.updateFlow();
    await this.waitForPipes();
    child.stdout!.destroy();
    child.stderr!.destroy();
    // what the maskers held back was not a whole secret
    this.output('stdout', this.maskers.stdout.end());
    this.output('stderr', this.maskers.stderr.end());

    const stopped = this.stopReason ? STOPPED[this.stopReason] : null;
    await this.complete({
      status: stopped?.status ?? (code === 0 ? 'success' : 'failed'),
      exitCode: code ?? -1,
      signal,
      output: this.tails.stdout.text(),
      outputTruncated: this.tails.stdout.truncated,
      error: this.tails.stderr.text(),
      errorTruncated: this.tails.stderr.truncated,
      errorCode: stopped?.errorCode ?? null,
    });
  }

  private async failToStart(err: Error): Promise<void> {
    const reason = startFailure(err, this.spec);
    this.batcher.note(reason);
    await this.complete({
      status: 'error',
      exitCode: -1,
      signal: null,
      output: '',
      outputTruncated: false,
      error: reason,
      errorTruncated: false,
      errorCode: ErrorCode.TASK_EXECUTION_FAILED,
    });
  }

  /** Settles `done` whatever happens on the way: a task must always end with a result. */
  private async complete(outcome: Omit<RunOutcome, 'startedAt' | 'finishedAt'>): Promise<void> {
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    try {
      this.batcher.end();
      await this.log.close();
    } finally {
      this.settle({ ...outcome, startedAt: this.startedAt, finishedAt: new Date() });
    }
  }

  /** Until both pipes closed, at most STDIO_LINGER_MS; a stop() cuts the wait short. */
  private waitForPipes(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, STDIO_LINGER_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.cutLinger = done;
      this.pipesClosed.then(done, done);
    });
  }
}

/**
 * Gives the task's user its directory, and only the one that was checked: opened first, then, on
 * Linux, its real path read back from /proc/self/fd, so that a symlink swapped in since the check
 * (by another task of the same user) cannot make the agent chown one of its own directories.
 */
function chownVerified(dir: string, real: string | undefined, user: RunAsUser): void {
  const fd = openSync(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  try {
    if (real !== undefined && process.platform === 'linux') {
      const opened = readlinkSync(`/proc/self/fd/${fd}`);
      if (opened !== real)
        throw new Error(`its work dir ${dir} now leads to ${opened}, not ${real} as checked; the task was not started`);
    }
    fchownSync(fd, user.uid, user.gid);
  } finally {
    closeSync(fd);
  }
}

function closed(pipe: Readable): Promise<void> {
  // a pipe error destroys the stream, which then closes: 'close' covers both
  pipe.on('error', () => {});
  return new Promise((resolve) => pipe.once('close', () => resolve()));
}

function startFailure(err: Error, spec: RunSpec): string {
  let cwdIsDir = false;
  try {
    cwdIsDir = statSync(spec.cwd).isDirectory();
  } catch {
    // missing: reported below
  }
  // a missing cwd makes spawn fail with "spawn /bin/sh ENOENT", which blames the shell
  if (!cwdIsDir) return `cannot start the task: its working directory ${spec.cwd} does not exist or is not a directory`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'E2BIG') {
    const envBytes = Object.entries(spec.env).reduce((n, [k, v]) => n + k.length + v.length + 2, 0);
    return `cannot start the task: its command (${spec.command.length} bytes) and environment (${envBytes} bytes) are too large for the operating system (E2BIG; on Linux one variable or argument may hold at most 128 KiB)`;
  }
  if (spec.runAs && (code === 'EACCES' || code === 'EPERM')) {
    return `cannot start the task as ${spec.runAs.name} (uid ${spec.runAs.uid}): ${err.message}; that user must be able to reach ${spec.cwd} (check the permissions of its parent directories)`;
  }
  return `cannot start the task with ${spec.shell.join(' ')}: ${err.message}`;
}

/** The last `maxBytes` of a byte stream in a fixed ring, decoded without a broken first character. */
class ByteTail {
  private readonly ring: Buffer;
  private end = 0;
  private total = 0;

  constructor(private readonly maxBytes: number) {
    this.ring = Buffer.allocUnsafe(maxBytes);
  }

  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (chunk.length >= this.maxBytes) {
      chunk.copy(this.ring, 0, chunk.length - this.maxBytes);
      this.end = 0;
      return;
    }
    const first = Math.min(chunk.length, this.maxBytes - this.end);
    chunk.copy(this.ring, this.end, 0, first);
    chunk.copy(this.ring, 0, first);
    this.end = (this.end + chunk.length) % this.maxBytes;
  }

  text(): string {
    if (!this.truncated) return this.ring.toString('utf8', 0, this.total);
    const tail = Buffer.concat([this.ring.subarray(this.end), this.ring.subarray(0, this.end)]);
    let start = 0;
    // skip UTF-8 continuation bytes: the cut fell inside a character
    while (start < tail.length && start < 3 && (tail[start]! & 0xc0) === 0x80) start++;
    return tail.toString('utf8', start);
  }
}
