/**
 * Issue 12's experiment: does a small spawner process take the fork of a big process off the
 * agent's main thread, and at what price? A fresh node grown to the agent's size (RssAnon, as the
 * bench's "node of the agent's size") runs `sh -c "echo …"` both ways, alternating:
 *   bare     spawn() in a fresh node of its own size (the floor)
 *   direct   spawn() in the big process (libuv forks it and blocks until the exec)
 *   spawner  a request over the IPC channel to a small long-lived node, which spawns the task and
 *            sends back the child's stdout and stderr sockets (SCM_RIGHTS) and, later, its exit
 * and measures, per mode: spawn request → first stdout data (p50/p95) over sequential tasks with
 * a 20 ms pause, the big process's main-thread time per task (the synchronous call, and the main
 * thread's CPU from /proc/thread-self/schedstat), and a burst of tasks 4 at a time.
 *
 *   node --import tsx e2e/bench/probe-spawner.ts [--anon-mb 80] [--rounds 3] [--tasks 100] [--burst 200]
 *
 * The child's stdio sockets must stop reading in the spawner in the tick they are made (readStop):
 * a net.Socket made on a handle starts reading at once, and what it read is not sent with it.
 */
import { execFile } from 'node:child_process';
import { percentile } from './lib/stats.js';

/** The small helper: spawns what it is asked to and hands the child's pipes back. */
const SPAWNER = String.raw`
const { spawn } = require('node:child_process');
process.on('message', (m) => {
  const c = spawn(m.file, m.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (c.pid === undefined) {
    c.once('error', (err) => process.send({ id: m.id, error: err.message }));
    return;
  }
  c.stdout._handle.readStop();
  c.stderr._handle.readStop();
  process.send({ id: m.id, pid: c.pid, stream: 'stdout' }, c.stdout);
  process.send({ id: m.id, stream: 'stderr' }, c.stderr);
  c.once('exit', (code, signal) => process.send({ id: m.id, code, signal }));
});
`;

/** The big process: grown to anonKb of RssAnon, then both modes. Prints one JSON line. */
const PARENT = String.raw`
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const [anonKb, tasks, burstN, mode] = process.argv.slice(1).map((x, i) => (i < 3 ? Number(x) : x));
const status = (f) => Number(new RegExp('^' + f + ':\\s+(\\d+)', 'm').exec(readFileSync('/proc/self/status', 'latin1'))[1]);
const ballast = [];
const grow = () => {
  for (let heap = true; status('RssAnon') < anonKb; heap = !heap) {
    if (heap) ballast.push(Array.from({ length: 8192 }, (_, i) => ({ i, s: 'x' + i })));
    else for (let j = 0; j < 16; j++) ballast.push(Buffer.alloc(16 * 1024, 1));
  }
};
grow(); gc(); grow();
const mainCpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
const cpuMsOf = (pid) => Number(readFileSync('/proc/' + pid + '/schedstat', 'latin1').split(' ')[0]) / 1e6;

let sync = 0; // main-thread ms in the synchronous calls of the current mode
function direct(cmd) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    sync += performance.now() - t0;
    let first = 0, out = '';
    c.stdout.on('data', (d) => { first ||= performance.now() - t0; out += d; });
    c.stderr.resume();
    c.on('close', (code) => resolve({ first, out, code }));
  });
}

const helper = spawn(process.execPath, ['-e', process.env.PROBE_SPAWNER], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: { PATH: process.env.PATH },
});
const pending = new Map();
let nextId = 0;
helper.on('message', (m, handle) => {
  const t1 = performance.now();
  const t = pending.get(m.id);
  if (m.error) { pending.delete(m.id); t.resolve({ first: 0, out: '', code: -1, error: m.error }); }
  else if (m.stream === 'stdout') {
    t.pid = m.pid;
    t.open += 1;
    handle.on('data', (d) => { t.first ||= performance.now() - t.t0; t.out += d; });
    handle.on('close', () => t.done());
  } else if (m.stream === 'stderr') {
    t.open += 1;
    handle.resume();
    handle.on('close', () => t.done());
  } else { t.code = m.code; t.exited = true; t.done(); }
  sync += performance.now() - t1;
});
function viaSpawner(cmd) {
  return new Promise((resolve) => {
    const id = nextId++;
    const t = { t0: performance.now(), first: 0, out: '', open: 0, closed: 0, exited: false, code: null };
    t.done = () => {
      if (!t.exited && t.open === 0) return;
      if (++t.closed < 3) return; // two pipes and the exit
      pending.delete(id);
      resolve({ first: t.first, out: t.out, code: t.code });
    };
    pending.set(id, t);
    helper.send({ id, file: '/bin/sh', args: ['-c', cmd] });
    sync += performance.now() - t.t0;
  });
}

(async () => {
  await new Promise((r) => helper.once('spawn', r));
  const run = mode === 'direct' ? direct : viaSpawner;
  for (let i = 0; i < 5; i++) await run('echo warm');
  const res = { mode, anonKb: status('RssAnon'), rssKb: status('VmRSS') };
  sync = 0;
  let cpu0 = mainCpuMs(), h0 = cpuMsOf(helper.pid);
  const first = [];
  let wrong = 0;
  for (let i = 0; i < tasks; i++) {
    const r = await run('echo hi');
    if (r.out !== 'hi\n' || r.code !== 0) wrong++;
    first.push(r.first);
    await new Promise((r) => setTimeout(r, 20));
  }
  Object.assign(res, { first, syncMs: sync / tasks, mainCpuMs: (mainCpuMs() - cpu0) / tasks, helperCpuMs: (cpuMsOf(helper.pid) - h0) / tasks });
  sync = 0;
  cpu0 = mainCpuMs(); h0 = cpuMsOf(helper.pid);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => { while (next < burstN) { const i = next++; const r = await run('echo ' + i); if (r.out !== i + '\n' || r.code !== 0) wrong++; } };
  await Promise.all(Array.from({ length: 4 }, worker));
  Object.assign(res, { burstMs: performance.now() - t0, burstSyncMs: sync / burstN, burstMainCpuMs: (mainCpuMs() - cpu0) / burstN, burstHelperCpuMs: (cpuMsOf(helper.pid) - h0) / burstN, wrong });
  console.log(JSON.stringify(res));
  helper.kill();
})();
`;

interface ModeResult {
  mode: 'direct' | 'spawner';
  anonKb: number;
  rssKb: number;
  first: number[];
  syncMs: number;
  mainCpuMs: number;
  helperCpuMs: number;
  burstMs: number;
  burstSyncMs: number;
  burstMainCpuMs: number;
  burstHelperCpuMs: number;
  wrong: number;
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

function runMode(mode: ModeResult['mode'], anonKb: number, tasks: number, burst: number): Promise<ModeResult> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--expose-gc', '-e', PARENT, String(anonKb), String(tasks), String(burst), mode],
      { env: { PATH: process.env.PATH, PROBE_SPAWNER: SPAWNER }, timeout: 120_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${mode} run failed: ${stderr}`)) : resolve(JSON.parse(stdout) as ModeResult),
    ),
  );
}

const anonKb = arg('anon-mb', 80) * 1024;
const rounds = arg('rounds', 3);
const tasks = arg('tasks', 100);
const burst = arg('burst', 200);
const f = (x: number) => x.toFixed(2);
console.log(`big process RssAnon ${anonKb / 1024} MB; ${tasks} sequential tasks and a burst of ${burst}, 4 at a time`);
for (let r = 0; r < rounds; r++) {
  // alternate the order: the machine is shared and its load moves; `bare` is direct from a fresh
  // node of its own size, the floor the spawner could reach
  const order: Array<[string, ModeResult['mode'], number]> = [
    ['direct', 'direct', anonKb],
    ['spawner', 'spawner', anonKb],
    ['bare', 'direct', 0],
  ];
  for (const [label, mode, size] of r % 2 === 0 ? order : order.reverse()) {
    const m = await runMode(mode, size, tasks, burst);
    console.log(
      `round ${r + 1} ${label.padEnd(7)} (RssAnon ${(m.anonKb / 1024).toFixed(0)} MB, VmRSS ${(m.rssKb / 1024).toFixed(0)} MB): first stdout p50 ${f(percentile(m.first, 50))} p95 ${f(percentile(m.first, 95))} ms; main thread per task: sync ${f(m.syncMs)} ms, CPU ${f(m.mainCpuMs)} ms${mode === 'spawner' ? `, spawner CPU ${f(m.helperCpuMs)} ms` : ''} | burst ${m.burstMs.toFixed(0)} ms, main thread per task: sync ${f(m.burstSyncMs)} ms, CPU ${f(m.burstMainCpuMs)} ms${mode === 'spawner' ? `, spawner CPU ${f(m.burstHelperCpuMs)} ms` : ''}${m.wrong ? `; ${m.wrong} WRONG outputs` : ''}`,
    );
  }
}
