/**
 * 9. Transfer: a task with a 100 MB file to fetch (sha256 checked, the cache fed) and a task with a
 * 200 MB artifact to upload, from `task` sent to its task_result, through the simulator over
 * loopback. The agent's own peak RSS during the transfer (VmHWM reset just before) against its RSS
 * idle just before: the goal is at most 30 MB above it. Beside each run, the same transfer by a bare
 * Node process here (stream + sha256, no agent): the limit of the machine. Agent and bare runs alternate.
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { PlatformSimulator, patternSha256 } from '../../platform/simulator.js';
import { freshDir, startAgent, TOKEN, track } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { peakRssKb, resetPeak, rssKb } from '../lib/proc.js';
import { sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const DOWNLOAD = 100 * 1024 * 1024;
const ARTIFACT = 200 * 1024 * 1024;
const MB = 1024 * 1024;

interface Run {
  mbPerS: number;
  idleMb: number;
  peakMb: number;
}

async function agentRun(ctx: BenchContext, kind: 'download' | 'upload', label: string): Promise<Run> {
  const sim = new PlatformSimulator({ tokens: [TOKEN] });
  await sim.start();
  const agent = await startAgent(sim, { label, nodeArgs: ctx.agentNodeArgs(label) });
  try {
    await sleep(1_000);
    const idleMb = rssKb(agent.pid) / 1024;
    if (!resetPeak(agent.pid)) throw new Error('cannot reset VmHWM (/proc/<pid>/clear_refs)');
    const id = `${kind}-${label}`;
    const size = kind === 'download' ? DOWNLOAD : ARTIFACT;
    const t0 = performance.now();
    if (kind === 'download') {
      const url = sim.serveFile('big.bin', { size });
      sim.dispatch({ task_id: id, command: 'true', files: [{ url, path: 'big.bin', sha256: patternSha256(size) }] });
    } else {
      sim.dispatch({
        task_id: id,
        command: `head -c ${size} /dev/zero > big.bin`,
        artifacts: { paths: ['big.bin'], upload_url: sim.artifactsUrl(id) },
      });
    }
    const result = await sim.waitFor(() => sim.result(id), 180_000, `the result of ${id}`);
    const ms = performance.now() - t0;
    const peakMb = peakRssKb(agent.pid) / 1024;
    if (result.status !== 'success') throw new Error(`${id}: ${result.status} ${result.error}`);
    if (kind === 'upload' && !(result.artifacts?.[0]?.uploaded && sim.uploads.get(`${id}/big.bin`)?.size === size))
      throw new Error(`${id}: the artifact did not arrive whole: ${JSON.stringify(result.artifacts)}`);
    return { mbPerS: size / MB / (ms / 1000), idleMb, peakMb };
  } finally {
    await agent.stop();
    await sim.stop();
  }
}

/** The same transfer by a bare Node process: a GET to a file, or a PUT from one, each through sha256. */
async function bareRun(kind: 'download' | 'upload'): Promise<number> {
  const sim = new PlatformSimulator({ tokens: [TOKEN] });
  await sim.start();
  const dir = freshDir('transfer-bare');
  const file = path.join(dir, 'big.bin');
  try {
    const size = kind === 'download' ? DOWNLOAD : ARTIFACT;
    if (kind === 'upload') execFileSync('sh', ['-c', `head -c ${size} /dev/zero > "$0"`, file]);
    const url = kind === 'download' ? sim.serveFile('big.bin', { size }) : `${sim.artifactsUrl('bare')}/big.bin`;
    const script =
      kind === 'download'
        ? `const h=require('crypto').createHash('sha256');require('http').get(process.argv[1],{headers:{authorization:'Bearer ${TOKEN}'}},r=>{r.on('data',c=>h.update(c));r.pipe(require('fs').createWriteStream(process.argv[2])).on('finish',()=>h.digest())})`
        : `const h=require('crypto').createHash('sha256');const q=require('http').request(process.argv[1],{method:'PUT',headers:{authorization:'Bearer ${TOKEN}','content-length':${size}}},r=>{r.resume();r.on('end',()=>h.digest())});require('fs').createReadStream(process.argv[2]).on('data',c=>h.update(c)).pipe(q)`;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = track(spawn(process.execPath, ['-e', script, url, file], { stdio: 'inherit' }));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bare ${kind} exited ${code}`))));
    });
    return size / MB / ((performance.now() - t0) / 1000);
  } finally {
    await sim.stop();
  }
}

export const transfer: Bench = {
  name: 'transfer',
  estimateS: (quick) => (quick ? 20 : 50),
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 1 : 3;
    const figures: Figure[] = [];
    for (const kind of ['download', 'upload'] as const) {
      const agent: Run[] = [];
      const bare: number[] = [];
      for (let i = 0; i < runs; i++) {
        agent.push(await agentRun(ctx, kind, `transfer-${kind}-${i}`));
        bare.push(await bareRun(kind));
        ctx.log(
          `${kind} run ${i + 1}: agent ${agent.at(-1)!.mbPerS.toFixed(0)} MB/s, idle ${agent.at(-1)!.idleMb.toFixed(1)} → peak ${agent.at(-1)!.peakMb.toFixed(1)} MB; bare node ${bare.at(-1)!.toFixed(0)} MB/s`,
        );
      }
      const what = kind === 'download' ? '100 MB file fetched (sha256, cache)' : '200 MB artifact uploaded';
      figures.push(
        fromRuns(
          'transfer',
          `${what}: task sent → result`,
          agent.map((r) => r.mbPerS),
          'MB/s',
          undefined,
          `bare node stream + sha256: ${bare.map((b) => b.toFixed(0)).join(', ')} MB/s`,
        ),
        fromRuns(
          'transfer',
          `${what}: agent peak RSS above idle`,
          agent.map((r) => r.peakMb - r.idleMb),
          'MB',
          atMost(30, 'MB'),
          `idle ${agent.map((r) => r.idleMb.toFixed(1)).join(', ')} MB; peak ${agent.map((r) => r.peakMb.toFixed(1)).join(', ')} MB`,
        ),
      );
    }
    return figures;
  },
};
