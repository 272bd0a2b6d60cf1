/**
 * 7. Monitor scripts: an idle agent running 3 monitor.scripts every 10 s (each a /bin/sh -c), CPU of
 * its whole process tree (the scripts included: the agent reaps them) over a window.
 */
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN, type BenchAgent } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { CLK_TCK, treeCpuTicks } from '../lib/proc.js';
import { sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const SCRIPTS = [
  { name: 'one', command: 'echo 1', interval: 10, timeout: 5 },
  { name: 'load', command: 'cut -d" " -f1 /proc/loadavg', interval: 10, timeout: 5 },
  { name: 'files', command: 'ls / | wc -l', interval: 10, timeout: 5 },
];

export const monitorScripts: Bench = {
  name: 'monitor-scripts',
  estimateS: (quick) => (quick ? 30 : 60) + 8,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const windowMs = ctx.quick ? 30_000 : 60_000;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    let agent: BenchAgent | undefined;
    try {
      agent = await startAgent(sim, {
        label: 'monitor-scripts',
        config: { monitor: { scripts: SCRIPTS } },
        nodeArgs: ctx.agentNodeArgs('monitor-scripts'),
      });
      await sleep(3_000);
      const ticks0 = treeCpuTicks(agent.pid);
      const t0 = performance.now();
      await sleep(windowMs);
      const ticks1 = treeCpuTicks(agent.pid);
      const elapsedS = (performance.now() - t0) / 1000;
      const cpu = ((ticks1 - ticks0) / CLK_TCK / elapsedS) * 100;
      const custom = sim.heartbeats.at(-1)?.frame.system_info.custom;
      return [
        fromRuns(
          'monitor-scripts',
          `agent CPU with 3 scripts every 10 s, over ${windowMs / 1000} s (% of one core)`,
          [cpu],
          '%',
          atMost(0.5, '%'),
          `last custom ${JSON.stringify(custom)}`,
        ),
      ];
    } finally {
      await agent?.stop();
      await sim.stop();
    }
  },
};
