import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentLogEntry, LogFileProblem } from '../api.js';
import { createAgentLogging, type AgentLogging, type AgentLoggingOptions } from './logger.js';
import { Redactor } from './redact.js';

let dir: string;
let logging: AgentLogging | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-log-'));
});

afterEach(async () => {
  await logging?.close();
  logging = undefined;
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(overrides: Partial<AgentLoggingOptions> = {}): AgentLogging {
  logging = createAgentLogging({
    logsDir: path.join(dir, 'logs'),
    level: 'DEBUG',
    maxSize: 10 * 1024 * 1024,
    backupCount: 5,
    console: false,
    redactor: new Redactor(),
    ...overrides,
  });
  return logging;
}

const read = (...p: string[]) => fs.readFileSync(path.join(dir, ...p), 'utf8');
const lines = (...p: string[]) =>
  read(...p)
    .split('\n')
    .filter(Boolean);

describe('agent log', () => {
  it('writes time, level, module and message on one line', async () => {
    open().scope('connection').info('connected');
    expect(lines('logs', 'agent.log')).toEqual([
      expect.stringMatching(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[info\] \[connection\] connected$/),
    ]);
  });

  it('renders meta objects and errors after the message', () => {
    open().scope('tasks').error('spawn failed', { taskId: 't1', code: 127 }, new Error('boom'));
    const text = read('logs', 'agent.log');
    expect(text).toContain("[error] [tasks] spawn failed { taskId: 't1', code: 127 } Error: boom");
    expect(text).toMatch(/\n\s+at .*logger\.test\.ts/);
  });

  it('rotates into agent.log.1..N, newest first, never more than backupCount, each about maxSize', () => {
    const maxSize = 2048;
    const log = open({ maxSize, backupCount: 3 }).scope('rot');
    const filler = 'x'.repeat(60);
    for (let i = 0; i < 400; i++) log.info(`line ${String(i).padStart(4, '0')} ${filler}`);

    const names = fs.readdirSync(path.join(dir, 'logs')).sort();
    expect(names).toEqual(['agent.log', 'agent.log.1', 'agent.log.2', 'agent.log.3']);
    const lineSize = Buffer.byteLength(lines('logs', 'agent.log')[0]!) + 1;
    for (const name of names) {
      const size = fs.statSync(path.join(dir, 'logs', name)).size;
      expect(size).toBeLessThanOrEqual(maxSize + lineSize);
      if (name !== 'agent.log') expect(size).toBeGreaterThan(maxSize - lineSize);
    }
    // the files continue one another: .3 is the oldest, agent.log holds the last line
    const numbers = (name: string) => lines('logs', name).map((l) => Number(/line (\d+)/.exec(l)![1]));
    const sequence = ['agent.log.3', 'agent.log.2', 'agent.log.1', 'agent.log'].flatMap(numbers);
    expect(sequence.at(-1)).toBe(399);
    expect(sequence).toEqual(sequence.map((_, i) => sequence[0]! + i));
  });

  it('keeps no backup with backupCount 0', () => {
    const log = open({ maxSize: 1024, backupCount: 0 }).scope('rot');
    for (let i = 0; i < 100; i++) log.info(`line ${i} ${'y'.repeat(50)}`);
    expect(fs.readdirSync(path.join(dir, 'logs'))).toEqual(['agent.log']);
    expect(fs.statSync(path.join(dir, 'logs', 'agent.log')).size).toBeLessThan(1024 + 100);
    expect(read('logs', 'agent.log')).toContain('line 99 ');
  });

  it('drops backups left over from a larger backupCount on rotation', () => {
    fs.mkdirSync(path.join(dir, 'logs'));
    for (const n of [1, 2, 3, 7]) fs.writeFileSync(path.join(dir, 'logs', `agent.log.${n}`), `old ${n}\n`);
    fs.writeFileSync(path.join(dir, 'logs', 'agent.log.keep'), 'not a backup\n');
    const log = open({ maxSize: 1024, backupCount: 2 }).scope('rot');
    // about 80 bytes a line: 20 lines rotate exactly once
    for (let i = 0; i < 20; i++) log.info(`line ${i} ${'z'.repeat(50)}`);
    expect(fs.readdirSync(path.join(dir, 'logs')).sort()).toEqual([
      'agent.log',
      'agent.log.1',
      'agent.log.2',
      'agent.log.keep',
    ]);
    expect(read('logs', 'agent.log.2')).toBe('old 1\n');
  });

  it('never writes a registered token, at any level, in meta or in errors', () => {
    const token = 'tok_S3cr3t/+=value';
    const redactor = new Redactor();
    redactor.add(token);
    const entries: AgentLogEntry[] = [];
    const agentLog = open({ redactor, level: 'DEBUG' });
    agentLog.onEntry((e) => entries.push(e));
    const log = agentLog.scope('auth');

    log.debug(`sending auth ${token}`);
    log.info('url', `ws://h/ws/agent?token=${encodeURIComponent(token)}`);
    log.warn('frame', { type: 'auth', token, nested: { deeper: [token] } });
    log.warn('json', JSON.stringify({ type: 'auth', token }));
    const err = new Error(`rejected ${token}`, { cause: new Error(`cause ${token}`) });
    Object.assign(err, { detail: token });
    log.error('failed', err);

    const text = read('logs', 'agent.log');
    expect(lines('logs', 'agent.log').filter((l) => l.startsWith('['))).toHaveLength(5);
    expect(text).not.toContain(token);
    expect(text).not.toContain(encodeURIComponent(token));
    expect(text).toContain('sending auth ***');
    expect(text).toContain('token=***');
    expect(text).toContain('Error: rejected ***');
    expect(text).toContain('cause ***');
    expect(entries).toHaveLength(5);
    for (const e of entries) expect(JSON.stringify(e)).not.toContain('S3cr3t');
  });

  it('writes to stderr only when console is on, redacted', () => {
    const redactor = new Redactor();
    redactor.add('hunter2');
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });

    open({ redactor, console: false }).scope('c').info('quiet hunter2');
    expect(written.filter((w) => w.includes('quiet'))).toEqual([]);

    open({ redactor, console: true, logsDir: path.join(dir, 'logs2') })
      .scope('c')
      .info('loud hunter2');
    expect(written.filter((w) => w.includes('loud'))).toEqual([expect.stringMatching(/\[info\] \[c\] loud \*\*\*\n$/)]);
  });

  it('filters by level and follows setLevel', () => {
    const agentLog = open({ level: 'WARNING' });
    const entries: AgentLogEntry[] = [];
    agentLog.onEntry((e) => entries.push(e));
    const log = agentLog.scope('lvl');
    log.debug('d1');
    log.info('i1');
    log.warn('w1');
    log.error('e1');
    agentLog.setLevel('DEBUG');
    log.debug('d2');
    agentLog.setLevel('ERROR');
    log.warn('w2');
    log.error('e2');

    const messages = lines('logs', 'agent.log').map((l) => l.replace(/^\[[^\]]+\] /, ''));
    expect(messages).toEqual(['[warn] [lvl] w1', '[error] [lvl] e1', '[debug] [lvl] d2', '[error] [lvl] e2']);
    expect(entries.map((e) => e.message)).toEqual(['w1', 'e1', 'd2', 'e2']);
  });

  it('moves future lines to another dir with setDir', () => {
    const agentLog = open();
    const log = agentLog.scope('dir');
    log.info('before');
    agentLog.setDir(path.join(dir, 'real', 'logs'));
    log.info('after');
    expect(lines('logs', 'agent.log')).toEqual([expect.stringMatching(/before$/)]);
    expect(lines('real', 'logs', 'agent.log')).toEqual([expect.stringMatching(/after$/)]);
  });

  it('gives listeners redacted entries until they unsubscribe', () => {
    const redactor = new Redactor();
    redactor.add('pw123');
    const agentLog = open({ redactor });
    const entries: AgentLogEntry[] = [];
    const off = agentLog.onEntry((e) => entries.push(e));
    agentLog.scope('ui').warn('login pw123', { pw: 'pw123' });
    off();
    agentLog.scope('ui').warn('unseen');

    expect(entries).toEqual([
      {
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        level: 'warn',
        scope: 'ui',
        message: "login *** { pw: '***' }",
      },
    ]);
  });

  it('keeps every line written before close and ignores later calls', async () => {
    const agentLog = open();
    const log = agentLog.scope('end');
    for (let i = 0; i < 50; i++) log.info(`n${i}`);
    await agentLog.close();
    log.info('late');
    const all = lines('logs', 'agent.log');
    expect(all).toHaveLength(50);
    expect(all.at(-1)).toMatch(/n49$/);
  });

  describe('when agent.log cannot be written', () => {
    /** stderr as the agent's console shows it, electron-log's console.* included */
    function captureStderr(): string[] {
      const written: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
      for (const m of ['error', 'warn', 'info', 'log', 'debug'] as const)
        vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void written.push(args.map(String).join(' ')));
      return written;
    }
    const reports = (agentLog: AgentLogging) => {
      const seen: Array<{ problem: LogFileProblem | null; linesLost: number }> = [];
      agentLog.onFileProblem((problem, linesLost) => seen.push({ problem, linesLost }));
      return seen;
    };

    it('says so once on stderr, counts the lost lines, keeps the UI tail, and writes again once it can', () => {
      const written = captureStderr();
      fs.mkdirSync(path.join(dir, 'logs', 'agent.log'), { recursive: true });
      const agentLog = open();
      const entries: AgentLogEntry[] = [];
      agentLog.onEntry((e) => entries.push(e));
      const seen = reports(agentLog);
      const log = agentLog.scope('t');
      for (let i = 0; i < 50; i++) log.info(`line ${i}`);

      expect(entries).toHaveLength(50);
      const complaints = written.filter((w) => /agent log/.test(w));
      expect(complaints).toEqual([
        expect.stringMatching(/^ats-agent: cannot write the agent log .*logs\/agent\.log \(EISDIR.*the agent goes on/),
      ]);
      // electron-log's own message (a stack per line on another console) never shows
      expect(written.join('')).not.toMatch(/electron-log|Can't write/);
      expect(seen[0]).toEqual({ problem: null, linesLost: 0 });
      expect(seen.at(-1)).toEqual({
        problem: {
          path: path.join(dir, 'logs', 'agent.log'),
          message: expect.stringMatching(/^EISDIR/),
          since: expect.any(String),
        },
        linesLost: 50,
      });

      fs.rmdirSync(path.join(dir, 'logs', 'agent.log'));
      log.info('back');
      log.info('again');
      expect(lines('logs', 'agent.log')).toEqual([expect.stringMatching(/back$/), expect.stringMatching(/again$/)]);
      expect(seen.at(-1)).toEqual({ problem: null, linesLost: 50 });
      expect(written.filter((w) => /agent log/.test(w))).toHaveLength(2);
      expect(written.at(-1)).toMatch(/agent\.log is written again \(50 lines lost so far\)/);
    });

    it('notices a file that fails after it was opened, and tells a late listener at once', () => {
      const written = captureStderr();
      const agentLog = open();
      const log = agentLog.scope('t');
      log.info('first');
      // the file goes away and a directory takes its place while the agent runs
      fs.rmSync(path.join(dir, 'logs', 'agent.log'));
      fs.mkdirSync(path.join(dir, 'logs', 'agent.log'));
      log.info('lost 1');
      log.warn('lost 2');
      const seen = reports(agentLog);
      expect(seen).toEqual([
        { problem: expect.objectContaining({ message: expect.stringMatching(/EISDIR/) }), linesLost: 2 },
      ]);
      expect(written.filter((w) => /cannot write the agent log/.test(w))).toHaveLength(1);
      expect(written.join('')).not.toMatch(/electron-log|Couldn't write/);
    });

    it('moves on to the new dir of setDir even while the old one fails', () => {
      captureStderr();
      fs.mkdirSync(path.join(dir, 'logs', 'agent.log'), { recursive: true });
      const agentLog = open();
      const seen = reports(agentLog);
      agentLog.scope('t').info('lost');
      agentLog.setDir(path.join(dir, 'real'));
      agentLog.scope('t').info('kept');
      expect(lines('real', 'agent.log')).toEqual([expect.stringMatching(/kept$/)]);
      expect(seen.at(-1)).toEqual({ problem: null, linesLost: 1 });
    });
  });
});
