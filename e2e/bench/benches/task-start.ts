/**
 * 3. Task start: the platform sends `task` (`echo hi`) → the first task_log received; and the task's
 * end → its task_result received. The process exit is approximated by the last task_log's arrival
 * (`echo hi` writes its line and exits at once), so "exit → result" is what the agent does after the
 * output: waiting for the pipes, the process-tree sweep, closing the task log, the result frame.
 * Sequential tasks on an otherwise idle agent (a 20 ms pause between them).
 */
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { percentile, sleep } from '../lib/stats.js';
import { nodeSpawnLatency } from '../lib/node-direct.js';
import { TaskTracker } from '../lib/tracker.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const GAP_MS = 20;

export const taskStart: Bench = {
  name: 'task-start',
  estimateS: (quick) => (quick ? 3 * 40 : 5 * 100) * 0.04 + 3,
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
      const direct = { first: [] as number[], exit: [] as number[] };
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
        // the limit: a bare node process spawning the same command, alternating with the agent runs
        const d = await nodeSpawnLatency(perRun);
        direct.first.push(
          percentile(
            d.map((x) => x.first),
            50,
          ),
        );
        direct.exit.push(
          percentile(
            d.map((x) => x.total - x.first),
            50,
          ),
        );
        ctx.log(
          `run ${r + 1}: bare node spawn → first data p50 ${direct.first.at(-1)!.toFixed(2)} ms; agent first log p50 ${first.p50.at(-1)!.toFixed(2)} ms (÷ node ${(first.p50.at(-1)! / direct.first.at(-1)!).toFixed(2)}), exit→result p50 ${exit.p50.at(-1)!.toFixed(2)} ms`,
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
