/**
 * 2. Sampling: one heartbeat's `system_info` from SystemSampler.sample(), in this process; p50 and
 * p95 over 200 samples per run, and the child processes each sample starts (countSpawns).
 * readStaticInfo() is timed once beside it (start-up only, no goal).
 */
import { SystemSampler } from '../../../main/core/monitor/sampler.js';
import { countSpawns } from '../../../main/core/monitor/spawn-counter.js';
import { readStaticInfo } from '../../../main/core/monitor/static-info.js';
import { freshDir } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { percentile, sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const SAMPLES = 200;
const GAP_MS = 5;

export const sampling: Bench = {
  name: 'sampling',
  estimateS: (quick) => (quick ? 3 : 5) * ((SAMPLES * (GAP_MS + 1)) / 1000) + 3,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 5;
    const dir = freshDir('sampling');

    const t0 = performance.now();
    const { result: info, spawns: staticSpawns } = await countSpawns(() => readStaticInfo());
    const staticMs = performance.now() - t0;

    const sampler = new SystemSampler(info, () => dir);
    for (let i = 0; i < 10; i++) await sampler.sample(); // warm-up (JIT, first statfs)

    const p50s: number[] = [];
    const p95s: number[] = [];
    const maxes: number[] = [];
    let spawns = 0;
    let total = 0;
    for (let r = 0; r < runs; r++) {
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        await sleep(GAP_MS); // samples are seconds apart in the agent: do not measure a hot loop
        const counted = await countSpawns(async () => {
          const s = performance.now();
          await sampler.sample();
          times.push(performance.now() - s);
        });
        spawns += counted.spawns;
        total += 1;
      }
      p50s.push(percentile(times, 50));
      p95s.push(percentile(times, 95));
      maxes.push(Math.max(...times));
    }
    ctx.log(
      `sample p50 ${p50s.map((x) => x.toFixed(3)).join(', ')} ms; p95 ${p95s.map((x) => x.toFixed(3)).join(', ')} ms`,
    );
    const last = await sampler.sample();
    const note = `cpu ${last.cpu.usage_percent} %, ${last.cpu.frequency}, disk ${last.disk.free} MB free`;
    return [
      fromRuns('sampling', `sample() p50 (${SAMPLES} samples/run)`, p50s, 'ms', undefined, note),
      fromRuns(
        'sampling',
        `sample() p95 (${SAMPLES} samples/run)`,
        p95s,
        'ms',
        atMost(20, 'ms'),
        `worst single sample ${Math.max(...maxes).toFixed(2)} ms`,
      ),
      // the same samples: load_average, network_io and disk_io (/proc) are part of every one (issue 14)
      fromRuns('sampling', 'sample() p95 with the monitoring extras', p95s, 'ms', atMost(5, 'ms')),
      {
        bench: 'sampling',
        name: 'child processes spawned per sample',
        goal: '0 on Linux',
        value: spawns / total,
        unit: '',
        runs: total,
        met: spawns === 0,
        note: `${spawns} in ${total} samples`,
        samples: [spawns],
      },
      fromRuns(
        'sampling',
        'readStaticInfo() once (start-up, no goal)',
        [staticMs],
        'ms',
        undefined,
        `${staticSpawns} child processes; ${info.cpuModel}, ${info.osVersion}`,
      ),
    ];
  },
};
