/**
 * The operator's hooks around a real command (real processes, /bin/sh): order, environment, a
 * failing or hanging pre_task, post_task after every end, their trees ended, their output as masked
 * agent lines.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { alive } from '../../../e2e/lib/proc.js';
import { startWithHooks, type HookSettings } from './hooks.js';
import type { OutputBatch } from './output-batcher.js';
import { defaultShell, type RunSpec } from './runner.js';

const posix = process.platform !== 'win32';
const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'ats-hooks-')));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(command: string, hooks: HookSettings, overrides: Partial<RunSpec> = {}) {
  const taskId = `h-${randomUUID()}`;
  const cwd = mkdtempSync(path.join(tmp, 'task-'));
  const spec: RunSpec = {
    taskId,
    command,
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ATS_TASK_ID: taskId, GREETING: 'hello' },
    timeoutMs: 20_000,
    killGraceMs: 300,
    shell: defaultShell(),
    logFile: path.join(tmp, 'logs', `${taskId}.log`),
    resultMaxBytes: 64 * 1024,
    ...overrides,
  };
  const batches: OutputBatch[] = [];
  const task = startWithHooks(spec, { onOutput: (b) => batches.push(b) }, hooks);
  const agentLines = () =>
    batches
      .filter((b) => b.stream === 'agent')
      .map((b) => b.text)
      .join('\n');
  const stdout = () =>
    batches
      .filter((b) => b.stream === 'stdout')
      .map((b) => b.text)
      .join('\n');
  return { task, batches, agentLines, stdout, cwd, spec };
}

describe.runIf(posix)('hooks around a task', () => {
  it('runs pre_task, the command and post_task in that order, in the task dir with its env; post gets ATS_TASK_STATUS', async () => {
    const r = run('echo cmd >> order; exit 3', {
      pre_task: 'echo "pre $GREETING $(pwd)"; echo pre >> order',
      post_task: 'echo "post $ATS_TASK_STATUS $ATS_TASK_EXIT_CODE"; echo post >> order',
      timeout: 10,
    });
    const outcome = await r.task.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 3, errorCode: null });
    expect(readFileSync(path.join(r.cwd, 'order'), 'utf8')).toBe('pre\ncmd\npost\n');
    expect(r.agentLines()).toContain(`[pre_task] pre hello ${r.cwd}`);
    expect(r.agentLines()).toContain('[post_task] post failed 3');
    expect(r.agentLines()).toMatch(/\[pre_task\] exit 0 after/);
    // hook output is the agent's, not the task's stdout
    expect(r.stdout()).toBe('');
    // and it is in the task's log file too
    expect(readFileSync(r.spec.logFile, 'utf8')).toContain('post failed 3');
  });

  it('a failing pre_task: HOOK_FAILED with its stderr, the command never runs, post_task still runs', async () => {
    const r = run('touch ran', {
      pre_task: 'echo "no license server" >&2; exit 7',
      post_task: 'echo "cleanup after $ATS_TASK_STATUS"',
      timeout: 10,
    });
    const outcome = await r.task.done;
    expect(outcome).toMatchObject({ status: 'error', exitCode: -1, errorCode: 'HOOK_FAILED' });
    expect(outcome.error).toBe('the pre_task hook exited with 7: no license server; the command did not run');
    expect(existsSync(path.join(r.cwd, 'ran'))).toBe(false);
    expect(r.agentLines()).toContain('[post_task] cleanup after error');
  });

  it('a pre_task past hooks.timeout is ended with its whole tree: HOOK_FAILED, the command never runs', async () => {
    const r = run('touch ran', { pre_task: 'sleep 30 & echo $! > bg; wait', timeout: 0.5 });
    const outcome = await r.task.done;
    expect(outcome).toMatchObject({ status: 'error', errorCode: 'HOOK_FAILED' });
    expect(outcome.error).toContain('timed out after 0.5 s (hooks.timeout)');
    const bg = Number(readFileSync(path.join(r.cwd, 'bg'), 'utf8'));
    expect(alive(bg)).toBe(false);
    expect(existsSync(path.join(r.cwd, 'ran'))).toBe(false);
  });

  it('post_task runs after a cancel and after a timeout, bounded by hooks.timeout; its tree is ended too', async () => {
    const cancelled = run('sleep 30', { post_task: 'echo "post $ATS_TASK_STATUS"', timeout: 5 });
    await sleep(200);
    cancelled.task.stop('cancelled');
    expect(await cancelled.task.done).toMatchObject({ status: 'cancelled' });
    expect(cancelled.agentLines()).toContain('[post_task] post cancelled');

    const timedOut = run(
      'sleep 30',
      { post_task: 'echo "post $ATS_TASK_STATUS"; sleep 30 & echo $! > bg; wait', timeout: 0.5 },
      { timeoutMs: 300 },
    );
    const started = Date.now();
    expect(await timedOut.task.done).toMatchObject({ status: 'timeout', errorCode: 'TASK_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(timedOut.agentLines()).toContain('[post_task] post timeout');
    expect(timedOut.agentLines()).toContain('[post_task] timed out (hooks.timeout 0.5 s)');
    expect(alive(Number(readFileSync(path.join(timedOut.cwd, 'bg'), 'utf8')))).toBe(false);
  });

  it('cancelled during pre_task: the hook is ended, the command never runs, the task is cancelled', async () => {
    const r = run('touch ran', { pre_task: 'sleep 30', post_task: 'echo "post $ATS_TASK_STATUS"', timeout: 60 });
    await sleep(200);
    r.task.stop('cancelled');
    const outcome = await r.task.done;
    expect(outcome).toMatchObject({ status: 'cancelled', errorCode: 'TASK_CANCELLED' });
    expect(outcome.error).toContain('during the pre_task hook');
    expect(existsSync(path.join(r.cwd, 'ran'))).toBe(false);
    expect(r.agentLines()).toContain('[post_task] post cancelled');
  });

  it("a hook's output is masked like the task's, and a cancel during post_task changes nothing", async () => {
    const r = run(
      'echo done',
      { post_task: 'echo "token s3cr3t-value-123"; sleep 0.3', timeout: 5 },
      {
        secrets: ['s3cr3t-value-123'],
      },
    );
    await sleep(150);
    r.task.stop('cancelled'); // the command has ended by now
    const outcome = await r.task.done;
    expect(outcome.status).toBe('success');
    expect(r.agentLines()).toContain('[post_task] token ***');
    expect(r.agentLines()).not.toContain('s3cr3t');
    expect(readFileSync(r.spec.logFile, 'utf8')).not.toContain('s3cr3t');
  });

  it('no hooks configured: the command alone, exactly as before', async () => {
    const r = run('echo plain', { timeout: 60 });
    expect(await r.task.done).toMatchObject({ status: 'success' });
    expect(r.agentLines()).toBe('');
    expect(r.stdout()).toBe('plain');
  });
});
