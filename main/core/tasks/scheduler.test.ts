/**
 * The wired scheduler with a fake runner (no process): one result per task, a task_id never run
 * twice, max_concurrent, cancel queued and running, backpressure reaching running tasks, shutdown.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../logging/logger.js';
import type { TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import { onlineAgentState } from '../state/test-state.js';
import { workLayout } from '../workspace/layout.js';
import { TaskDirs } from '../workspace/task-dirs.js';
import { TaskJournal } from './journal.js';
import type { RunHooks, RunOutcome, RunSpec, RunningTask, StopReason } from './runner.js';
import { TaskScheduler } from './scheduler.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface FakeRun {
  spec: RunSpec;
  hooks: RunHooks;
  paused: boolean;
  stopped: StopReason | null;
  finish(status?: RunOutcome['status']): void;
}

function setup(maxConcurrent = 1, onTaskStarting?: (taskId: string) => void) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ats-sched-'));
  const runs: FakeRun[] = [];
  const sent: Array<TaskLogFrame | TaskResultFrame> = [];
  const startTask = (spec: RunSpec, hooks: RunHooks): RunningTask => {
    let resolve!: (o: RunOutcome) => void;
    const done = new Promise<RunOutcome>((r) => (resolve = r));
    const run: FakeRun = {
      spec,
      hooks,
      paused: false,
      stopped: null,
      finish: (status = 'success') =>
        resolve({
          status,
          exitCode: status === 'success' ? 0 : -1,
          signal: null,
          output: '',
          outputTruncated: false,
          error: '',
          errorTruncated: false,
          errorCode: null,
          startedAt: new Date(),
          finishedAt: new Date(),
        }),
    };
    runs.push(run);
    hooks.onSpawn?.(1000 + runs.length, undefined);
    return {
      pid: 1000 + runs.length,
      done,
      stop: (reason) => {
        run.stopped = reason;
        run.finish(reason === 'timeout' ? 'timeout' : 'cancelled');
      },
      pause: () => (run.paused = true),
      resume: () => (run.paused = false),
    };
  };
  const scheduler = new TaskScheduler({
    maxConcurrent,
    defaultTimeoutS: 60,
    killGraceS: 1,
    resultMaxBytes: 1000,
    shell: ['/bin/sh', '-c'],
    secretNames: [],
    secretValues: () => [],
    layout: () => workLayout(path.join(dir, 'work')),
    taskDirs: new TaskDirs(path.join(dir, 'state')),
    journal: new TaskJournal(path.join(dir, 'state')),
    deliver: (frame) => sent.push(frame),
    delivery: { pendingResult: () => undefined, resultConfirmed: () => false, whenResultConfirmed: () => false },
    state: onlineAgentState(),
    log: quiet,
    onTaskFinished: () => {},
    onTaskStarting,
    startTask,
  });
  const results = (id?: string) =>
    sent.filter((f): f is TaskResultFrame => f.type === 'task_result' && (!id || f.task_id === id));
  const tick = () => new Promise((r) => setImmediate(r));
  return { scheduler, runs, sent, results, tick };
}

const task = (id: string) => ({ type: 'task' as const, task_id: id, command: 'echo hi' });

describe('TaskScheduler with a fake runner', () => {
  it('runs one task at a time by default; each ends in one result; output carries seq from 1', async () => {
    const s = setup();
    s.scheduler.submit(task('a'));
    s.scheduler.submit(task('b'));
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a']);
    expect(s.scheduler.queuedCount).toBe(1);
    s.runs[0]!.hooks.onOutput({ stream: 'stdout', text: 'one' });
    s.runs[0]!.hooks.onOutput({ stream: 'stdout', text: 'two' });
    s.runs[0]!.finish();
    await s.tick();
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a', 'b']);
    s.runs[1]!.finish();
    await s.tick();
    expect(s.sent.filter((f) => f.type === 'task_log').map((f) => (f as TaskLogFrame).seq)).toEqual([1, 2]);
    expect(s.results().map((r) => `${r.task_id}:${r.status}`)).toEqual(['a:success', 'b:success']);
  });

  it('a redelivered task is never run again; a finished one gets its result again', async () => {
    const s = setup();
    s.scheduler.submit(task('a'));
    s.scheduler.submit(task('a')); // while running
    expect(s.runs).toHaveLength(1);
    s.runs[0]!.finish();
    await s.tick();
    s.scheduler.submit(task('a'));
    expect(s.runs).toHaveLength(1);
    expect(s.results('a')).toHaveLength(2);
    expect(s.results('a')[1]).toEqual(s.results('a')[0]);
  });

  it('cancel: a queued task at once, a running one through its runner; max_concurrent raised starts more', async () => {
    const s = setup();
    ['a', 'b', 'c'].forEach((id) => s.scheduler.submit(task(id)));
    expect(s.scheduler.cancel('b')).toBe(true);
    expect(s.results('b')[0]).toMatchObject({ status: 'cancelled', error_code: 'TASK_CANCELLED' });
    expect(s.scheduler.cancel('a')).toBe(true);
    expect(s.runs[0]!.stopped).toBe('cancelled');
    await s.tick();
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a', 'c']);
    expect(s.scheduler.cancel('nobody')).toBe(false);
    s.scheduler.submit(task('d'));
    s.scheduler.setMaxConcurrent(2);
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a', 'c', 'd']);
  });

  it('backpressure pauses the running tasks and those started while behind', async () => {
    const s = setup(2);
    s.scheduler.submit(task('a'));
    s.scheduler.setPaused(true);
    s.scheduler.submit(task('b'));
    expect(s.runs.map((r) => r.paused)).toEqual([true, true]);
    s.scheduler.setPaused(false);
    expect(s.runs.map((r) => r.paused)).toEqual([false, false]);
  });

  it('shutdown: queued tasks are refused, running ones stopped; every task has exactly one result', async () => {
    const s = setup();
    ['a', 'b'].forEach((id) => s.scheduler.submit(task(id)));
    await s.scheduler.shutdown();
    expect(s.results('a')).toHaveLength(1);
    expect(s.results('a')[0]).toMatchObject({ status: 'cancelled' });
    expect(s.results('b')).toHaveLength(1);
    expect(s.results('b')[0]).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
    s.scheduler.submit(task('late'));
    expect(s.results('late')[0]).toMatchObject({ error_code: 'AGENT_SHUTDOWN' });
    expect(s.runs).toHaveLength(1);
  });

  it('held (pause, drain): nothing leaves the queue, running tasks go on; released, the queue runs', async () => {
    const s = setup(2);
    s.scheduler.submit(task('a'));
    s.scheduler.setHeld(true);
    s.scheduler.submit(task('b'));
    s.scheduler.setMaxConcurrent(3);
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a']);
    expect(s.scheduler.queuedCount).toBe(1);
    s.runs[0]!.finish();
    await s.tick();
    expect(s.results('a')[0]).toMatchObject({ status: 'success' });
    expect(s.runs).toHaveLength(1);
    s.scheduler.setHeld(false);
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a', 'b']);
  });

  it('whenIdle settles once the last running task has its result, not before', async () => {
    const s = setup(2);
    await s.scheduler.whenIdle(); // nothing runs: at once
    ['a', 'b'].forEach((id) => s.scheduler.submit(task(id)));
    let idle = false;
    const waiting = s.scheduler.whenIdle().then(() => (idle = true));
    s.runs[0]!.finish();
    await s.tick();
    expect(idle).toBe(false);
    s.runs[1]!.finish();
    await waiting;
    expect(
      s
        .results()
        .map((r) => r.task_id)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('onTaskStarting can hold the queue before a second task starts (ephemeral), even with room for more', async () => {
    const holder: { scheduler?: TaskScheduler } = {};
    const s = setup(4, () => holder.scheduler!.setHeld(true));
    holder.scheduler = s.scheduler;
    ['a', 'b', 'c'].forEach((id) => s.scheduler.submit(task(id)));
    expect(s.runs.map((r) => r.spec.taskId)).toEqual(['a']);
    expect(s.scheduler.queuedCount).toBe(2);
  });

  it('a new default timeout reaches tasks started after it; a task timeout of its own wins', async () => {
    const s = setup(2);
    s.scheduler.setDefaultTimeout(7);
    s.scheduler.submit(task('a'));
    s.scheduler.submit({ ...task('b'), timeout: 3 });
    await s.tick();
    expect(s.runs.map((r) => r.spec.timeoutMs)).toEqual([7000, 3000]);
  });
});
