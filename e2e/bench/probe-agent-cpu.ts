/**
 * Two builds of the agent, A and B, alternating, each through the same tasks: 60 sequential
 * `echo hi` (20 ms apart), then 200 at once at task.max_concurrent 4. Per build: first task_log p50,
 * the burst's wall time, and the agent's main-thread CPU per task (/proc/<pid>/task/<pid>/schedstat),
 * which the machine's load moves far less than wall time does.
 *
 *   node --import tsx e2e/bench/probe-agent-cpu.ts <a/cli.js> <b/cli.js> [NAME=value for B…] [--rounds 3]
 * e.g. a copy of the build before a change against the build after it:
 *   … probe-agent-cpu.ts /work/before/cli.js dist-electron/cli.js
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PlatformSimulator } from '../platform/simulator.js';
import { benchTmp, cleanupAll, startAgent, TOKEN } from './lib/agent.js';
import { percentile } from './lib/stats.js';
import { TaskTracker } from './lib/tracker.js';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt === -1 ? 3 : Number(args.splice(roundsAt, 2)[1]);
const [a, b, ...envB] = args;
if (!a || !b) {
  console.error('usage: probe-agent-cpu.ts <a/cli.js> <b/cli.js> [NAME=value for B…] [--rounds 3]');
  process.exit(2);
}

/** startAgent runs an executable with the agent's arguments: a wrapper per build, its env set */
function wrapper(name: string, cli: string, env: string[]): string {
  const file = path.join(benchTmp(), `${name}.sh`);
  writeFileSync(file, `#!/bin/sh\nexec env ${env.join(' ')} '${process.execPath}' '${path.resolve(cli)}' "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

const mainCpuMs = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'latin1').split(' ')[0]) / 1e6;
const load = (): string => readFileSync('/proc/loadavg', 'latin1').split(' ')[0]!;

const builds = { A: wrapper('A', a, []), B: wrapper('B', b, envB) };
console.log(`A = ${a}; B = ${b} ${envB.join(' ')}`);
try {
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const sim = new PlatformSimulator({ tokens: [TOKEN] });
      await sim.start();
      const tracker = new TaskTracker(sim);
      const agent = await startAgent(sim, {
        label: `cpu-${name}`,
        executable: builds[name],
        config: { task: { max_concurrent: 4 } },
      });
      try {
        for (let i = 0; i < 8; i++) {
          tracker.dispatch(`warm-${i}`, 'echo hi');
          await tracker.result(`warm-${i}`, 10_000);
        }
        let cpu0 = mainCpuMs(agent.pid);
        const first: number[] = [];
        for (let i = 0; i < 60; i++) {
          const t = tracker.dispatch(`seq-${i}`, 'echo hi');
          await tracker.result(`seq-${i}`, 10_000);
          first.push(t.firstLogAt! - t.sentAt);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const seqCpu = (mainCpuMs(agent.pid) - cpu0) / 60;
        cpu0 = mainCpuMs(agent.pid);
        const before = tracker.resultCount;
        const t0 = performance.now();
        for (let i = 0; i < 200; i++) tracker.dispatch(`burst-${i}`, `echo ${i}`);
        await tracker.results(before + 200, 120_000);
        const burstMs = performance.now() - t0;
        const wrong = Array.from({ length: 200 }, (_, i) => `burst-${i}`).filter(
          (id, i) => tracker.times(id)?.result?.status !== 'success' || sim.output(id) !== String(i),
        ).length;
        console.log(
          `round ${r + 1} ${name}: first task_log p50 ${percentile(first, 50).toFixed(2)} ms, main-thread CPU/task ${seqCpu.toFixed(2)} ms | burst ${burstMs.toFixed(0)} ms, main-thread CPU/task ${((mainCpuMs(agent.pid) - cpu0) / 200).toFixed(2)} ms${wrong ? `, ${wrong} WRONG results` : ''} (load ${load()})`,
        );
      } finally {
        tracker.detach();
        await agent.stop();
        await sim.stop();
      }
    }
  }
} finally {
  cleanupAll();
}
