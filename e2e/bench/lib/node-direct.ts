/**
 * Baselines measured in a fresh bare `node` process (no agent, no simulator): what Node's own
 * child_process costs on this machine, the floor for any Node-based agent.
 */
import { execFile } from 'node:child_process';

const SCRIPT = String.raw`
const { spawn } = require('node:child_process');
const [mode, a, b] = process.argv.slice(1);
const run = (cmd) => new Promise((resolve) => {
  const t0 = performance.now();
  let first = 0;
  const c = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  c.stdout.once('data', () => (first = performance.now() - t0));
  c.stdout.resume();
  c.on('close', () => resolve({ first, total: performance.now() - t0 }));
});
(async () => {
  if (mode === 'start') {
    const out = [];
    for (let i = 0; i < Number(a); i++) { out.push(await run('echo hi')); await new Promise((r) => setTimeout(r, 20)); }
    console.log(JSON.stringify(out));
  } else {
    const n = Number(a), p = Number(b);
    let next = 0;
    const t0 = performance.now();
    const worker = async () => { while (next < n) await run('echo ' + next++); };
    await Promise.all(Array.from({ length: p }, worker));
    console.log(JSON.stringify(performance.now() - t0));
  }
})();
`;

function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', SCRIPT, ...args], { timeout: 120_000 }, (err, stdout) => {
      if (err)
        reject(err as Error); // an Error at run time; its type (an Omit<>) no longer says so
      else resolve(stdout);
    }),
  );
}

/** `echo hi` spawned `count` times in sequence: spawn → first stdout data, and → close, in ms. */
export async function nodeSpawnLatency(count: number): Promise<Array<{ first: number; total: number }>> {
  return JSON.parse(await node(['start', String(count)]));
}

/** `echo i` for i < count, `parallel` at a time, from one Node process: ms to the last close. */
export async function nodeSpawnBurst(count: number, parallel: number): Promise<number> {
  return JSON.parse(await node(['burst', String(count), String(parallel)]));
}
