import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTaskEnv } from './environment.js';
import type { OutputBatch } from './output-batcher.js';
import { defaultShell, shellInvocation, startTask, type RunningTask, type RunSpec } from './runner.js';
import { alive } from '../../../e2e/lib/proc.js';

const posix = process.platform !== 'win32';
const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'ats-runner-')));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function specFor(command: string, overrides: Partial<RunSpec> = {}): RunSpec {
  const taskId = `t-${randomUUID()}`;
  return {
    taskId,
    command,
    cwd: tmp,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ATS_TASK_ID: taskId },
    timeoutMs: 20_000,
    killGraceMs: 300,
    shell: defaultShell(),
    logFile: path.join(tmp, 'logs', 'tasks', `${taskId}.log`),
    resultMaxBytes: 64 * 1024,
    ...overrides,
  };
}

function run(command: string, overrides: Partial<RunSpec> = {}) {
  const spec = specFor(command, overrides);
  const batches: OutputBatch[] = [];
  const spawned: number[] = [];
  const task: RunningTask = startTask(spec, {
    onSpawn: (pid) => spawned.push(pid),
    onOutput: (batch) => batches.push(batch),
  });
  return { task, batches, spec, spawned };
}

/** The pids a task printed (one `echo $!` per line) once `count` of them are out. */
async function printedPids(batches: OutputBatch[], count: number): Promise<number[]> {
  for (let waited = 0; waited < 5_000; waited += 20) {
    const pids = stdoutOf(batches).split('\n').filter(Boolean).map(Number);
    if (pids.length >= count) return pids;
    await sleep(20);
  }
  throw new Error(`the task printed only: ${stdoutOf(batches)}`);
}

const stdoutOf = (batches: OutputBatch[]): string =>
  batches
    .filter((b) => b.stream === 'stdout')
    .map((b) => b.text)
    .join('\n');

describe('shellInvocation', () => {
  it('appends the command to a POSIX shell as one argument', () => {
    expect(shellInvocation(['/bin/sh', '-c'], 'echo "a b"')).toEqual({
      file: '/bin/sh',
      args: ['-c', 'echo "a b"'],
      verbatim: false,
    });
  });

  it('gives cmd.exe the command verbatim, in the quotes that /s strips', () => {
    expect(shellInvocation(['C:\\Windows\\System32\\CMD.EXE', '/d', '/s', '/c'], 'echo "a b"')).toEqual({
      file: 'C:\\Windows\\System32\\CMD.EXE',
      args: ['/d', '/s', '/c', '"echo "a b""'],
      verbatim: true,
    });
  });
});

describe.runIf(posix)('startTask', () => {
  it('succeeds with its stdout, in the outcome, the batches and the log file', async () => {
    const { task, batches, spec, spawned } = run('echo hello; echo world');
    const outcome = await task.done;
    expect(spawned).toEqual([task.pid]);
    expect(outcome).toMatchObject({
      status: 'success',
      exitCode: 0,
      signal: null,
      output: 'hello\nworld\n',
      error: '',
      errorCode: null,
    });
    expect(outcome.outputTruncated).toBe(false);
    expect(outcome.finishedAt.getTime()).toBeGreaterThanOrEqual(outcome.startedAt.getTime());
    expect(stdoutOf(batches)).toBe('hello\nworld');
    expect(readFileSync(spec.logFile, 'utf8')).toBe('hello\nworld\n');
  });

  it('fails with the exit code of a command that fails', async () => {
    const outcome = await run('echo oops >&2; exit 3').task.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 3, signal: null, error: 'oops\n', errorCode: null });
  });

  it('reports -1 and the signal of a process killed by a signal', async () => {
    const outcome = await run('kill -KILL $$').task.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: -1, signal: 'SIGKILL' });
  });

  it('tells stderr from stdout and keeps their order', async () => {
    const { task, batches, spec } = run('echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2');
    const outcome = await task.done;
    expect(batches).toEqual([
      { stream: 'stdout', text: 'out1' },
      { stream: 'stderr', text: 'err1' },
      { stream: 'stdout', text: 'out2' },
    ]);
    expect(outcome.output).toBe('out1\nout2\n');
    expect(outcome.error).toBe('err1\n');
    expect(readFileSync(spec.logFile, 'utf8')).toBe('out1\nerr1\nout2\n');
  });

  it('runs with the built environment: task variables visible, a variable holding the secret gone', async () => {
    const taskId = `t-${randomUUID()}`;
    const env = buildTaskEnv({
      base: { PATH: process.env.PATH, LEAKY_URL: 'wss://host/ws?token=tok-123456', ATS_TOKEN: 'tok-123456' },
      dropNames: ['ATS_TOKEN'],
      secretValues: ['tok-123456'],
      envVars: { TEST_ENV: 'staging' },
      taskId,
      taskDir: tmp,
      workDir: tmp,
    });
    const outcome = await run('echo "$TEST_ENV|${LEAKY_URL:-none}|${ATS_TOKEN:-none}|$ATS_TASK_ID"', { taskId, env })
      .task.done;
    expect(outcome.output).toBe(`staging|none|none|${taskId}\n`);
  });

  it.runIf(posix)("marks the task's processes with its tree key, which the task cannot replace", async () => {
    const spec = {
      treeKey: 'agent-7/t-1',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ATS_AGENT_TASK: 'forged' },
    };
    const outcome = await run('echo "$ATS_AGENT_TASK"', spec).task.done;
    expect(outcome.output).toBe('agent-7/t-1\n');
  });

  it('runs in its cwd', async () => {
    const outcome = await run('pwd', { cwd: os.tmpdir() }).task.done;
    expect(outcome.output).toBe(`${realpathSync(os.tmpdir())}\n`);
  });

  it('a missing cwd is an error with the reason, not a throw', async () => {
    const missing = path.join(tmp, 'no', 'such', 'dir');
    const { task, batches, spawned } = run('echo never', { cwd: missing });
    const outcome = await task.done;
    expect(outcome).toMatchObject({ status: 'error', exitCode: -1, errorCode: 'TASK_EXECUTION_FAILED' });
    expect(outcome.error).toContain(missing);
    expect(batches).toEqual([{ stream: 'agent', text: outcome.error }]);
    expect(task.pid).toBeUndefined();
    expect(spawned).toEqual([]);
  });

  it('a missing shell is an error naming the shell', async () => {
    const outcome = await run('echo never', { shell: ['/no/such/shell', '-c'] }).task.done;
    expect(outcome).toMatchObject({ status: 'error', errorCode: 'TASK_EXECUTION_FAILED' });
    expect(outcome.error).toContain('/no/such/shell');
  });

  it('a timeout ends the whole tree', async () => {
    const { task, batches } = run('sleep 100 & echo $!; sleep 100 & echo $!; wait', { timeoutMs: 500 });
    const pids = await printedPids(batches, 2);
    const outcome = await task.done;
    expect(outcome).toMatchObject({ status: 'timeout', errorCode: 'TASK_TIMEOUT', exitCode: -1, signal: 'SIGTERM' });
    for (const pid of [task.pid!, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(batches.at(-1)).toMatchObject({ stream: 'agent', text: expect.stringContaining('timed out after 0.5 s') });
  });

  it('a cancel ends the whole tree, SIGKILL for what ignores SIGTERM', async () => {
    const { task, batches } = run("trap '' TERM; sleep 100 & echo $!; sleep 100 & echo $!; wait");
    const pids = await printedPids(batches, 2);
    const began = Date.now();
    task.stop('cancelled');
    const outcome = await task.done;
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(outcome).toMatchObject({
      status: 'cancelled',
      errorCode: 'TASK_CANCELLED',
      exitCode: -1,
      signal: 'SIGKILL',
    });
    for (const pid of [task.pid!, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('a shutdown stops the task as an error with AGENT_SHUTDOWN', async () => {
    const { task, batches } = run('echo ready; sleep 100');
    await printedPids(batches, 1);
    task.stop('shutdown');
    expect(await task.done).toMatchObject({ status: 'error', errorCode: 'AGENT_SHUTDOWN' });
  });

  it('a setsid escapee (new session, re-parented, stdio closed) is still ended, by its cookie', async () => {
    const { task, batches } = run('(setsid sleep 100 >/dev/null 2>&1 & echo $!); sleep 100');
    const [escapee] = await printedPids(batches, 1);
    expect(alive(escapee!)).toBe(true);
    task.stop('cancelled');
    await task.done;
    expect(alive(escapee!)).toBe(false);
  });

  it('a task that exits normally leaves nothing behind, not even an escapee', async () => {
    const { task, batches } = run('(setsid sleep 100 >/dev/null 2>&1 & echo $!)');
    const outcome = await task.done;
    const [escapee] = await printedPids(batches, 1);
    expect(outcome.status).toBe('success');
    expect(alive(escapee!)).toBe(false);
  });

  it('settles soon after the main process exits when a background child keeps stdout open, and ends that child', async () => {
    const { task, batches } = run('sleep 100 & echo $!; echo main done');
    const began = Date.now();
    const outcome = await task.done;
    const [child] = await printedPids(batches, 1);
    expect(Date.now() - began).toBeLessThan(2_500);
    expect(outcome).toMatchObject({ status: 'success', exitCode: 0 });
    expect(outcome.output).toBe(`${child}\nmain done\n`);
    expect(alive(child!)).toBe(false);
  });

  it('a stop after the main process exited keeps its status and ends the wait for the pipes early', async () => {
    const { task, batches } = run('sleep 100 & echo $!');
    const [child] = await printedPids(batches, 1);
    while (alive(task.pid!)) await sleep(10);
    const began = Date.now();
    task.stop('cancelled');
    const outcome = await task.done;
    expect(Date.now() - began).toBeLessThan(600);
    expect(outcome).toMatchObject({ status: 'success', errorCode: null });
    expect(alive(child!)).toBe(false);
  });

  it('100,000 lines arrive complete and in order, in far fewer batches; the log file holds them all', async () => {
    const { task, batches, spec } = run('seq 1 100000', { resultMaxBytes: 1024 * 1024 });
    const outcome = await task.done;
    const expected = Array.from({ length: 100_000 }, (_, i) => String(i + 1)).join('\n');
    expect(stdoutOf(batches)).toBe(expected);
    expect(batches.length).toBeLessThan(1_000);
    expect(readFileSync(spec.logFile, 'utf8')).toBe(`${expected}\n`);
    expect(outcome.output).toBe(`${expected}\n`);
  });

  it('a multibyte character written in two parts arrives whole', async () => {
    const { task, batches } = run("printf '\\342\\202'; sleep 0.2; printf '\\254 ok\\n'");
    await task.done;
    expect(batches).toEqual([{ stream: 'stdout', text: '€ ok' }]);
  });

  it('a partial last line arrives after about 100 ms, while the task still runs', async () => {
    const { task, batches } = run('printf abc; sleep 0.6');
    const began = Date.now();
    while (batches.length === 0 && Date.now() - began < 2_000) await sleep(5);
    const arrivedAfter = Date.now() - began;
    expect(batches).toEqual([{ stream: 'stdout', text: 'abc', partial: true }]);
    expect(arrivedAfter).toBeGreaterThanOrEqual(90);
    expect(arrivedAfter).toBeLessThan(400);
    expect((await task.done).output).toBe('abc');
  });

  it('keeps the tail of the output up to resultMaxBytes, flags the cut, never starts mid-character', async () => {
    const { task, spec } = run('i=0; while [ $i -lt 500 ]; do echo "€€€ line $i"; i=$((i+1)); done; echo short >&2', {
      resultMaxBytes: 1024,
    });
    const outcome = await task.done;
    expect(Buffer.byteLength(outcome.output)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(outcome.output)).toBeGreaterThan(1000);
    expect(outcome.output.endsWith('€€€ line 499\n')).toBe(true);
    expect(outcome.output).not.toContain('\ufffd');
    expect(outcome.outputTruncated).toBe(true);
    expect(outcome).toMatchObject({ error: 'short\n', errorTruncated: false });
    const log = readFileSync(spec.logFile, 'utf8');
    expect(log.startsWith('€€€ line 0\n')).toBe(true);
    expect(log.endsWith('€€€ line 499\nshort\n')).toBe(true);
  });

  it('a log file that cannot be written is reported and does not stop the task', async () => {
    const notADir = path.join(tmp, `file-${randomUUID()}`);
    writeFileSync(notADir, '');
    const { task, batches } = run('echo still runs', { logFile: path.join(notADir, 'task.log') });
    const outcome = await task.done;
    expect(outcome).toMatchObject({ status: 'success', output: 'still runs\n' });
    expect(batches[0]).toMatchObject({ stream: 'agent', text: expect.stringContaining('cannot write the task log') });
    expect(batches[1]).toEqual({ stream: 'stdout', text: 'still runs' });
  });

  it('pause() stops the reading of output until resume()', async () => {
    const { task, batches } = run('echo hi');
    task.pause();
    await sleep(300);
    expect(batches).toEqual([]);
    task.resume();
    await task.done;
    expect(batches).toEqual([{ stream: 'stdout', text: 'hi' }]);
  });
});

describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
  'run_as: the chowned dir is the checked one',
  () => {
    const nobody = { uid: 65534, gid: 65534, name: 'nobody', home: '/nonexistent' };

    it('gives the task user its checked directory', async () => {
      const dir = path.join(tmp, `own-${randomUUID()}`);
      mkdirSync(dir);
      const { task } = run('id -u', { cwd: dir, cwdReal: dir, runAs: nobody });
      expect(await task.done).toMatchObject({ status: 'success', output: '65534\n' });
      expect(statSync(dir).uid).toBe(65534);
    });

    it('a symlink swapped in since the check: nothing chowned, nothing started', async () => {
      const checked = path.join(tmp, `checked-${randomUUID()}`);
      const agentOwn = path.join(tmp, `state-${randomUUID()}`);
      mkdirSync(agentOwn);
      symlinkSync(agentOwn, checked);
      const { task } = run('touch pwned', { cwd: checked, cwdReal: checked, runAs: nobody });
      const outcome = await task.done;
      expect(outcome).toMatchObject({ status: 'error', errorCode: 'TASK_EXECUTION_FAILED' });
      expect(outcome.error).toMatch(/now leads to .*state-.*, not .*checked-.* as checked; the task was not started/);
      expect(statSync(agentOwn).uid).toBe(0);
      expect(existsSync(path.join(agentOwn, 'pwned'))).toBe(false);
    });
  },
);
