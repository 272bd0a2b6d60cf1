/**
 * The benchmark: `npm run bench` (= npm run build && node --import tsx e2e/bench/run.ts).
 *
 *   --quick              fewer and shorter runs (≈ 1 min instead of ≈ 3–4)
 *   --only a,b           run only these: idle, sampling, task-start, log-relay, fan-in, burst, reconnect, single-file, full-log, test-reports, transfer
 *   --cpu-prof           every agent writes a V8 CPU profile to bench-results/profiles/<label>/
 *   --agent-flags "…"    extra node flags for every agent (e.g. "--optimize-for-size"), to try a fix
 *   --keep-tmp           keep the agents' temp work dirs (printed at the end)
 *   --write-md           also put a --quick / --only run's table into BENCHMARKS.md (a full run always does)
 *
 * The platform simulator runs in this process, the built headless agent (dist-electron/cli.js) as
 * a child process over loopback. Every agent started is killed at the end, on failure too.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertBuilt, benchTmp, CLI, cleanupAll, REPO } from './lib/agent.js';
import { consoleTable, writeReport, type Report } from './lib/report.js';
import type { Bench, BenchContext, Figure } from './lib/types.js';
import { burst } from './benches/burst.js';
import { fanIn } from './benches/fan-in.js';
import { idle } from './benches/idle.js';
import { logRelay } from './benches/log-relay.js';
import { monitorScripts } from './benches/monitor-scripts.js';
import { reconnect } from './benches/reconnect.js';
import { sampling } from './benches/sampling.js';
import { singleFile } from './benches/single-file.js';
import { taskStart } from './benches/task-start.js';
import { fullLog } from './benches/full-log.js';
import { testReports } from './benches/test-reports.js';
import { transfer } from './benches/transfer.js';

const ALL: Bench[] = [
  idle,
  sampling,
  taskStart,
  logRelay,
  fanIn,
  burst,
  reconnect,
  singleFile,
  monitorScripts,
  fullLog,
  testReports,
  transfer,
];

function parseArgs(argv: string[]) {
  const opts = {
    quick: false,
    only: null as string[] | null,
    cpuProf: false,
    keepTmp: false,
    writeMd: false,
    agentFlags: [] as string[],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') opts.quick = true;
    else if (a === '--cpu-prof') opts.cpuProf = true;
    else if (a === '--keep-tmp') opts.keepTmp = true;
    else if (a === '--write-md') opts.writeMd = true;
    else if (a === '--agent-flags' || a.startsWith('--agent-flags=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      opts.agentFlags = (v ?? '').split(/\s+/).filter(Boolean);
    } else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error('--only takes a comma-separated list');
      opts.only = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (a === '-h' || a === '--help') {
      console.log(
        `usage: node --import tsx e2e/bench/run.ts [--quick] [--only ${ALL.map((b) => b.name).join(',')}] [--cpu-prof] [--agent-flags "…"] [--keep-tmp] [--write-md]; env ATS_BENCH_CLI=other/cli.js`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  const unknown = opts.only?.filter((n) => !ALL.some((b) => b.name === n)) ?? [];
  if (unknown.length)
    throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.map((b) => b.name).join(', ')}`);
  return opts;
}

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new Error('the benchmark reads /proc: Linux only');
  const opts = parseArgs(process.argv.slice(2));
  assertBuilt();
  const benches = opts.only ? ALL.filter((b) => opts.only!.includes(b.name)) : ALL;
  const started = performance.now();
  const args = process.argv.slice(2).join(' ');
  const machine: Report['machine'] = {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    memoryGb: os.totalmem() / 2 ** 30,
    date: new Date().toISOString(),
    command: `npm run bench${args ? ` -- ${args}` : ''}`,
    mode: opts.quick ? 'quick' : 'full',
    agent: `${path.relative(REPO, CLI)} built ${statSync(CLI).mtime.toISOString()}, sha256 ${createHash('sha256').update(readFileSync(CLI)).digest('hex').slice(0, 12)}${opts.agentFlags.length ? `, node flags ${opts.agentFlags.join(' ')}` : ''}`,
    loadAverageAtStart: os.loadavg(),
  };
  const cliAge = (Date.now() - statSync(CLI).mtimeMs) / 60_000;
  console.log(
    `ATS Agent benchmark (${machine.mode}): ${benches.map((b) => b.name).join(', ')}; est. ${benches.reduce((s, b) => s + b.estimateS(opts.quick), 0).toFixed(0)} s`,
  );
  console.log(
    `machine: ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`,
  );
  console.log(`agent: ${path.relative(REPO, CLI)} (built ${cliAge.toFixed(0)} min ago); temp dir ${benchTmp()}\n`);

  const figures: Figure[] = [];
  const errors: Report['errors'] = [];
  const loads: Report['loads'] = [];
  for (const bench of benches) {
    const t0 = performance.now();
    const ctx: BenchContext = {
      quick: opts.quick,
      agentNodeArgs: (label) => [
        ...opts.agentFlags,
        ...(opts.cpuProf
          ? ['--cpu-prof', `--cpu-prof-dir=${path.join(REPO, 'bench-results', 'profiles', label)}`]
          : []),
      ],
      log: (m) => console.log(`  [${bench.name}] ${m}`),
    };
    const load = os.loadavg()[0]!;
    console.log(`▶ ${bench.name} (load average ${load.toFixed(2)})`);
    try {
      const got = await bench.run(ctx);
      figures.push(...got);
      loads.push({ bench: bench.name, start: load, end: os.loadavg()[0]! });
    } catch (err) {
      const message = (err as Error)?.stack ?? String(err);
      console.error(`  [${bench.name}] FAILED: ${message}`);
      errors.push({ bench: bench.name, error: (err as Error)?.message ?? String(err) });
    }
    console.log(`  [${bench.name}] ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const report: Report = { machine, durationS: (performance.now() - started) / 1000, figures, errors, loads };
  console.log(`\n${consoleTable(report)}\n`);
  // BENCHMARKS.md keeps the figures of a full run: a quick or partial run only updates it when asked
  const toMd =
    opts.writeMd ||
    (!opts.quick && !opts.only && !process.env.ATS_BENCH_CLI && !opts.agentFlags.length && !opts.cpuProf);
  const written = await writeReport(REPO, report, toMd);
  console.log(
    `wrote ${[written.json, written.md]
      .filter(Boolean)
      .map((f) => path.relative(REPO, f!))
      .join(
        ' and ',
      )} (${report.durationS.toFixed(0)} s)${toMd ? '' : '; BENCHMARKS.md left as it is (not a plain full run; --write-md to update it)'}`,
  );
  if (opts.keepTmp) console.log(`kept ${benchTmp()}`);
  cleanupAll(opts.keepTmp);
  return errors.length ? 1 : 0;
}

let exiting = false;
process.on('exit', () => cleanupAll());
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (exiting) return;
    exiting = true;
    console.error(`\n${signal}: killing the agents and exiting`);
    cleanupAll();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`benchmark failed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
