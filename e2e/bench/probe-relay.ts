/**
 * One heavy-output task through one agent started with extra node flags, for profiling the log
 * relay outside the full benchmark. The agent's stdout/stderr go to <out>/agent.out.
 *
 *   node --import tsx e2e/bench/probe-relay.ts <out-dir> [node flags for the agent…]
 *   e.g. … /tmp/probe --trace-gc     or     … /tmp/probe --cpu-prof --cpu-prof-dir=/tmp/probe
 * PROBE_COMMAND replaces the task's command, PROBE_CLI the agent's entry (e.g. a patched copy),
 * PROBE_ACK=off makes the simulator speak no ack (ping/pong confirms), PROBE_TASKS=64 runs that many
 * copies of the command at once (task.max_concurrent set to match).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PlatformSimulator } from '../platform/simulator.js';
import { CLI, TOKEN } from './lib/agent.js';
import { peakRssKb, processCpuMs } from './lib/proc.js';
import { agentEnv } from '../lib/agent-env.js';

const [out = '/tmp/ats-probe', ...flags] = process.argv.slice(2);
if (out.startsWith('-')) {
  console.error('usage: node --import tsx e2e/bench/probe-relay.ts <out-dir> [node flags for the agent…]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const command = process.env.PROBE_COMMAND ?? `yes ${'0123456789abcdef'.repeat(7).slice(0, 99)} | head -c 200000000`;
const sim = new PlatformSimulator({ tokens: [TOKEN], ack: process.env.PROBE_ACK === 'off' ? false : 'auto' });
await sim.start();
const log = createWriteStream(path.join(out, 'agent.out'));
const cli = process.env.PROBE_CLI ?? CLI;
const tasks = Number(process.env.PROBE_TASKS ?? 1);
const config = path.join(out, 'agent.json'); // JSON is YAML
writeFileSync(config, JSON.stringify({ task: { max_concurrent: tasks } }));
const args = [...flags, cli, '--server-url', sim.url, '--work-dir', path.join(out, 'work'), '--config', config];
const child = spawn(process.execPath, args, {
  env: agentEnv(TOKEN),
  stdio: ['ignore', 'pipe', 'pipe'],
});
child.stdout.pipe(log);
child.stderr.pipe(log);
try {
  await sim.waitFor(() => sim.heartbeats.length > 0, 20_000, 'the agent');
  const ids = Array.from({ length: tasks }, (_, i) => `probe-${Date.now()}-${i}`);
  const cpu0 = processCpuMs(child.pid!);
  const t0 = performance.now();
  for (const id of ids) sim.dispatch({ task_id: id, command });
  await sim.waitFor(() => ids.every((id) => sim.result(id)), 300_000, 'the results');
  const ms = performance.now() - t0;
  const cpu1 = processCpuMs(child.pid!);
  const frames = ids.reduce((n, id) => n + sim.logs(id).length, 0);
  console.log(
    `${tasks} × ${command}: ${ms.toFixed(0)} ms, ${frames} frames, agent VmHWM ${(peakRssKb(child.pid!) / 1024).toFixed(0)} MB, CPU main thread ${cpu1.main - cpu0.main} ms, all threads ${cpu1.all - cpu0.all} ms`,
  );
} finally {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(forced);
  }
  await sim.stop();
}
