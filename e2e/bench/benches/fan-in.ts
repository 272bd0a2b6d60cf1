/**
 * 9. Fan-in: 64 tasks at once (task.max_concurrent 64), each printing `seq 1 200000`: 12.8 M lines
 * through one agent. Memory must be bounded by design (backpressure, bounded buffers), not by how
 * many tasks print at once: the agent's peak RSS (VmHWM of a fresh agent per run), the time from
 * the first task sent to the last result with every line received in order, and the longest gap
 * between two heartbeats (the event loop stays responsive). Beside each run, the same 64 commands
 * spawned here at once with their stdout piped into Node: the limit of the machine.
 *
 * Every line is checked as it arrives, without keeping the text: each task's messages, in seq
 * order, must continue 1, 2, 3, … with no number missing or repeated (a `partial` message's last
 * line continues in the next one).
 */
import { spawn } from 'node:child_process';
import { PlatformSimulator, type ReceivedFrame } from '../../platform/simulator.js';
import { startAgent, TOKEN, track } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { peakRssKb, processCpuMs } from '../lib/proc.js';
import { max, sleep } from '../lib/stats.js';
import { TaskTracker } from '../lib/tracker.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const TASKS = 64;
const LINES = 200_000;
const COMMAND = `seq 1 ${LINES}`;
const HEARTBEAT_S = 1;
/** bytes of `seq 1 LINES`: the digits of every number plus a newline each */
const BYTES_PER_TASK = digitsUpTo(LINES) + LINES;

function digitsUpTo(n: number): number {
  let total = 0;
  for (let width = 1, from = 1; from <= n; width++, from *= 10)
    total += (Math.min(n, from * 10 - 1) - from + 1) * width;
  return total;
}

/** One task's output checked line by line as it arrives: `1`, `2`, … `LINES`, in seq order. */
class SeqCheck {
  private next = 1;
  private nextSeq: number | null = null;
  /** the start of a line whose end is in the next message */
  private carry = '';
  problem: string | null = null;
  duplicates = 0;

  frame(frame: ReceivedFrame): void {
    if (this.problem) return;
    if (frame.stream !== 'stdout') {
      this.problem = `${frame.stream} message: ${String(frame.message).slice(0, 200)}`;
      return;
    }
    if (this.nextSeq !== null && frame.seq < this.nextSeq) {
      this.duplicates += 1; // a redelivery: already checked
      return;
    }
    if (this.nextSeq !== null && frame.seq !== this.nextSeq) {
      this.problem = `seq ${frame.seq} after ${this.nextSeq - 1}`;
      return;
    }
    this.nextSeq = frame.seq + 1;
    const lines = (this.carry + String(frame.message)).split('\n');
    this.carry = frame.partial === true ? lines.pop()! : '';
    for (const line of lines) {
      if (line !== String(this.next)) {
        this.problem = `line "${line.slice(0, 20)}" where ${this.next} was expected`;
        return;
      }
      this.next += 1;
    }
  }

  get complete(): boolean {
    return !this.problem && this.carry === '' && this.next === LINES + 1;
  }

  get lines(): number {
    return this.next - 1;
  }
}

interface AgentRun {
  ms: number;
  peakKb: number;
  /** the agent's CPU time during the run: main thread, all threads */
  cpuMainMs: number;
  cpuAllMs: number;
  /** the longest time between two heartbeats during the run */
  maxGapMs: number;
  problem: string | null;
  duplicates: number;
}

async function agentRun(ctx: BenchContext, label: string): Promise<AgentRun> {
  const sim = new PlatformSimulator({ tokens: [TOKEN] });
  await sim.start();
  const checks = new Map<string, SeqCheck>();
  // checked, then the text is dropped: the simulator would otherwise keep 82 MB of it
  const onFrame = (frame: ReceivedFrame) => {
    if (frame?.type !== 'task_log') return;
    checks.get(frame.task_id)?.frame(frame);
    frame.message = '';
  };
  sim.on('frame', onFrame);
  const tracker = new TaskTracker(sim);
  const agent = await startAgent(sim, {
    label,
    config: { task: { max_concurrent: TASKS }, monitor: { interval: HEARTBEAT_S } },
    nodeArgs: ctx.agentNodeArgs(label),
  });
  try {
    await sleep(300);
    const ids = Array.from({ length: TASKS }, (_, i) => `fan-${label}-${i}`);
    for (const id of ids) checks.set(id, new SeqCheck());
    const hbFrom = sim.heartbeats.length;
    const cpu0 = processCpuMs(agent.pid);
    const t0 = performance.now();
    for (const id of ids) tracker.dispatch(id, COMMAND);
    await tracker.results(TASKS, 120_000);
    const ms = performance.now() - t0;
    const cpu = processCpuMs(agent.pid);
    const peakKb = peakRssKb(agent.pid);
    const beats = sim.heartbeats.slice(Math.max(0, hbFrom - 1)).map((h) => h.at);
    beats.push(Date.now()); // a loop stuck at the end shows too
    let maxGapMs = 0;
    for (let i = 1; i < beats.length; i++) maxGapMs = Math.max(maxGapMs, beats[i]! - beats[i - 1]!);
    let problem: string | null = null;
    for (const id of ids) {
      const r = tracker.times(id)?.result;
      const check = checks.get(id)!;
      if (r?.status !== 'success') problem = `${id}: status ${r?.status}: ${r?.error}`;
      else if (check.problem) problem = `${id}: ${check.problem}`;
      else if (!check.complete) problem = `${id}: ${check.lines} of ${LINES} lines`;
      if (problem) break;
    }
    const duplicates = [...checks.values()].reduce((s, c) => s + c.duplicates, 0);
    return {
      ms,
      peakKb,
      cpuMainMs: cpu.main - cpu0.main,
      cpuAllMs: cpu.all - cpu0.all,
      maxGapMs,
      problem,
      duplicates,
    };
  } finally {
    sim.off('frame', onFrame);
    tracker.detach();
    await agent.stop();
    await sim.stop();
  }
}

/** The 64 commands spawned here at once, their stdout read to the end. */
async function directRun(): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from(
      { length: TASKS },
      () =>
        new Promise<void>((resolve, reject) => {
          const child = track(spawn('/bin/sh', ['-c', COMMAND], { stdio: ['ignore', 'pipe', 'inherit'] }));
          child.stdout!.on('data', (d: Buffer) => (bytes += d.length));
          child.once('error', reject);
          child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${COMMAND} exited ${code}`))));
        }),
    ),
  );
  return { ms: performance.now() - t0, bytes };
}

export const fanIn: Bench = {
  name: 'fan-in',
  estimateS: (quick) => (quick ? 2 : 3) * 8,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 2 : 3;
    const agent: AgentRun[] = [];
    const direct: number[] = [];
    const problems: string[] = [];
    for (let r = 0; r < runs; r++) {
      const a = await agentRun(ctx, `fan-in-${r}`);
      agent.push(a);
      if (a.problem) problems.push(`run ${r + 1}: ${a.problem}`);
      const d = await directRun();
      if (d.bytes !== TASKS * BYTES_PER_TASK) problems.push(`direct run ${r + 1}: ${d.bytes} bytes`);
      direct.push(d.ms);
      ctx.log(
        `run ${r + 1}: agent ${a.ms.toFixed(0)} ms (CPU ${a.cpuMainMs} ms main, ${a.cpuAllMs} ms all), peak RSS ${(a.peakKb / 1024).toFixed(0)} MB, longest heartbeat gap ${a.maxGapMs} ms${a.problem ? `, PROBLEM ${a.problem}` : ''}; direct ${d.ms.toFixed(0)} ms`,
      );
    }
    const lines = (TASKS * LINES).toLocaleString('en');
    const dups = agent.reduce((s, a) => s + a.duplicates, 0);
    const verified = problems.length
      ? `NOT VERIFIED: ${problems.join('; ')}`
      : `all ${lines} lines verified in order each run${dups ? `, ${dups} redelivered frames` : ''}`;
    const ms = agent.map((a) => a.ms);
    return [
      fromRuns('fan-in', `${TASKS} × \`${COMMAND}\` at once: first sent → last result`, ms, 'ms', undefined, verified),
      fromRuns(
        'fan-in',
        `${TASKS} tasks: throughput through the agent`,
        ms.map((x) => (TASKS * BYTES_PER_TASK) / 1e6 / (x / 1000)),
        'MB/s',
      ),
      fromRuns(
        'fan-in',
        `${TASKS} tasks: agent CPU time, main thread`,
        agent.map((a) => a.cpuMainMs),
        'ms',
        undefined,
        `all threads ${agent.map((a) => a.cpuAllMs.toFixed(0)).join(', ')} ms`,
      ),
      fromRuns(
        'fan-in',
        `${TASKS} tasks: agent peak RSS (VmHWM)`,
        agent.map((a) => a.peakKb / 1024),
        'MB',
        atMost(200, 'MB'),
      ),
      fromRuns(
        'fan-in',
        `${TASKS} tasks: longest heartbeat gap (interval ${HEARTBEAT_S} s)`,
        agent.map((a) => a.maxGapMs),
        'ms',
        atMost(HEARTBEAT_S * 1000 + 1000, 'ms'),
        `max ${max(agent.map((a) => a.maxGapMs))} ms`,
      ),
      fromRuns('fan-in', `${TASKS} tasks: same commands piped into Node (limit)`, direct, 'ms'),
      fromRuns(
        'fan-in',
        `${TASKS} tasks: agent time ÷ direct time`,
        ms.map((x, i) => x / direct[i]!),
        '×',
      ),
    ];
  },
};
