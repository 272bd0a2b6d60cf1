/**
 * Baselines measured in a fresh bare `node` process (no agent, no simulator): what Node's own
 * child_process costs on this machine, the floor for any Node-based agent. With `anonKb`, the node
 * first grows its anonymous memory (RssAnon) to that size, half V8 heap objects, half small filled
 * Buffers (malloc's heap), as the agent's is split: what the fork of a process of the agent's size
 * costs, with nothing else of the agent.
 */
import { execFile } from 'node:child_process';

const SCRIPT = String.raw`
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const [mode, a, b, anonKb] = process.argv.slice(1);
const status = (field) => Number(new RegExp('^' + field + ':\\s+(\\d+)', 'm').exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? 0);
const ballast = [];
const grow = () => {
  for (let heap = true; status('RssAnon') < Number(anonKb); heap = !heap) {
    if (heap) ballast.push(Array.from({ length: 8192 }, (_, i) => ({ i, s: 'x' + i })));
    else for (let j = 0; j < 16; j++) ballast.push(Buffer.alloc(16 * 1024, 1));
  }
};
grow();
if (Number(anonKb) > 0) gc();
grow();
const calls = [];
const run = (cmd) => new Promise((resolve) => {
  const t0 = performance.now();
  let first = 0;
  const c = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  calls.push(performance.now() - t0);
  c.stdout.once('data', () => (first = performance.now() - t0));
  c.stdout.resume();
  c.on('close', () => resolve({ first, total: performance.now() - t0 }));
});
const report = (result) => console.log(JSON.stringify({ result, calls, rssKb: status('VmRSS'), anonKb: status('RssAnon') }));
(async () => {
  if (mode === 'start') {
    const out = [];
    for (let i = 0; i < Number(a); i++) { out.push(await run('echo hi')); await new Promise((r) => setTimeout(r, 20)); }
    report(out);
  } else {
    const n = Number(a), p = Number(b);
    let next = 0;
    const t0 = performance.now();
    const worker = async () => { while (next < n) await run('echo ' + next++); };
    await Promise.all(Array.from({ length: p }, worker));
    report(performance.now() - t0);
  }
})();
`;

/**
 * Node flags of the node of the agent's size: gc() collects the garbage of growing. In the
 * sequential start its young generation is kept small: its semi-spaces would grow during the spawns
 * and overshoot the size asked for by 20–25 MB, while a 1 MB young generation costs nothing there.
 * The burst allocates enough to pay for the extra scavenges (≈ 8 % of its time), so it keeps V8's
 * default (which ends near 85 MB for any size asked between 60 and 85).
 */
const SIZED_FLAGS = { start: ['--expose-gc', '--max-semi-space-size=1'], burst: ['--expose-gc'] };

/** What one bare node run measured, beside its result. */
export interface NodeRun<T> {
  result: T;
  /** main-thread ms of each spawn() call (performance.now() around it): fork and exec, blocking */
  calls: number[];
  /** the node's VmRSS and RssAnon at the end, kB */
  rssKb: number;
  anonKb: number;
}

function node<T>(args: string[], anonKb: number): Promise<NodeRun<T>> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...(anonKb > 0 ? SIZED_FLAGS[args[0] as 'start' | 'burst'] : []), '-e', SCRIPT, ...args, String(anonKb)],
      { timeout: 120_000 },
      (err, stdout) => {
        if (err)
          reject(err as Error); // an Error at run time; its type (an Omit<>) no longer says so
        else resolve(JSON.parse(stdout) as NodeRun<T>);
      },
    ),
  );
}

/** `echo hi` spawned `count` times in sequence: spawn → first stdout data, and → close, in ms. */
export async function nodeSpawnLatency(
  count: number,
  anonKb = 0,
): Promise<NodeRun<Array<{ first: number; total: number }>>> {
  return node(['start', String(count), '0'], anonKb);
}

/** `echo i` for i < count, `parallel` at a time, from one Node process: ms to the last close. */
export async function nodeSpawnBurst(count: number, parallel: number, anonKb = 0): Promise<NodeRun<number>> {
  return node(['burst', String(count), String(parallel)], anonKb);
}
