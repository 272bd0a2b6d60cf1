/** Nothing lost over kill -9: orphans ended, results reported, a task_id never run twice across restarts. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, connectedAgent, sleep, startPlatform, TOKEN, waitForResult } from './harness.js';

describe('restart recovery', () => {
  it('ends the orphaned tree of a task running at kill -9 and reports it AGENT_RESTARTED', async () => {
    const sim = await startPlatform();
    const first = await connectedAgent(sim);
    sim.dispatch({ task_id: 'crash-run', command: 'sleep 60 & echo child=$!; wait' });
    await sim.waitFor(() => sim.output('crash-run').includes('child='), 10_000, 'the child pid');
    const child = Number(/child=(\d+)/.exec(sim.output('crash-run'))![1]);
    await sleep(200); // let the journal record the running task
    await first.stop('SIGKILL');
    expect(alive(child)).toBe(true); // its own process group: kill -9 of the agent leaves it behind
    await connectedAgent(sim, { workDir: first.workDir });
    const result = await waitForResult(sim, 'crash-run');
    expect(result).toMatchObject({ status: 'error', error_code: 'AGENT_RESTARTED' });
    expect(alive(child)).toBe(false);
  });

  it('sends a result that was never confirmed again after a kill -9, and never runs the task again', async () => {
    const sim = await startPlatform();
    const first = await connectedAgent(sim);
    sim.dispatch({ task_id: 'crash-result', command: 'sleep 0.5; echo ran >> ../../marker; echo finished' });
    await sleep(100);
    await sim.stop(); // the platform is gone while the task finishes
    await sleep(1_500);
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
