/**
 * The wired scheduler with a fake runner (no process): one result per task, a task_id never run
 * twice, max_concurrent, cancel queued and running, backpressure reaching running tasks, shutdown.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../logging/logger.js';
import type { TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import { onlineAgentState } from '../state/test-state.js';
import { workLayout } from '../workspace/layout.js';
import { TaskDirs } from '../workspace/task-dirs.js';
import { TaskJournal } from './journal.js';
import type { RunHooks, RunOutcome, RunSpec, RunningTask, StopReason } from './runner.js';
import { TaskScheduler, type SchedulerOptions } from './scheduler.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface FakeRun {
  spec: RunSpec;
  hooks: RunHooks;
  paused: boolean;
  stopped: StopReason | null;
  finish(status?: RunOutcome['status']): void;
}

function setup(maxConcurrent = 1, extra: Partial<SchedulerOptions> = {}) {
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
  const state = onlineAgentState();
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
    delivery: {
      pendingResult: () => undefined,
      resultConfirmed: () => false,
      confirmedResult: () => undefined,
      whenResultConfirmed: () => false,
      keepConfirmedUntil: () => {},
    },
    state,
    log: quiet,
    onTaskFinished: () => {},
    startTask,
    ...extra,
  });
  const results = (id?: string) =>
    sent.filter((f): f is TaskResultFrame => f.type === 'task_result' && (!id || f.task_id === id));
  const tick = () => new Promise((r) => setImmediate(r));
  const started = () => runs.map((r) => r.spec.taskId);
  const run = (id: string) => runs.find((r) => r.spec.taskId === id)!;
  return { scheduler, runs, sent, results, tick, state, started, run };
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
    const s = setup(4, { onTaskStarting: () => holder.scheduler!.setHeld(true) });
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

describe('priority and depends_on', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a higher priority starts first, FIFO among equals, also for a task that waited for its dependency', async () => {
    const s = setup();
    s.scheduler.submit(task('busy'));
    s.scheduler.submit({ ...task('low'), priority: -1 });
    s.scheduler.submit({ ...task('dep-waiter'), depends_on: ['busy'] });
    s.scheduler.submit(task('plain'));
    s.scheduler.submit({ ...task('urgent'), priority: 10 });
    s.run('busy').finish();
    for (let i = 0; i < 4; i++) {
      await s.tick();
      s.runs.at(-1)!.finish();
    }
    await s.tick();
    // dep-waiter arrived before plain: once ready it keeps its place among priority 0
    expect(s.started()).toEqual(['busy', 'urgent', 'dep-waiter', 'plain', 'low']);
  });

  it('waits until every dependency succeeded; a failed one ends the dependent DEPENDENCY_FAILED, and its own dependents too', async () => {
    const s = setup(4);
    s.scheduler.submit(task('a'));
    s.scheduler.submit(task('b'));
    s.scheduler.submit({ ...task('c'), depends_on: ['a', 'b'] });
    s.scheduler.submit({ ...task('d'), depends_on: ['c'] });
    s.scheduler.submit({ ...task('e'), depends_on: ['a'] });
    expect(s.started()).toEqual(['a', 'b']);
    s.run('a').finish();
    await s.tick();
    expect(s.started()).toEqual(['a', 'b', 'e']); // c still waits for b
    s.run('b').finish('failed');
    await s.tick();
    expect(s.started()).toEqual(['a', 'b', 'e']);
    expect(s.results('c')[0]).toMatchObject({ status: 'error', error_code: 'DEPENDENCY_FAILED', exit_code: -1 });
    expect(s.results('c')[0]!.error).toContain('dependency b ended failed');
    expect(s.results('d')[0]).toMatchObject({ status: 'error', error_code: 'DEPENDENCY_FAILED' });
    expect(s.results('d')[0]!.error).toContain('dependency c ended error (DEPENDENCY_FAILED)');
    expect(s.scheduler.queuedCount).toBe(0);
  });

  it('a dependency that already finished decides at once: success runs, cancelled refuses', async () => {
    const s = setup();
    s.scheduler.submit(task('ok'));
    s.run('ok').finish();
    await s.tick();
    s.scheduler.submit(task('hold'));
    s.scheduler.cancel('hold');
    await s.tick();
    s.scheduler.submit({ ...task('after-ok'), depends_on: ['ok'] });
    s.scheduler.submit({ ...task('after-cancel'), depends_on: ['hold'] });
    await s.tick();
    expect(s.started()).toEqual(['ok', 'hold', 'after-ok']);
    expect(s.results('after-cancel')[0]).toMatchObject({ error_code: 'DEPENDENCY_FAILED' });
    expect(s.results('after-cancel')[0]!.error).toContain('dependency hold ended cancelled');
  });

  it('a cycle is refused when the task that closes it arrives; the rest of the cycle follows it', () => {
    const s = setup();
    s.scheduler.submit({ ...task('self'), depends_on: ['self'] });
    expect(s.results('self')[0]!.error).toContain('cycle (self → self)');
    s.scheduler.submit({ ...task('x'), depends_on: ['y'] }); // y not here yet: x waits
    s.scheduler.submit({ ...task('y'), depends_on: ['z'] });
    s.scheduler.submit({ ...task('z'), depends_on: ['x'] });
    expect(s.results('z')[0]).toMatchObject({ status: 'error', error_code: 'DEPENDENCY_FAILED' });
    expect(s.results('z')[0]!.error).toContain('cycle (z → x → y → z)');
    expect(s.results('y')[0]!.error).toContain('dependency z ended error');
    expect(s.results('x')[0]!.error).toContain('dependency y ended error');
    expect(s.runs).toHaveLength(0);
    expect(s.scheduler.queuedCount).toBe(0);
  });

  it('a chain of 3000 waiting tasks closed into a cycle: every one ends DEPENDENCY_FAILED, no stack overflow', () => {
    const s = setup();
    const n = 3000;
    for (let i = 0; i < n; i++) s.scheduler.submit({ ...task(`c${i}`), depends_on: [`c${i + 1}`] });
    s.scheduler.submit({ ...task(`c${n}`), depends_on: ['c0'] });
    expect(s.results(`c${n}`)[0]!.error).toMatch(new RegExp(`cycle \\(c${n} → c0 → c1 → .* → c${n - 1} → c${n}\\)`));
    expect(s.results()).toHaveLength(n + 1);
    expect(s.results().every((r) => r.error_code === 'DEPENDENCY_FAILED')).toBe(true);
    expect(s.scheduler.queuedCount).toBe(0);
  });

  it('a dependency that never arrives ends the wait after task.dependency_timeout; one that arrives late is waited for', async () => {
    vi.useFakeTimers();
    const s = setup(2, { dependencyTimeoutS: 60 });
    s.scheduler.submit({ ...task('orphan'), depends_on: ['never-sent'] });
    s.scheduler.submit({ ...task('patient'), depends_on: ['late'] });
    vi.advanceTimersByTime(30_000);
    s.scheduler.submit(task('late')); // arrives in time, and runs for longer than the wait
    vi.advanceTimersByTime(40_000);
    expect(s.results('orphan')[0]).toMatchObject({ error_code: 'DEPENDENCY_FAILED' });
    expect(s.results('orphan')[0]!.error).toContain('never-sent never arrived on this agent within 60 s');
    expect(s.results('patient')).toHaveLength(0);
    s.run('late').finish();
    await vi.advanceTimersByTimeAsync(1);
    expect(s.started()).toEqual(['late', 'patient']);
  });

  it('cancelling a waiting task reports it cancelled at once; shutdown refuses the waiting ones too', async () => {
    const s = setup();
    s.scheduler.submit({ ...task('w1'), depends_on: ['nope'] });
    s.scheduler.submit({ ...task('w2'), depends_on: ['nope'] });
    expect(s.scheduler.cancel('w1')).toBe(true);
    expect(s.results('w1')[0]).toMatchObject({ status: 'cancelled', error_code: 'TASK_CANCELLED' });
    await s.scheduler.shutdown();
    expect(s.results('w2')[0]).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
  });

  it('task.max_queued: a task past it is refused QUEUE_FULL, and a slot freed takes the next', async () => {
    const s = setup(1, { maxQueued: 2 });
    ['r', 'q1', 'q2', 'q3'].forEach((id) => s.scheduler.submit(task(id)));
    expect(s.results('q3')[0]).toMatchObject({ status: 'error', error_code: 'QUEUE_FULL' });
    s.run('r').finish();
    await s.tick();
    s.scheduler.submit(task('q4'));
    expect(s.results('q4')).toHaveLength(0);
  });

  it('the queue view says why each task waits, in start order', async () => {
    vi.useFakeTimers();
    const s = setup(1);
    s.scheduler.submit(task('run'));
    s.scheduler.submit(task('first'));
    s.scheduler.submit({ ...task('second'), priority: 5 });
    s.scheduler.submit(task('third'));
    s.scheduler.submit({ ...task('dep'), depends_on: ['run', 'elsewhere'] });
    await vi.advanceTimersByTimeAsync(150);
    const queue = s.state.snapshot().queue!;
    expect(queue).toMatchObject({ running: 1, maxConcurrent: 1, total: 4 });
    expect(queue.tasks).toEqual([
      { taskId: 'second', priority: 5, wait: { kind: 'capacity', running: 1, maxConcurrent: 1 } },
      { taskId: 'first', priority: 0, wait: { kind: 'behind', ahead: 1, higher: 1 } },
      { taskId: 'third', priority: 0, wait: { kind: 'behind', ahead: 2, higher: 1 } },
      {
        taskId: 'dep',
        priority: 0,
        wait: { kind: 'dependencies', waitingFor: ['run', 'elsewhere'], notReceived: ['elsewhere'] },
      },
    ]);
    expect(s.state.task('second')).toMatchObject({ priority: 5 });
    expect(s.state.task('dep')).toMatchObject({ dependsOn: ['run', 'elsewhere'] });
  });
});
