/**
 * Nothing lost, by construction (issue 10): output produced while the platform is down survives an
 * agent restart (SIGTERM and kill -9) and arrives once per seq, in order, with its result; with
 * `ack` and without; a platform that acks nothing gets everything again, one that acks never does;
 * a crash at a chosen point is logged, exits 1, and the next start recovers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlatformSimulator } from '../platform/simulator.js';
import { connectedAgent, spawnAgent, startPlatform, waitForResult } from './harness.js';

const LINES = 400;
const PRINT_400 = `sleep 0.3; i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo line $i; done`;
const FAST = { monitor: { interval: 0.5 } };

/** Polls a condition on the agent's files (the platform is down: no frame to wake a sim.waitFor). */
async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 25))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/** task_log frames of a task exactly as they arrived (no dedupe), and its results. */
function arrived(sim: PlatformSimulator, taskId: string) {
  const frames = sim.frames.map((f) => f.frame).filter((f) => f.task_id === taskId);
  return {
    seqs: frames.filter((f) => f.type === 'task_log').map((f) => f.seq as number),
    results: frames.filter((f) => f.type === 'task_result'),
  };
}

describe.each([
  { ack: 'auto' as const, label: 'with ack' },
  { ack: false as const, label: 'without ack' },
])('durability $label', ({ ack }) => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'output produced while the platform is down survives an agent %s: every line once per seq, in order, one result',
    async (signal) => {
      const sim = await startPlatform({ ack });
      const first = await connectedAgent(sim, { config: FAST });
      const id = `down-${signal}`;
      sim.dispatch({ task_id: id, command: PRINT_400 });
      await sim.stop(); // before the task prints its first line
      const outbox = path.join(first.workDir, 'state', 'outbox.log');
      await until(() => read(outbox).includes('"type":"task_result"'), 'the result in the outbox file');
      expect(sim.logs(id)).toHaveLength(0);
      await first.stop(signal);
      const second = spawnAgent({ url: sim.url, workDir: first.workDir, config: FAST });
      await second.waitForOutput(/from an earlier run will be sent again/);
      await sim.start();
      const result = await waitForResult(sim, id, 30_000);
      expect(result).toMatchObject({ status: 'success', exit_code: 0 });
      await sim.waitFor(() => sim.heartbeats.length > 0 && sim.lineCount(id) >= LINES, 10_000, 'all lines');
      const { seqs, results } = arrived(sim, id);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // each seq once, in order, none missing
      expect(sim.output(id, 'stdout')).toBe(Array.from({ length: LINES }, (_, i) => `line ${i + 1}`).join('\n'));
      expect(results).toHaveLength(1);
      expect(read(path.join(first.workDir, 'logs', 'agent.log'))).not.toMatch(/internal error/);
    },
    60_000,
  );
});

describe('acknowledgement', () => {
  it('a platform that acks nothing gets every frame again after a reconnect', async () => {
    const sim = await startPlatform({ ack: 'never' });
    await connectedAgent(sim, { config: FAST });
    sim.dispatch({ task_id: 'unacked', command: 'for i in 1 2 3 4 5; do echo $i; done' });
    await waitForResult(sim, 'unacked');
    const before = arrived(sim, 'unacked');
    sim.dropConnections();
    await sim.waitFor(
      () => sim.authCount === 2 && arrived(sim, 'unacked').results.length === 2,
      20_000,
      'the result sent again on the new connection',
    );
    const after = arrived(sim, 'unacked');
    expect(after.seqs).toEqual([...before.seqs, ...before.seqs]);
  }, 40_000);

  it('a platform that acks receives each frame, and after its ack the frame is never sent again', async () => {
    const sim = await startPlatform({ ack: 'auto' });
    await connectedAgent(sim, { config: FAST });
    sim.dispatch({ task_id: 'acked', command: 'for i in $(seq 1 50); do echo $i; done' });
    await waitForResult(sim, 'acked');
    await sim.waitFor(
      () => sim.acksSent.some((a) => a.task_id === 'acked' && a.result === true),
      5_000,
      'the ack of the result',
    );
    expect(sim.authFrames[0].agent_info.features).toContain('ack');
    sim.dropConnections();
    await sim.waitFor(() => sim.authCount === 2, 20_000, 'the reconnect');
    // frames go out in order: anything resent of the first task would arrive before this one's result
    sim.dispatch({ task_id: 'after', command: 'echo after' });
    await waitForResult(sim, 'after');
    const { seqs, results } = arrived(sim, 'acked');
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(sim.lineCount('acked')).toBe(50);
    expect(results).toHaveLength(1);
  }, 40_000);
});

describe('crash policy', () => {
  it('a crash between the journal write and the send: agent.log has the stack, exit 1, the next start sends the result once', async () => {
    const sim = await startPlatform();
    const first = await connectedAgent(sim, {
      config: FAST,
      env: { ATS_AGENT_TEST_CRASH_AT: 'after-journal-write' },
    });
    sim.dispatch({ task_id: 'crashy', command: 'echo before the crash' });
    expect((await first.exited).code).toBe(1);
    const log = read(path.join(first.workDir, 'logs', 'agent.log'));
    expect(log).toMatch(/internal error \(uncaught exception\), exiting: Error: test crash at after-journal-write/);
    expect(log).toMatch(/\n\s+at /); // the stack
    const journal = JSON.parse(read(path.join(first.workDir, 'state', 'tasks', 'crashy.json')));
    expect(journal).toMatchObject({ phase: 'finished', delivered: false });
    expect(sim.result('crashy')).toBeUndefined();
    await connectedAgent(sim, { workDir: first.workDir, config: FAST });
    const result = await waitForResult(sim, 'crashy');
    expect(result).toMatchObject({ status: 'success', output: 'before the crash\n' });
    expect(sim.output('crashy', 'stdout')).toBe('before the crash');
    await sim.waitFor(
      () => JSON.parse(read(path.join(first.workDir, 'state', 'tasks', 'crashy.json'))).delivered === true,
      10_000,
      'the journal to record the delivery',
    );
    expect(arrived(sim, 'crashy').results).toHaveLength(1);
  }, 40_000);
});
