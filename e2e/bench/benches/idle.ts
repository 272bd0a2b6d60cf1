/**
 * 1. Idle: the agent connected, default heartbeats (5 s), nothing to do. RSS of its whole process
 * tree and its CPU share, over a window; a bare `node -e "setInterval(()=>{},1e6)"` beside it.
 *
 * The runs are independent agents measured side by side over the same window (idle processes do not
 * compete for the CPU), which keeps the full benchmark within its time budget.
 */
import { spawn } from 'node:child_process';
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN, track, type BenchAgent } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { CLK_TCK, treeCpuTicks, treeRssKb } from '../lib/proc.js';
import { median, sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const AGENTS = 3;

export const idle: Bench = {
  name: 'idle',
  estimateS: (quick) => (quick ? 15 + 3 + 8 : 60 + 20 + 8),
  async run(ctx: BenchContext): Promise<Figure[]> {
    const windowMs = ctx.quick ? 15_000 : 60_000;
    // after start-up V8's memory reducer runs a few GCs for ~20 s: the full run measures the steady state after it
    const settleMs = ctx.quick ? 3_000 : 20_000;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    const agents: BenchAgent[] = [];
    const bare = track(spawn(process.execPath, ['-e', 'setInterval(()=>{},1e6)'], { stdio: 'ignore' }));
    try {
      for (let i = 0; i < AGENTS; i++)
        agents.push(await startAgent(sim, { label: `idle-${i}`, nodeArgs: ctx.agentNodeArgs(`idle-${i}`) }));
      ctx.log(`${AGENTS} agents connected; settling ${settleMs / 1000} s, then measuring ${windowMs / 1000} s`);
      await sleep(settleMs);

      const pids = [...agents.map((a) => a.pid), bare.pid!];
      const rss = pids.map(() => [] as number[]);
      const sample = () => pids.forEach((pid, i) => rss[i]!.push(treeRssKb(pid) / 1024));
      const hbBefore = sim.heartbeats.length;
      const ticks0 = pids.map(treeCpuTicks);
      const t0 = performance.now();
      sample();
      const timer = setInterval(sample, 1_000);
      await sleep(windowMs);
      clearInterval(timer);
      const ticks1 = pids.map(treeCpuTicks);
      const elapsedS = (performance.now() - t0) / 1000;
      sample();
      const heartbeats = sim.heartbeats.length - hbBefore;

      const cpuPct = pids.map((_, i) => ((ticks1[i]! - ticks0[i]!) / CLK_TCK / elapsedS) * 100);
      const medRss = rss.map((xs) => median(xs));
      const peakRss = rss.map((xs) => Math.max(...xs));
      const a = agents.length;
      const hbNote = `${heartbeats} heartbeats from ${a} agents in ${elapsedS.toFixed(0)} s (expect ≈${Math.floor(elapsedS / 5)} each)`;
      return [
        fromRuns(
          'idle',
          `agent tree RSS (median over ${windowMs / 1000} s)`,
          medRss.slice(0, a),
          'MB',
          atMost(60, 'MB'),
          `peak ${Math.max(...peakRss.slice(0, a)).toFixed(1)} MB`,
        ),
        fromRuns(
          'idle',
          `agent CPU over ${windowMs / 1000} s (% of one core)`,
          cpuPct.slice(0, a),
          '%',
          atMost(0.2, '%'),
          hbNote,
        ),
        fromRuns(
          'idle',
          'bare node -e "setInterval(()=>{},1e6)" RSS',
          [medRss[a]!],
          'MB',
          undefined,
          `CPU ${cpuPct[a]!.toFixed(3)} %`,
        ),
      ];
    } finally {
      await Promise.all(agents.map((x) => x.stop()));
      bare.kill('SIGKILL');
      await sim.stop();
    }
  },
};
