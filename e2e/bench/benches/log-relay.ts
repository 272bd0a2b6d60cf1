/**
 * 4. Log relay: a task with heavy output, from `task` sent to its task_result received with every
 * line received (counted after dedupe by seq), the throughput, and the agent's peak RSS (VmHWM of a
 * fresh agent per run). Beside each run, the same command spawned here with its stdout piped into
 * Node and read to the end: the limit of the machine. Agent and direct runs alternate.
 */
import { spawn } from 'node:child_process';
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN, track } from '../lib/agent.js';
import { atLeast, atMost, fromRuns } from '../lib/figures.js';
import { peakRssKb, pollTreePeak, processCpuMs } from '../lib/proc.js';
import { max, sleep } from '../lib/stats.js';
import { TaskTracker } from '../lib/tracker.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const MB = 1e6;
/** 99 characters + "\n" = 100 bytes a line */
const LINE99 = '0123456789abcdef'.repeat(7).slice(0, 99);

interface Workload {
  key: string;
  command: string;
  lines: number;
  bytes: number;
  timeoutMs: number;
  /** check the text of the lines, beyond their count */
  check?: (messages: string[]) => string | null;
}

const SEQ: Workload = {
  key: '1M lines',
  command: 'seq 1 1000000',
  lines: 1_000_000,
  bytes: 6_888_896,
  timeoutMs: 60_000,
  check: (messages) => {
    // the lines, in order, each exactly once: compare the content with the line breaks taken out
    const got = messages.join('').replace(/\n/g, '');
    let expected = '';
    for (let i = 1; i <= 1_000_000; i++) expected += i;
    return got === expected ? null : 'the lines are not 1..1000000 in order';
  },
};

const BIG: Workload = {
  key: '200 MB',
  command: `yes ${LINE99} | head -c 200000000`,
  lines: 2_000_000,
  bytes: 200_000_000,
  timeoutMs: 180_000,
};

interface AgentRun {
  ms: number;
  /** CPU time of this process (the simulator receiving) during the run */
  simCpuMs: number;
  peakKb: number;
  treePeakKb: number;
  /** the agent's CPU time during the run: main thread, all threads */
  cpuMainMs: number;
  cpuAllMs: number;
  duplicates: number;
  /** lines that arrived in two messages */
  splitLines: number;
  problem: string | null;
}

async function agentRun(ctx: BenchContext, w: Workload, label: string): Promise<AgentRun> {
  const sim = new PlatformSimulator({ tokens: [TOKEN] });
  await sim.start();
  const tracker = new TaskTracker(sim);
  const agent = await startAgent(sim, { label, nodeArgs: ctx.agentNodeArgs(label) });
  try {
    await sleep(200);
    const stopPoll = pollTreePeak(agent.pid, 100);
    const id = `relay-${label}`;
    const cpu0 = process.cpuUsage();
    const agentCpu0 = processCpuMs(agent.pid);
    tracker.dispatch(id, w.command);
    const t = await tracker.result(id, w.timeoutMs);
    const cpu = process.cpuUsage(cpu0);
    const agentCpu = processCpuMs(agent.pid);
    const simCpuMs = (cpu.user + cpu.system) / 1000;
    const endAt = Math.max(t.resultAt!, t.lastLogAt ?? 0);
    const peakKb = peakRssKb(agent.pid);
    const treePeakKb = stopPoll();

    const logs = sim.logs(id);
    const out = logs.filter((f) => f.stream === 'stdout').map((f) => f.message as string);
    // A message is lines joined by "\n". A line can arrive in two messages (the agent sends a partial
    // line that waited 100 ms as is), so count lines, and check the content without the line breaks.
    let lines = 0;
    let contentBytes = 0;
    for (const m of out) {
      let n = 1;
      for (let i = m.indexOf('\n'); i !== -1; i = m.indexOf('\n', i + 1)) n++;
      lines += n;
      contentBytes += Buffer.byteLength(m) - (n - 1);
    }
    const others = logs.filter((f) => f.stream !== 'stdout');
    let problem: string | null = null;
    if (t.result?.status !== 'success') problem = `status ${t.result?.status}: ${t.result?.error}`;
    else if (contentBytes !== w.bytes - w.lines || lines < w.lines) {
      problem = `received ${lines} lines / ${contentBytes} bytes without newlines, expected ${w.lines} / ${w.bytes - w.lines}`;
    } else if (others.length)
      problem = `unexpected ${others[0].stream} log: ${String(others[0].message).slice(0, 200)}`;
    else problem = w.check?.(out) ?? null;
    const splitLines = lines - w.lines;
    return {
      ms: endAt - t.sentAt,
      simCpuMs,
      peakKb,
      treePeakKb,
      cpuMainMs: agentCpu.main - agentCpu0.main,
      cpuAllMs: agentCpu.all - agentCpu0.all,
      duplicates: t.logFrames - t.seqs.size,
      splitLines,
      problem,
    };
  } finally {
    tracker.detach();
    await agent.stop();
    await sim.stop();
  }
}

/** The command's stdout piped straight into this process and read to the end. */
function directRun(w: Workload): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = track(spawn('/bin/sh', ['-c', w.command], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let bytes = 0;
    child.stdout!.on('data', (d: Buffer) => (bytes += d.length));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`${w.command} exited ${code}`));
      else resolve({ ms: performance.now() - t0, bytes });
    });
  });
}

export const logRelay: Bench = {
  name: 'log-relay',
  estimateS: (quick) => (quick ? 3 : 5) * (2 * 2 + 1 + 3),
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 5;
    const figures: Figure[] = [];
    for (const w of [SEQ, BIG]) {
      const agent: AgentRun[] = [];
      const direct: number[] = [];
      const problems: string[] = [];
      for (let r = 0; r < runs; r++) {
        const a = await agentRun(ctx, w, `relay-${w.key.replace(/\W+/g, '')}-${r}`);
        agent.push(a);
        if (a.problem) problems.push(`run ${r + 1}: ${a.problem}`);
        const d = await directRun(w);
        if (d.bytes !== w.bytes) problems.push(`direct run ${r + 1}: ${d.bytes} bytes`);
        direct.push(d.ms);
        ctx.log(
          `${w.key} run ${r + 1}: agent ${a.ms.toFixed(0)} ms (CPU ${a.cpuMainMs} ms main, ${a.cpuAllMs} ms all; peak RSS ${(a.peakKb / 1024).toFixed(0)} MB${a.problem ? `, PROBLEM ${a.problem}` : ''}), direct ${d.ms.toFixed(0)} ms`,
        );
      }
      const ms = agent.map((a) => a.ms);
      const rate = ms.map((x) => w.bytes / MB / (x / 1000));
      const directRate = direct.map((x) => w.bytes / MB / (x / 1000));
      const peak = agent.map((a) => a.peakKb / 1024);
      const dups = agent.reduce((s, a) => s + a.duplicates, 0);
      const splits = agent.reduce((s, a) => s + a.splitLines, 0);
      const verified = problems.length
        ? `NOT VERIFIED: ${problems.join('; ')}`
        : `all ${w.lines.toLocaleString('en')} lines verified each run${dups ? `, ${dups} duplicate frames dropped` : ''}${splits ? `; ${splits} line(s) arrived split over two messages` : ''}`;
      const prefix = `${w.key} (\`${w.command.length > 40 ? w.command.slice(0, 24) + '… | head -c 200000000' : w.command}\`)`;
      if (w === SEQ) {
        figures.push(
          fromRuns('log-relay', `${prefix}: sent → result, all lines`, ms, 'ms', atMost(1000, 'ms'), verified),
        );
        figures.push(fromRuns('log-relay', `${w.key}: throughput through the agent`, rate, 'MB/s'));
      } else {
        figures.push(fromRuns('log-relay', `${prefix}: sent → result, all lines`, ms, 'ms', undefined, verified));
        figures.push(
          fromRuns('log-relay', `${w.key}: throughput through the agent`, rate, 'MB/s', atLeast(100, 'MB/s')),
        );
      }
      figures.push(
        fromRuns(
          'log-relay',
          `${w.key}: agent CPU time, main thread`,
          agent.map((a) => a.cpuMainMs),
          'ms',
          undefined,
          `all threads (GC, file writes in the pool) ${agent.map((a) => a.cpuAllMs.toFixed(0)).join(', ')} ms: what bounds throughput on a quiet machine, and less sensitive to the load than wall time`,
        ),
      );
      {
        const share = agent.map((a) => (a.simCpuMs / a.ms) * 100);
        figures.push(
          fromRuns(
            'log-relay',
            `${w.key}: simulator (receiver) CPU during the run, % of one core`,
            share,
            '%',
            undefined,
            'the receiving side shares the 2 cores with the agent',
          ),
        );
      }
      figures.push(
        fromRuns(
          'log-relay',
          `${w.key}: same command piped into Node (limit)`,
          direct,
          'ms',
          undefined,
          `${directRate.map((x) => x.toFixed(0)).join(', ')} MB/s`,
        ),
      );
      figures.push(
        fromRuns(
          'log-relay',
          `${w.key}: agent peak RSS (VmHWM)`,
          peak,
          'MB',
          atMost(120, 'MB'),
          `process tree peak (polled every 100 ms) max ${(max(agent.map((a) => a.treePeakKb)) / 1024).toFixed(0)} MB`,
        ),
      );
      const ratio = ms.map((x, i) => x / direct[i]!);
      figures.push(fromRuns('log-relay', `${w.key}: agent time ÷ direct time`, ratio, '×'));
    }
    return figures;
  },
};
