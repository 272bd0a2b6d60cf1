import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { nothingLeft, openPidWindow, type PidWindow } from './pid-window.js';
import { processStartTime } from './process-tree.js';

const linux = process.platform === 'linux';
const leftovers: number[] = [];

interface Ended {
  pid: number;
  start: number;
  window: PidWindow | undefined;
  /** what the script printed: the pids of what it started */
  printed: number[];
}

/** Runs `script` as the runner does (own group, the cookie) until its root exits and is reaped. */
async function runToExit(script: string, taskId: string): Promise<Ended> {
  const window = openPidWindow();
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ATS_TASK_ID: taskId, ATS_AGENT_TASK: taskId },
  });
  const start = processStartTime(child.pid!)!;
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const printed = out.split('\n').filter(Boolean).map(Number);
  leftovers.push(child.pid!, ...printed);
  return { pid: child.pid!, start, window, printed };
}

async function groupEmpty(pgid: number): Promise<void> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`group ${pgid} still has members`);
}

afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

describe.runIf(linux)('the cheap look at a task’s end (pid-window.ts)', () => {
  it('sees nothing left after a task that started nothing', async () => {
    const taskId = `win-${randomUUID()}`;
    const ended = await runToExit('echo hi >/dev/null', taskId);
    expect(ended.window).toBeDefined();
    expect(nothingLeft(ended.window, ended.pid, taskId, ended.start)).toBe(true);
  });

  it('is not sure while the group has a member, even one without the cookie', async () => {
    const taskId = `win-${randomUUID()}`;
    // the pause: env has dropped the cookie before the root exits
    const ended = await runToExit('env -i "$(command -v sleep)" 30 >/dev/null 2>&1 & echo $!; sleep 0.1', taskId);
    expect(nothingLeft(ended.window, ended.pid, taskId, ended.start)).toBe(false);
  });

  it('is not sure when something left the group with setsid and closed its stdio', async () => {
    const taskId = `win-${randomUUID()}`;
    const ended = await runToExit('setsid sleep 30 >/dev/null 2>&1 </dev/null & echo $!', taskId);
    // once the escapee is out, the group is empty: only the cookie can find it
    await groupEmpty(ended.pid);
    expect(nothingLeft(ended.window, ended.pid, taskId, ended.start)).toBe(false);
  });

  it('is not fooled by another task’s leftover started while the task ran', async () => {
    const taskId = `win-${randomUUID()}`;
    const otherId = `other-${randomUUID()}`;
    const [ended, other] = await Promise.all([
      runToExit('sleep 0.3', taskId),
      // started after the task's root: its pid lies in the task's window
      new Promise((r) => setTimeout(r, 50)).then(() =>
        runToExit('setsid sleep 30 >/dev/null 2>&1 </dev/null & echo $!', otherId),
      ),
    ]);
    expect(other.start).toBeGreaterThanOrEqual(ended.start);
    await groupEmpty(other.pid);
    expect(nothingLeft(ended.window, ended.pid, taskId, ended.start)).toBe(true);
    expect(nothingLeft(other.window, other.pid, otherId, other.start)).toBe(false);
  });

  it('reads the listing of /proc when the window is longer than worth probing', async () => {
    // 40 forks inside the task: the pids handed out since its root outnumber what is probed one by one
    const forks = 'for i in $(seq 40); do /bin/true; done';
    const clean = await runToExit(forks, `win-${randomUUID()}`);
    expect(nothingLeft(clean.window, clean.pid, `win-${randomUUID()}`, clean.start)).toBe(true);
    const taskId = `win-${randomUUID()}`;
    const escaped = await runToExit(`${forks}; setsid sleep 30 >/dev/null 2>&1 </dev/null & echo $!`, taskId);
    await groupEmpty(escaped.pid);
    expect(nothingLeft(escaped.window, escaped.pid, taskId, escaped.start)).toBe(false);
  });

  it('is never sure without its counters, or when the pids may have gone all the way round since', async () => {
    const taskId = `win-${randomUUID()}`;
    const ended = await runToExit('true', taskId);
    expect(nothingLeft(undefined, ended.pid, taskId, ended.start)).toBe(false);
    expect(nothingLeft(ended.window, ended.pid, taskId, undefined)).toBe(false);
    expect(nothingLeft(ended.window, 1, taskId, ended.start)).toBe(false);
    // as many forks since as there are pids: the window proves nothing
    expect(nothingLeft({ forks: 0, threads: ended.window!.threads }, ended.pid, taskId, ended.start)).toBe(false);
    expect(nothingLeft({ forks: ended.window!.forks, threads: 1e9 }, ended.pid, taskId, ended.start)).toBe(false);
  });
});
