/** Nothing lost over kill -9: orphans ended, results reported, a task_id never run twice across restarts. */
import { existsSync, readFileSync } from 'node:fs';
import type { PlatformSimulator } from '../platform/simulator.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, connectedAgent, sleep, startPlatform, TOKEN, waitForResult } from './harness.js';

/** Waits until the agent's journal says the task reached `phase` (re-checked on every frame: heartbeats every 0.5 s). */
function journalPhase(sim: PlatformSimulator, workDir: string, taskId: string, phase: string): Promise<unknown> {
  const file = path.join(workDir, 'state', 'tasks', `${taskId}.json`);
  return sim.waitFor(
    () => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).phase === phase,
    10_000,
    `${taskId} ${phase} in the journal`,
  );
}

const FAST_HEARTBEATS = { monitor: { interval: 0.5 } };

describe('restart recovery', () => {
  it('ends the orphaned tree of a task running at kill -9 and reports it AGENT_RESTARTED', async () => {
    const sim = await startPlatform();
    const first = await connectedAgent(sim, { config: FAST_HEARTBEATS });
    sim.dispatch({ task_id: 'crash-run', command: 'sleep 60 & echo child=$!; wait' });
    await sim.waitFor(() => sim.output('crash-run').includes('child='), 10_000, 'the child pid');
    const child = Number(/child=(\d+)/.exec(sim.output('crash-run'))![1]);
    await journalPhase(sim, first.workDir, 'crash-run', 'running');
    await first.stop('SIGKILL');
    expect(alive(child)).toBe(true); // its own process group: kill -9 of the agent leaves it behind
    await connectedAgent(sim, { workDir: first.workDir });
    const result = await waitForResult(sim, 'crash-run');
    expect(result).toMatchObject({ status: 'error', error_code: 'AGENT_RESTARTED' });
    expect(alive(child)).toBe(false);
  });

  it('sends a result that was never confirmed again after a kill -9, and never runs the task again', async () => {
    const sim = await startPlatform();
    const first = await connectedAgent(sim, { config: FAST_HEARTBEATS });
    sim.dispatch({ task_id: 'crash-result', command: 'sleep 0.5; echo ran >> ../../marker; echo finished' });
    await journalPhase(sim, first.workDir, 'crash-result', 'running');
    await sim.stop(); // the platform is gone while the task finishes
    const file = path.join(first.workDir, 'state', 'tasks', 'crash-result.json');
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
      if (JSON.parse(readFileSync(file, 'utf8')).phase === 'finished') break;
    }
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ phase: 'finished', delivered: false });
    await first.stop('SIGKILL');
    expect(readFileSync(path.join(first.workDir, 'marker'), 'utf8')).toBe('ran\n');
    expect(sim.result('crash-result')).toBeUndefined();
    await sim.start();
    const second = await connectedAgent(sim, { workDir: first.workDir });
    const result = await waitForResult(sim, 'crash-result');
    expect(result).toMatchObject({ status: 'success', output: 'finished\n' });
    // redelivered by the platform after the restart: answered from the journal
    sim.dispatch({ task_id: 'crash-result', command: 'echo ran >> ../../marker' });
    await sim.waitFor(() => sim.results('crash-result').length >= 2, 10_000, 'the result sent again');
    expect(readFileSync(path.join(second.workDir, 'marker'), 'utf8')).toBe('ran\n');
    expect(existsSync(path.join(second.workDir, 'state', 'tasks', 'crash-result.json'))).toBe(true);
  });

  it('a revoked token: running tasks are stopped and journaled, exit 3, and the next start reports them', async () => {
    const sim = await startPlatform({ tokens: [TOKEN, 'tok-NEW-after-revoke'] });
    const first = await connectedAgent(sim, { config: { task: { kill_grace: 1 } } });
    sim.dispatch({ task_id: 'revoked-run', command: 'sleep 60 & echo child=$!; wait' });
    await sim.waitFor(() => sim.output('revoked-run').includes('child='), 10_000, 'the child pid');
    const child = Number(/child=(\d+)/.exec(sim.output('revoked-run'))![1]);
    sim.revokeToken(TOKEN, true);
    expect((await first.exited).code).toBe(3);
    expect(first.stderr()).toMatch(/AUTH_FAILED/);
    expect(alive(child)).toBe(false);
    // its result could not be delivered; the next start (with a new token) sends it
    const second = await connectedAgent(sim, { workDir: first.workDir, token: 'tok-NEW-after-revoke' });
    const result = await waitForResult(sim, 'revoked-run');
    expect(result).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
    await second.stop();
  });
});
