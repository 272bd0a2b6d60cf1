/**
 * 5. Burst: 200 short tasks (`echo $i`) sent at once to an agent with task.max_concurrent 4: the
 * time to the last task_result, against bare Node spawning the same commands 4 at a time (the goal,
 * issue 12), `xargs -P4 -n1 sh -c`, and a plain implementation of the spec (plain-agent.ts, over its
 * own simulator). All four alternate within each run; the ratios are per run, as the load moves.
 * And bare Node grown to the agent's anonymous memory first (RssAnon read after each run's burst):
 * every spawn forks the whole process on the main thread, so that row is the bound of the agent's
 * size.
 */
import { spawn } from 'node:child_process';
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN, track } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { rssAnonKb } from '../lib/proc.js';
import { median, sleep } from '../lib/stats.js';
import { nodeSpawnBurst } from '../lib/node-direct.js';
import { startPlainAgent } from '../lib/plain-agent.js';
import { TaskTracker } from '../lib/tracker.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const TASKS = 200;
const CONCURRENCY = 4;
const mbs = (kbs: number[]): string => kbs.map((kb) => (kb / 1024).toFixed(0)).join(', ');

function xargsRun(commands: string[]): Promise<{ ms: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = track(
      spawn('xargs', ['-d', '\n', `-P${CONCURRENCY}`, '-n1', 'sh', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`xargs exited ${code}`));
      else resolve({ ms: performance.now() - t0, lines: out.split('\n').filter(Boolean).length });
    });
    child.stdin!.end(commands.join('\n') + '\n');
  });
}

export const burst: Bench = {
  name: 'burst',
  estimateS: (quick) => (quick ? 3 : 5) * 7 + 4,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 5;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    const tracker = new TaskTracker(sim);
    const agent = await startAgent(sim, {
      label: 'burst',
      config: { task: { max_concurrent: CONCURRENCY } },
      nodeArgs: ctx.agentNodeArgs('burst'),
    });
    const commands = Array.from({ length: TASKS }, (_, i) => `echo ${i}`);
    const peerSim = new PlatformSimulator({ tokens: [TOKEN] });
    await peerSim.start();
    const peerTracker = new TaskTracker(peerSim);
    const peer = await startPlainAgent(peerSim.url, TOKEN, CONCURRENCY);
    try {
      for (let i = 0; i < CONCURRENCY; i++) tracker.dispatch(`warm-${i}`, 'echo hi');
      await tracker.results(CONCURRENCY, 10_000);
      await sleep(500);
      const agentMs: number[] = [];
      const xargsMs: number[] = [];
      const nodeMs: number[] = [];
      const nodeCall: number[] = [];
      const sizedMs: number[] = [];
      const sizedCall: number[] = [];
      const agentAnonKb: number[] = [];
      const sizedAnonKb: number[] = [];
      const peerMs: number[] = [];
      const problems: string[] = [];
      for (let r = 0; r < runs; r++) {
        const before = tracker.resultCount;
        const ids = commands.map((_, i) => `burst-${r}-${i}`);
        const t0 = performance.now();
        ids.forEach((id, i) => tracker.dispatch(id, commands[i]!));
        await tracker.results(before + TASKS, 120_000);
        const times = ids.map((id) => tracker.times(id)!);
        agentMs.push(Math.max(...times.map((t) => t.resultAt!)) - t0);
        const wrong = ids.filter((id, i) => {
          const t = tracker.times(id)!;
          return t.result?.status !== 'success' || sim.output(id) !== String(i);
        });
        if (wrong.length) problems.push(`run ${r + 1}: ${wrong.length} tasks without status success / their output`);
        agentAnonKb.push(rssAnonKb(agent.pid));
        await sleep(300); // let the agent finish its after-task cleanup before the baseline runs
        const x = await xargsRun(commands);
        if (x.lines !== TASKS) problems.push(`xargs run ${r + 1}: ${x.lines} lines`);
        xargsMs.push(x.ms);
        const bare = await nodeSpawnBurst(TASKS, CONCURRENCY);
        nodeMs.push(bare.result);
        nodeCall.push(median(bare.calls));
        const sized = await nodeSpawnBurst(TASKS, CONCURRENCY, agentAnonKb.at(-1)!);
        sizedMs.push(sized.result);
        sizedCall.push(median(sized.calls));
        sizedAnonKb.push(sized.anonKb);
        const peerBefore = peerTracker.resultCount;
        const p0 = performance.now();
        ids.forEach((id, i) => peerTracker.dispatch(id, commands[i]!));
        await peerTracker.results(peerBefore + TASKS, 120_000);
        peerMs.push(Math.max(...ids.map((id) => peerTracker.times(id)!.resultAt!)) - p0);
        const peerWrong = ids.filter((id) => peerTracker.times(id)!.result?.status !== 'success').length;
        if (peerWrong) problems.push(`plain peer run ${r + 1}: ${peerWrong} tasks without status success`);
        ctx.log(
          `run ${r + 1}: agent ${agentMs.at(-1)!.toFixed(0)} ms, bare node ${nodeMs.at(-1)!.toFixed(0)} ms (agent ÷ node ${(agentMs.at(-1)! / nodeMs.at(-1)!).toFixed(2)}), node of the agent's size ${sizedMs.at(-1)!.toFixed(0)} ms (RssAnon ${(sized.anonKb / 1024).toFixed(0)} MB, spawn() p50 ${sizedCall.at(-1)!.toFixed(2)} ms vs bare ${nodeCall.at(-1)!.toFixed(2)} ms), xargs ${x.ms.toFixed(0)} ms, plain peer ${peerMs.at(-1)!.toFixed(0)} ms`,
        );
        await sleep(300);
      }
      const ratio = agentMs.map((a, i) => a / xargsMs[i]!);
      const toNode = agentMs.map((a, i) => a / nodeMs[i]!);
      const toPeer = agentMs.map((a, i) => a / peerMs[i]!);
      const note = problems.length
        ? `NOT VERIFIED: ${problems.join('; ')}`
        : `all ${TASKS} results success with their output, each run`;
      return [
        fromRuns(
          'burst',
          `${TASKS} × echo, max_concurrent ${CONCURRENCY}: sent → last task_result`,
          agentMs,
          'ms',
          undefined,
          note,
        ),
        fromRuns('burst', `xargs -P${CONCURRENCY} -n1 sh -c, same commands`, xargsMs, 'ms'),
        fromRuns(
          'burst',
          `limit: bare node spawning the same, ${CONCURRENCY} at a time`,
          nodeMs,
          'ms',
          undefined,
          `÷ xargs: ${nodeMs.map((x, i) => (x / xargsMs[i]!).toFixed(1)).join(', ')}`,
        ),
        fromRuns('burst', 'agent ÷ bare node (per run)', toNode, '×', atMost(1.5, '×')),
        fromRuns(
          'burst',
          `limit: node of the agent's size spawning the same, ${CONCURRENCY} at a time`,
          sizedMs,
          'ms',
          undefined,
          `a fresh node first grown to the agent's RssAnon read after each run's burst: agent ${mbs(agentAnonKb)} MB, this node ${mbs(sizedAnonKb)} MB`,
        ),
        fromRuns(
          'burst',
          "node of the agent's size ÷ bare node (per run): the floor of agent ÷ bare node while spawn() forks the agent",
          sizedMs.map((x, i) => x / nodeMs[i]!),
          '×',
        ),
        fromRuns('burst', 'main thread in one spawn() call, bare node, p50', nodeCall, 'ms'),
        fromRuns('burst', "main thread in one spawn() call, node of the agent's size, p50", sizedCall, 'ms'),
        fromRuns('burst', 'agent ÷ xargs (per run)', ratio, '×'),
        fromRuns(
          'burst',
          'peer: a plain implementation of the spec (ws + spawn, no journal), same tasks',
          peerMs,
          'ms',
          undefined,
          `agent ÷ peer per run: ${toPeer.map((x) => x.toFixed(2)).join(', ')}`,
        ),
        fromRuns(
          'burst',
          'agent: tasks per second',
          agentMs.map((ms) => TASKS / (ms / 1000)),
          '/s',
        ),
      ];
    } finally {
      tracker.detach();
      peerTracker.detach();
      peer.stop();
      await agent.stop();
      await sim.stop();
      await peerSim.stop();
    }
  },
};
