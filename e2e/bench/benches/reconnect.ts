/**
 * 6. Reconnect: sim.restart() (a clean close 1001, the server away, listening again on the same
 * port): the time from listening again to the agent's next auth, and from the drop (the server saw
 * the connection close) to that auth. The spec waits 3 s after a drop before reconnecting
 * (jittered up to +20 % here), so about 3 s is the floor.
 */
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

export const reconnect: Bench = {
  name: 'reconnect',
  estimateS: (quick) => (quick ? 3 : 5) * 4.5 + 2,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 5;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    const agent = await startAgent(sim, { label: 'reconnect', nodeArgs: ctx.agentNodeArgs('reconnect') });
    let authAt = 0;
    let dropAt: number; // set to 0 before each run, then by the disconnect
    const onAuth = () => (authAt = performance.now());
    const onDrop = () => (dropAt = performance.now());
    sim.on('auth', onAuth);
    sim.on('disconnect', onDrop);
    try {
      const fromListen: number[] = [];
      const fromDrop: number[] = [];
      for (let r = 0; r < runs; r++) {
        const before = sim.authCount;
        dropAt = 0;
        await sim.restart();
        const listeningAt = performance.now();
        await sim.waitFor(() => sim.authCount > before, 20_000, 'the agent to authenticate again');
        fromListen.push(authAt - listeningAt);
        fromDrop.push(authAt - dropAt);
        ctx.log(
          `run ${r + 1}: listening → auth ${(authAt - listeningAt).toFixed(0)} ms, drop → auth ${(authAt - dropAt).toFixed(0)} ms`,
        );
        const hb = sim.heartbeats.length;
        await sim.waitFor(() => sim.heartbeats.length > hb, 10_000, 'a heartbeat after the reconnect');
        await sleep(200);
      }
      return [
        fromRuns('reconnect', 'sim.restart(): listening again → agent auth', fromListen, 'ms', atMost(4000, 'ms')),
        fromRuns(
          'reconnect',
          'drop (close seen by the server) → agent auth',
          fromDrop,
          'ms',
          atMost(4000, 'ms'),
          'floor: 3000 ms (spec: wait 3 s after a drop), +0–20 % jitter',
        ),
      ];
    } finally {
      sim.off('auth', onAuth);
      sim.off('disconnect', onDrop);
      await agent.stop();
      await sim.stop();
    }
  },
};
