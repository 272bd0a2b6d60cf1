/**
 * The agent's own log, `{work_dir}/logs/agent.log`, written through electron-log's Node entry so that
 * the headless agent and the Electron app share one implementation.
 *
 * Lines are rendered and redacted here, before electron-log sees them: the file, the console and the
 * UI listeners all get the very same redacted text, whatever meta objects or errors were passed.
 */
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import log from 'electron-log/node';
import type { AgentLogEntry, AgentLogLevel, LogFileProblem } from '../api.js';
import type { LogLevel } from '../config/schema.js';
import type { Redactor } from './redact.js';

export const AGENT_LOG_FILE = 'agent.log';

export interface Logger {
  debug(msg: string, ...meta: unknown[]): void;
  info(msg: string, ...meta: unknown[]): void;
  warn(msg: string, ...meta: unknown[]): void;
  error(msg: string, ...meta: unknown[]): void;
}

export interface AgentLogging {
  scope(name: string): Logger;
  setLevel(level: LogLevel): void;
  /** Future lines go to `{logsDir}/agent.log`: the platform names the real work dir after start. */
  setDir(logsDir: string): void;
  onEntry(listener: (e: AgentLogEntry) => void): () => void;
  /**
   * Follows whether agent.log can be written: called at once with the current state, then on every
   * line that cannot be written and when the file is written again (`problem` null).
   */
  onFileProblem(listener: (problem: LogFileProblem | null, linesLost: number) => void): () => void;
  close(): Promise<void>;
}

export interface AgentLoggingOptions {
  logsDir: string;
  level: LogLevel;
  /** bytes of agent.log before it is rotated */
  maxSize: number;
  /** rotated files kept, agent.log.1 (newest) … agent.log.N; 0 keeps none */
  backupCount: number;
  /** also write every line to stderr (stdout stays free for the CLI's own output) */
  console: boolean;
  redactor: Redactor;
}

const LEVEL_OF: Record<LogLevel, AgentLogLevel> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error' };
const RANK: Record<AgentLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

let created = 0;

export function createAgentLogging(opts: AgentLoggingOptions): AgentLogging {
  // a logger of our own: the shared default instance may be configured by anything else in the process
  const logger = log.create({ logId: `ats-agent-${process.pid}-${++created}` });
  let logsDir = path.resolve(opts.logsDir);
  let threshold = RANK[LEVEL_OF[opts.level]];
  let closed = false;
  const listeners = new Set<(e: AgentLogEntry) => void>();
  const problemListeners = new Set<(problem: LogFileProblem | null, linesLost: number) => void>();
  let problem: LogFileProblem | null = null;
  let linesLost = 0;
  /** the files handed to electron-log, by path; their write errors come to `lineError` */
  const attached = new Map<string, EventEmitter>();
  let lineError: Error | null = null;
  const onWriteError = (err: Error) => (lineError = err);

  const { file, console: consoleTransport } = logger.transports;
  // without a name electron-log looks for the nearest package.json of the current directory, and its
  // file transport fails silently when none is there (a service started in `/`, a packaged app)
  file.setAppName('ats-agent');
  file.resolvePathFn = () => path.join(logsDir, AGENT_LOG_FILE);
  file.maxSize = opts.maxSize;
  // synchronous writes: a crash loses no line and close() has nothing left to flush
  file.sync = true;
  file.transforms = [({ data }) => String(data[0])];
  file.archiveLogFn = (current) => {
    try {
      rotate(current.path, opts.backupCount);
    } catch {
      // a rename can fail (a reader holds the file on Windows): bound the size rather than grow forever
      current.clear();
    }
  };

  consoleTransport.level = opts.console ? 'silly' : false;
  consoleTransport.transforms = [];
  consoleTransport.writeFn = ({ message }) => {
    process.stderr.write(`${String(message.data[0])}\n`);
  };

  // the UI receives entries through onEntry, never through electron-log's own IPC
  if (logger.transports.ipc) logger.transports.ipc.level = false;

  /**
   * Hands a path to electron-log only once a file can be opened there (tried again with each line
   * until then): its registry remembers a path that failed as a file that drops every line, for good,
   * and says so only on its own console.
   */
  function openFile(target: string): Error | null {
    if (attached.has(target)) return null;
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.closeSync(fs.openSync(target, 'a', 0o666));
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
    // electron-log's own listener prints a stack per failed line on another logger's console: ours
    // reports once (its File is an EventEmitter, and one without an 'error' listener would throw)
    const f = file.getFile() as ReturnType<typeof file.getFile> & EventEmitter;
    f.removeAllListeners('error');
    f.on('error', onWriteError);
    attached.set(target, f);
    return null;
  }

  function fileFailed(target: string, err: Error): void {
    linesLost++;
    const message = opts.redactor.redact(err.message.replace(/^Couldn't write to .*?\. /, ''));
    if (!problem || problem.path !== target || problem.message !== message) {
      if (!problem)
        process.stderr.write(
          `ats-agent: cannot write the agent log ${target} (${message}); the agent goes on, its log ` +
            'lines reach only the UI and this console until the file can be written\n',
        );
      problem = { path: target, message, since: problem?.since ?? new Date().toISOString() };
    }
    notifyProblem();
  }

  function fileWritten(target: string): void {
    if (!problem) return;
    process.stderr.write(`ats-agent: the agent log ${target} is written again (${linesLost} lines lost so far)\n`);
    problem = null;
    notifyProblem();
  }

  function notifyProblem(): void {
    for (const listener of problemListeners) {
      try {
        listener(problem && { ...problem }, linesLost);
      } catch {
        // as for entry listeners: the caller's log call must not fail
      }
    }
  }

  function write(level: AgentLogLevel, scope: string, msg: string, meta: unknown[]): void {
    if (closed || RANK[level] < threshold) return;
    const date = new Date();
    const message = opts.redactor.redact(render(msg, meta));
    const target = path.join(logsDir, AGENT_LOG_FILE);
    const unopened = openFile(target);
    file.level = unopened ? false : 'silly';
    lineError = null;
    logger[level](`[${localStamp(date)}] [${level}] [${scope}] ${message}`);
    const failure = unopened ?? lineError;
    if (failure) fileFailed(target, failure);
    else fileWritten(target);
    const entry: AgentLogEntry = { at: date.toISOString(), level, scope, message };
    for (const listener of listeners) {
      try {
        listener(entry);
      } catch {
        // a broken UI listener must not turn a log call into a crash of the caller
      }
    }
  }

  return {
    scope(name) {
      return {
        debug: (msg, ...meta) => write('debug', name, msg, meta),
        info: (msg, ...meta) => write('info', name, msg, meta),
        warn: (msg, ...meta) => write('warn', name, msg, meta),
        error: (msg, ...meta) => write('error', name, msg, meta),
      };
    },
    setLevel(level) {
      threshold = RANK[LEVEL_OF[level]];
    },
    setDir(dir) {
      logsDir = path.resolve(dir);
    },
    onEntry(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onFileProblem(listener) {
      problemListeners.add(listener);
      listener(problem && { ...problem }, linesLost);
      return () => problemListeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
      problemListeners.clear();
      // the file stays in electron-log's registry (another agent may log there later): never bare
      for (const f of attached.values()) {
        f.off('error', onWriteError);
        if (f.listenerCount('error') === 0) f.on('error', ignoreError);
      }
      attached.clear();
    },
  };
}

function ignoreError(): void {}

function render(msg: string, meta: unknown[]): string {
  if (meta.length === 0) return msg;
  // inspect shows an Error's stack, cause and extra fields; one line per object keeps the log greppable
  const rendered = meta.map((m) => (typeof m === 'string' ? m : inspect(m, { depth: 5, breakLength: Infinity })));
  return [msg, ...rendered].join(' ');
}

function localStamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
  );
}

/**
 * Shifts agent.log → agent.log.1 → … → agent.log.N and drops what falls off the end (also backups left
 * over from a larger backup_count). Synchronous: electron-log writes the next line right after.
 */
function rotate(current: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) renameIfExists(`${current}.${i}`, `${current}.${i + 1}`);
  if (keep > 0) fs.renameSync(current, `${current}.1`);
  else fs.rmSync(current, { force: true });
  removeBackupsBeyond(current, keep);
}

function renameIfExists(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function removeBackupsBeyond(current: string, keep: number): void {
  const base = path.basename(current);
  for (const name of fs.readdirSync(path.dirname(current))) {
    if (!name.startsWith(`${base}.`)) continue;
    const suffix = name.slice(base.length + 1);
    if (/^\d+$/.test(suffix) && Number(suffix) > keep) {
      fs.rmSync(path.join(path.dirname(current), name), { force: true });
    }
  }
}
