/**
 * A short soak in CI: a few hundred tasks with random cancels and dropped connections. Every task
 * ends with one result (duplicates identical), every line of every uncancelled task arrives, and no
 * task process is left behind. SOAK_TASKS=5000 runs a long one.
 */
import { describe, expect, it } from 'vitest';
import { alive, connectedAgent, sleep, startPlatform } from './harness.js';

const TASKS = Number(process.env.SOAK_TASKS ?? 300);

/** A small deterministic generator, so that a failure can be replayed with its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('soak', () => {
  const seed = Number(process.env.SOAK_SEED ?? Date.now() % 100_000);
  it(`${TASKS} tasks, random cancels and drops (seed ${seed})`, async () => {
    const rand = random(seed);
    const sim = await startPlatform({ keepLogText: true });
    await connectedAgent(sim, { config: { task: { max_concurrent: 4, kill_grace: 1 } } });
    const cancelled = new Set<string>();
    const lines = new Map<string, number>();
    const frames = new Map<string, { task_id: string; command: string }>();
    // as a platform does: what was sent into a dying connection is sent again after the next auth
    // (the agent runs a task_id once and answers a redelivery with its result)
    sim.on('auth', () =>
      setTimeout(() => {
        for (const [id, frame] of frames) if (!sim.result(id) && sim.connected) sim.dispatch(frame);
      }, 50),
    );
    for (let i = 0; i < TASKS; i++) {
      const id = `soak-${i}`;
      const n = 1 + Math.floor(rand() * 40);
      const slow = rand() < 0.1;
      lines.set(id, n);
      const frame = {
        task_id: id,
        command: `echo "pid $$"; for i in $(seq 1 ${n}); do echo ${id} line $i; done${slow ? '; sleep 5' : ''}`,
      };
      frames.set(id, frame);
      await sim.waitFor(() => sim.connected, 15_000, 'a connection to dispatch on');
      sim.dispatch(frame);
      if (slow || rand() < 0.05) {
        cancelled.add(id);
        setTimeout(() => sim.connected && sim.cancel(id), 50 + rand() * 300);
      }
      if (rand() < 0.02) sim.dropConnections();
      if (i % 20 === 0) await sleep(20);
    }
    const missing = () => [...lines.keys()].filter((id) => !sim.result(id));
    await sim
      .waitFor(() => missing().length === 0, 120_000, 'every result')
      .catch((err) => {
        throw new Error(`${err.message}; missing: ${missing().slice(0, 10).join(', ')}`);
      });
    const pids: number[] = [];
    for (const [id, n] of lines) {
      const results = sim.results(id);
      for (const r of results) expect(r).toEqual(results[0]);
      const result = results[0];
      const out = sim.output(id, 'stdout');
      const pid = /pid (\d+)/.exec(out);
      if (pid) pids.push(Number(pid[1]));
      if (result.status === 'success') {
        expect(out.split('\n').slice(1)).toEqual(Array.from({ length: n }, (_, k) => `${id} line ${k + 1}`));
      } else {
        // a cancel that arrived before its task was dispatched, or while the connection was down, may miss
        expect(cancelled.has(id), `${id} ended ${result.status}`).toBe(true);
        expect(['cancelled', 'error']).toContain(result.status);
      }
    }
    await sleep(200);
    for (const pid of pids) expect(alive(pid), `task process ${pid}`).toBe(false);
  }, 600_000);
});
