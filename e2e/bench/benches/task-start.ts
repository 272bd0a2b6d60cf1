/**
 * 3. Task start: the platform sends `task` (`echo hi`) → the first task_log received; and the task's
 * end → its task_result received. The process exit is approximated by the last task_log's arrival
 * (`echo hi` writes its line and exits at once), so "exit → result" is what the agent does after the
 * output: waiting for the pipes, the process-tree sweep, closing the task log, the result frame.
 * Sequential tasks on an otherwise idle agent (a 20 ms pause between them).
 * Beside the bare node baseline, the same spawns from a node grown to the agent's anonymous memory
 * (RssAnon read from /proc after each run's tasks): libuv forks the whole process and blocks until
 * the exec, so that row shows how much of the agent's start is the fork of a bigger process.
 */
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { rssAnonKb, rssKb } from '../lib/proc.js';
import { median, percentile, sleep } from '../lib/stats.js';
import { nodeSpawnLatency } from '../lib/node-direct.js';
import { TaskTracker } from '../lib/tracker.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const GAP_MS = 20;
const mb = (kb: number): string => (kb / 1024).toFixed(0);
const mbs = (kbs: number[]): string => kbs.map(mb).join(', ');

export const taskStart: Bench = {
  name: 'task-start',
  estimateS: (quick) => (quick ? 3 * 40 : 5 * 100) * 0.07 + 3,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 5;
    const perRun = ctx.quick ? 40 : 100;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    const tracker = new TaskTracker(sim);
    const agent = await startAgent(sim, { label: 'task-start', nodeArgs: ctx.agentNodeArgs('task-start') });
    try {
      for (let i = 0; i < 5; i++) {
        tracker.dispatch(`warm-${i}`, 'echo hi');
        await tracker.result(`warm-${i}`, 10_000);
        await sleep(GAP_MS);
      }
      const first = { p50: [] as number[], p95: [] as number[] };
      const exit = { p50: [] as number[], p95: [] as number[] };
      const total = { p50: [] as number[], p95: [] as number[] };
      const direct = { first: [] as number[], exit: [] as number[], call: [] as number[] };
      const sized = { first: [] as number[], call: [] as number[], anonKb: [] as number[], rssKb: [] as number[] };
      const agentMem = { anonKb: [] as number[], rssKb: [] as number[] };
      let bad = 0;
      for (let r = 0; r < runs; r++) {
        const f: number[] = [];
        const e: number[] = [];
        const t: number[] = [];
        for (let i = 0; i < perRun; i++) {
          const id = `start-${r}-${i}`;
          tracker.dispatch(id, 'echo hi');
          const times = await tracker.result(id, 10_000);
          if (
            times.firstLogAt === undefined ||
            times.result?.status !== 'success' ||
            times.result?.output?.trim() !== 'hi'
          )
            bad += 1;
          if (times.firstLogAt !== undefined) {
            f.push(times.firstLogAt - times.sentAt);
            e.push(times.resultAt! - times.lastLogAt!);
          }
          t.push(times.resultAt! - times.sentAt);
          await sleep(GAP_MS);
        }
        first.p50.push(percentile(f, 50));
        first.p95.push(percentile(f, 95));
        exit.p50.push(percentile(e, 50));
        exit.p95.push(percentile(e, 95));
        total.p50.push(percentile(t, 50));
        total.p95.push(percentile(t, 95));
        agentMem.anonKb.push(rssAnonKb(agent.pid));
        agentMem.rssKb.push(rssKb(agent.pid));
        // the limits: a bare node process spawning the same command, and one of the agent's size
        const d = await nodeSpawnLatency(perRun);
        direct.first.push(median(d.result.map((x) => x.first)));
        direct.exit.push(median(d.result.map((x) => x.total - x.first)));
        direct.call.push(median(d.calls));
        const s = await nodeSpawnLatency(perRun, agentMem.anonKb.at(-1)!);
        sized.first.push(median(s.result.map((x) => x.first)));
        sized.call.push(median(s.calls));
        sized.anonKb.push(s.anonKb);
        sized.rssKb.push(s.rssKb);
        ctx.log(
          `run ${r + 1}: bare node spawn → first data p50 ${direct.first.at(-1)!.toFixed(2)} ms (spawn() ${direct.call.at(-1)!.toFixed(2)} ms); node of the agent's size (RssAnon ${mb(s.anonKb)} MB) ${sized.first.at(-1)!.toFixed(2)} ms (spawn() ${sized.call.at(-1)!.toFixed(2)} ms); agent first log p50 ${first.p50.at(-1)!.toFixed(2)} ms (÷ node ${(first.p50.at(-1)! / direct.first.at(-1)!).toFixed(2)}), exit→result p50 ${exit.p50.at(-1)!.toFixed(2)} ms`,
        );
      }
      const n = `${perRun} tasks/run`;
      const note = bad ? `${bad} tasks without the expected output/status!` : undefined;
      return [
        fromRuns('task-start', `task sent → first task_log, p50 (${n})`, first.p50, 'ms', undefined, note),
        fromRuns(
          'task-start',
          'first task_log p50 ÷ bare node spawn → first stdout p50 (per run)',
          first.p50.map((f, i) => f / direct.first[i]!),
          '×',
          atMost(1.3, '×'),
        ),
        fromRuns('task-start', `task sent → first task_log, p95 (${n})`, first.p95, 'ms'),
        fromRuns(
          'task-start',
          'limit: bare node spawn(sh -c "echo hi") → first stdout data, p50',
          direct.first,
          'ms',
          undefined,
          'same count, in a fresh node process',
        ),
        fromRuns(
          'task-start',
          "limit: the same from a node of the agent's size → first stdout data, p50",
          sized.first,
          'ms',
          undefined,
          `a fresh node first grown to the agent's RssAnon read after each run's tasks: agent RssAnon ${mbs(agentMem.anonKb)} MB (VmRSS ${mbs(agentMem.rssKb)}), this node RssAnon ${mbs(sized.anonKb)} MB (VmRSS ${mbs(sized.rssKb)}); bare node RssAnon ≈ 7 MB`,
        ),
        fromRuns(
          'task-start',
          "share of the agent's first task_log above bare node that its size explains: (sized − bare) ÷ (agent − bare)",
          first.p50.map((f, i) => (100 * (sized.first[i]! - direct.first[i]!)) / (f - direct.first[i]!)),
          '%',
        ),
        fromRuns('task-start', 'main thread in one spawn() call (fork + exec), bare node, p50', direct.call, 'ms'),
        fromRuns(
          'task-start',
          "main thread in one spawn() call (fork + exec), node of the agent's size, p50",
          sized.call,
          'ms',
        ),
        fromRuns('task-start', `exit (≈ last task_log) → task_result, p50`, exit.p50, 'ms'),
        fromRuns('task-start', `exit (≈ last task_log) → task_result, p95`, exit.p95, 'ms'),
        fromRuns('task-start', 'limit: bare node first stdout data → child close, p50', direct.exit, 'ms'),
        fromRuns(
          'task-start',
          `task sent → task_result, p50`,
          total.p50,
          'ms',
          undefined,
          `p95 median ${percentile(total.p95, 50).toFixed(2)} ms`,
        ),
      ];
    } finally {
      tracker.detach();
      await agent.stop();
      await sim.stop();
    }
  },
};
