import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { listTreeProcesses, processStartTime, signalTree, stopTree } from './process-tree.js';
import { alive } from '../../../e2e/lib/proc.js';

const linux = process.platform === 'linux';
const started: number[] = [];

/** Starts `script` like the runner does and returns it with the pids it printed, one per line. */
async function startScript(
  script: string,
  taskId: string,
  expectedPids: number,
): Promise<{ child: ChildProcess; pids: number[] }> {
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ATS_TASK_ID: taskId, ATS_AGENT_TASK: taskId },
  });
  started.push(child.pid!);
  const pids: number[] = [];
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n').filter(Boolean).map(Number);
      if (lines.length >= expectedPids) resolve();
    });
    setTimeout(() => reject(new Error(`printed only: ${text}`)), 5_000);
  });
  pids.push(...text.split('\n').filter(Boolean).map(Number));
  started.push(...pids);
  return { child, pids };
}

afterEach(() => {
  // the roots' groups, and the printed pids for the ones that left their group
  for (const pid of started.splice(0)) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

describe.runIf(linux)('process tree (Linux /proc)', () => {
  it('lists the root, its children and a setsid escapee carrying the cookie, and nothing else', async () => {
    const taskId = `tree-${randomUUID()}`;
    const other = await startScript('sleep 100 & echo $!; wait', `other-${randomUUID()}`, 1);
    const { child, pids } = await startScript(
      'sleep 100 & echo $!; (setsid sleep 100 >/dev/null 2>&1 & echo $!); wait',
      taskId,
      2,
    );
    const listed = listTreeProcesses(child.pid!, taskId);
    expect(listed).toEqual(expect.arrayContaining([child.pid!, ...pids]));
    expect(listed).not.toContain(other.child.pid);
    expect(listed).not.toContain(other.pids[0]);
    expect(listed).not.toContain(process.pid);
  });

  it('lists a member of the group that is neither a descendant any more nor carries the cookie', async () => {
    const taskId = `tree-${randomUUID()}`;
    // the subshell exits, so the sleep is re-parented; env -i drops the cookie
    const { child, pids } = await startScript(
      '(env -i "$(command -v sleep)" 100 >/dev/null & echo $!); wait; sleep 100',
      taskId,
      1,
    );
    expect(listTreeProcesses(child.pid!, taskId)).toContain(pids[0]);
  });

  it('stopTree ends every process of the tree, escapees too, and leaves other trees alone', async () => {
    const taskId = `tree-${randomUUID()}`;
    const other = await startScript('sleep 100 & echo $!; wait', `other-${randomUUID()}`, 1);
    const { child, pids } = await startScript(
      'sleep 100 & echo $!; sleep 100 & echo $!; (setsid sleep 100 >/dev/null 2>&1 & echo $!); wait',
      taskId,
      3,
    );
    const began = Date.now();
    await stopTree(child.pid!, taskId, 5_000);
    // everything dies on SIGTERM: no waiting for the grace period
    expect(Date.now() - began).toBeLessThan(2_000);
    for (const pid of [child.pid!, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(listTreeProcesses(child.pid!, taskId)).toEqual([]);
    expect(alive(other.pids[0]!)).toBe(true);
  });

  it('SIGKILLs what ignores SIGTERM once the grace period is over', async () => {
    const taskId = `tree-${randomUUID()}`;
    // an ignored signal stays ignored across exec, so the sleeps ignore SIGTERM too
    const { child, pids } = await startScript("trap '' TERM; sleep 100 & echo $!; wait", taskId, 1);
    const began = Date.now();
    await stopTree(child.pid!, taskId, 300);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
    for (const pid of [child.pid!, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('without a root pid, finds the tree by its cookie alone', async () => {
    const taskId = `tree-${randomUUID()}`;
    const { child, pids } = await startScript('sleep 100 & echo $!; wait', taskId, 1);
    expect(listTreeProcesses(undefined, taskId)).toEqual(expect.arrayContaining([child.pid!, ...pids]));
    await stopTree(undefined, taskId, 300);
    for (const pid of [child.pid!, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('a cookie only matches the whole variable: not a longer task id, not a longer variable name', async () => {
    const taskId = `tree-${randomUUID()}`;
    const longerId = await startScript('sleep 100 & echo $!; wait', `${taskId}-2`, 1);
    const longerName = await startScript(`NOT_ATS_AGENT_TASK=${taskId} sleep 100 & echo $!; wait`, 'unrelated', 1);
    const listed = listTreeProcesses(undefined, taskId);
    expect(listed).not.toContain(longerId.pids[0]);
    expect(listed).not.toContain(longerName.pids[0]);
  });

  it("another agent's task with the same task_id is not this one's (the mark holds the agent's id)", async () => {
    const taskId = `same-${randomUUID()}`;
    const mine = await startScript('sleep 100 & echo $!; wait', `agent-a/${taskId}`, 1);
    const theirs = await startScript('sleep 100 & echo $!; wait', `agent-b/${taskId}`, 1);
    const listed = listTreeProcesses(undefined, `agent-a/${taskId}`);
    expect(listed).toContain(mine.pids[0]);
    expect(listed).not.toContain(theirs.pids[0]);
    await stopTree(undefined, `agent-a/${taskId}`, 300);
    expect(alive(mine.pids[0]!)).toBe(false);
    expect(alive(theirs.pids[0]!)).toBe(true);
  });

  it('takes pid 0 or 1 for an unknown root, not for the agent group or the whole system', () => {
    const taskId = `none-${randomUUID()}`;
    expect(listTreeProcesses(1, taskId)).toEqual([]);
    expect(listTreeProcesses(0, taskId)).toEqual([]);
  });

  it('signalling a tree that is gone is not an error', async () => {
    const child = spawn('/bin/sh', ['-c', 'exit 0'], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(() => signalTree(child.pid!, `gone-${randomUUID()}`, 'SIGTERM')).not.toThrow();
    await expect(stopTree(child.pid!, `gone-${randomUUID()}`, 300)).resolves.toBeUndefined();
  });
});

describe.runIf(linux)('a process caught in the middle of an exec', () => {
  it('is looked at again: one whose environment reads empty at first, then carries the cookie, is ended', async () => {
    const taskId = `mid-exec-${randomUUID()}`;
    const { child: root } = await startScript('echo $$', taskId, 1);
    const start = processStartTime(root.pid!)!;
    // an environment that reads empty for 0.1 s (well inside the 500 ms the look waits), as one does
    // between fork and exec, then the cookie
    const late = spawn('/bin/sh', ['-c', `sleep 0.1; exec /usr/bin/env ATS_AGENT_TASK=${taskId} sleep 100`], {
      detached: true,
      stdio: 'ignore',
      env: {},
    });
    started.push(late.pid!);
    if (root.exitCode === null) await new Promise((resolve) => root.once('exit', resolve));
    await stopTree(root.pid, taskId, 300, { start, reaped: () => true });
    expect(alive(late.pid!)).toBe(false);
  });

  it('one whose environment stays empty is not the task’s: the look gives up on it within its bound', async () => {
    const { child: root } = await startScript('echo $$', 'a-task', 1);
    const start = processStartTime(root.pid!)!;
    const bare = spawn('/bin/sleep', ['100'], { detached: true, stdio: 'ignore', env: {} });
    started.push(bare.pid!);
    const began = Date.now();
    await stopTree(root.pid, 'a-task', 300, { start, reaped: () => true });
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(alive(bare.pid!)).toBe(true);
  });
});

describe.runIf(linux)('a reaped root pid taken by another process (issue 11)', () => {
  it('stopTree never signals a pid whose start time is not the root’s, nor its group', async () => {
    // an unrelated process that now holds the pid the task's root had: it leads its own group, as a
    // detached process does; its start time differs from the one the runner recorded for the root
    const { child: stranger, pids } = await startScript('sleep 30 & echo $!; wait', 'someone-else', 1);
    const start = processStartTime(stranger.pid!)!;
    expect(start).toBeGreaterThan(0);
    await stopTree(stranger.pid, 'task-long-gone', 200, { start: start - 1 });
    expect(alive(stranger.pid!)).toBe(true);
    expect(alive(pids[0]!)).toBe(true);
    signalTree(stranger.pid, 'task-long-gone', 'SIGKILL', { start: start - 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(stranger.pid!)).toBe(true);
    expect(alive(pids[0]!)).toBe(true);
    // with its own start time it is the root, and is ended with its group
    await stopTree(stranger.pid, 'task-long-gone', 200, { start });
    expect(alive(stranger.pid!)).toBe(false);
    expect(alive(pids[0]!)).toBe(false);
  });

  it('once the root was reaped, a process holding its pid is never signalled, even one started in the same clock tick', async () => {
    // start times are 10 ms coarse: a pid reused within the root's tick looks the same by start time
    const { child: stranger, pids } = await startScript('sleep 30 & echo $!; wait', 'someone-else', 1);
    const sameTick = { start: processStartTime(stranger.pid!)!, reaped: () => true };
    signalTree(stranger.pid, 'task-long-gone', 'SIGKILL', sameTick);
    await stopTree(stranger.pid, 'task-long-gone', 200, sameTick);
    expect(listTreeProcesses(stranger.pid, 'task-long-gone', sameTick)).toEqual([]);
    expect(alive(stranger.pid!)).toBe(true);
    expect(alive(pids[0]!)).toBe(true);
  });

  it('once the root was reaped, what is left in its group is still ended', async () => {
    // the root exits at once and Node reaps it; its background sleep stays in the root's group
    const { child: root, pids } = await startScript('sleep 30 & echo $!', 'the-task', 1);
    const start = processStartTime(root.pid!)!;
    if (root.exitCode === null) await new Promise((resolve) => root.once('exit', resolve));
    expect(alive(pids[0]!)).toBe(true);
    // another task id: the group alone must find the sleep, not its cookie
    await stopTree(root.pid, 'not-the-cookie', 200, { start, reaped: () => true });
    expect(alive(pids[0]!)).toBe(false);
  });
});
