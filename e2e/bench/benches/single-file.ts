/**
 * The single file (npm run dist:headless, built here first) beside the agent as npm installs it
 * (node + dist-electron/cli.js), in one run: the file's size, start-up to the first heartbeat, and
 * idle RSS (goal: within 10 % of the npm agent's). Start-ups alternate between the two forms so that
 * a change in the machine's load falls on both.
 *
 * How much of a program's own file counts in its RSS depends on how the page cache holds that file:
 * the single file just written by postject, or run a few times, maps ~11 MB more of itself per
 * process than read fresh from disk (shared, clean pages the kernel can drop; none of it the agent's
 * own memory). So both programs run from copies made the same way (the single file, and Node's binary
 * for the npm agent), dropped from the page cache (coreutils dd, nocache) before the idle agents
 * start, as after a boot. The private memory (RssAnon) is reported too: the page cache does not change it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PlatformSimulator } from '../../platform/simulator.js';
import { freshDir, REPO, startAgent, TOKEN, type BenchAgent } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { treeRssKb } from '../lib/proc.js';
import { median, sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const os = { win32: 'win', darwin: 'macos' }[process.platform as string] ?? process.platform;
const SINGLE_FILE = path.join(REPO, 'release', `ats-agent-${os}-${process.arch}`);
const FORMS = ['npm', 'single file'] as const;
type Form = (typeof FORMS)[number];

/** private (anonymous) resident memory of one process, MB */
function rssAnonMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^RssAnon:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : Number.NaN;
}

export const singleFile: Bench = {
  name: 'single-file',
  estimateS: (quick) => 10 + (quick ? 3 * 2 * 2 + 3 + 10 : 5 * 2 * 2 + 20 + 30),
  async run(ctx: BenchContext): Promise<Figure[]> {
    const t0 = performance.now();
    execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build-sea.mjs')], { cwd: REPO, stdio: 'ignore' });
    ctx.log(`built ${path.relative(REPO, SINGLE_FILE)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const bin = freshDir('bin');
    const installed = path.join(bin, 'ats-agent');
    const node = path.join(bin, 'node');
    for (const [from, to] of [
      [SINGLE_FILE, installed],
      [process.execPath, node],
    ] as const) {
      copyFileSync(from, to);
    }
    const dropFromPageCache = () => {
      for (const file of [installed, node])
        for (const args of [[`of=${file}`, 'oflag=nocache', 'conv=notrunc,fdatasync'], ['iflag=nocache']])
          execFileSync('dd', [`if=${file}`, ...args, 'count=0', 'status=none']);
    };
    const runs = ctx.quick ? 3 : 5;
    const settleMs = ctx.quick ? 3_000 : 20_000;
    const windowMs = ctx.quick ? 10_000 : 30_000;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    const start = (form: Form, label: string) =>
      startAgent(
        sim,
        form === 'npm' ? { label, node, nodeArgs: ctx.agentNodeArgs(label) } : { label, executable: SINGLE_FILE },
      );
    const startupMs: Record<Form, number[]> = { npm: [], 'single file': [] };
    const idle: BenchAgent[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        for (const form of i % 2 ? [...FORMS].reverse() : FORMS) {
          const begun = performance.now();
          const agent = await start(form, `startup-${form.replace(' ', '-')}-${i}`);
          startupMs[form].push(performance.now() - begun);
          await agent.stop();
        }
      }
      // idle: one of each, connected side by side over the same window, both programs read from disk
      dropFromPageCache();
      for (const form of FORMS) idle.push(await start(form, `idle-${form.replace(' ', '-')}`));
      ctx.log(`start-ups done; idle agents settling ${settleMs / 1000} s, then measuring ${windowMs / 1000} s`);
      await sleep(settleMs);
      const rss: number[][] = [[], []];
      const anon: number[][] = [[], []];
      const until = performance.now() + windowMs;
      while (performance.now() < until) {
        idle.forEach((a, i) => rss[i]!.push(treeRssKb(a.pid) / 1024));
        idle.forEach((a, i) => anon[i]!.push(rssAnonMb(a.pid)));
        await sleep(1_000);
      }
      const [npmRss, fileRss] = rss.map((xs) => median(xs)) as [number, number];
      const size = statSync(SINGLE_FILE).size / 2 ** 20;
      const nodeSize = statSync(process.execPath).size / 2 ** 20;
      return [
        fromRuns(
          'single-file',
          `${path.basename(SINGLE_FILE)} size`,
          [size],
          'MiB',
          undefined,
          `Node's own binary ${nodeSize.toFixed(1)} MiB; the rest is the agent and its UI`,
        ),
        ...FORMS.map((form) =>
          fromRuns(
            'single-file',
            `start-up to first heartbeat, ${form}`,
            startupMs[form],
            'ms',
            undefined,
            'spawn → auth + first heartbeat',
          ),
        ),
        fromRuns(
          'single-file',
          'idle tree RSS, npm (node cli.js)',
          rss[0]!,
          'MB',
          undefined,
          `median over ${windowMs / 1000} s`,
        ),
        fromRuns(
          'single-file',
          'idle tree RSS, single file',
          rss[1]!,
          'MB',
          undefined,
          `median over ${windowMs / 1000} s`,
        ),
        fromRuns('single-file', 'idle private memory (RssAnon), npm', anon[0]!, 'MB'),
        fromRuns('single-file', 'idle private memory (RssAnon), single file', anon[1]!, 'MB'),
        fromRuns(
          'single-file',
          'idle private memory, single file ÷ npm',
          [(median(anon[1]!) / median(anon[0]!)) * 100],
          '%',
        ),
        fromRuns(
          'single-file',
          'idle RSS, single file ÷ npm',
          [(fileRss / npmRss) * 100],
          '%',
          atMost(110, '%'),
          'the same window, side by side',
        ),
      ];
    } finally {
      await Promise.all(idle.map((a) => a.stop()));
      await sim.stop();
    }
  },
};
