/**
 * 9. The whole log of a task (issue 15): a 1 M-line log file (11.9 MB) read through the built
 * agent's dashboard socket as the window reads it. Opening = the first page of a file the agent has
 * not indexed yet; then a page from the middle, and a search of the whole file for a line near its
 * end. Baseline in the same run, on the same socket and file: getTaskOutput, the 256 K tail the
 * task log panel loads (what opening a finished task already cost).
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { WebSocket } from 'ws';
import type { AgentCall, DashboardServerMessage } from '../../../main/core/api.js';
import { PlatformSimulator } from '../../platform/simulator.js';
import { startAgent, TOKEN } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const LINES = 1_000_000;
const DASHBOARD_LINE = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?key=\S+)/;

async function writeLog(file: string): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 1; i <= LINES; i += 10_000) {
    let chunk = '';
    for (let j = i; j < i + 10_000; j++) chunk += `line ${j}\n`;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
}

export const fullLog: Bench = {
  name: 'full-log',
  estimateS: (quick) => (quick ? 3 : 5) * 2 + 4,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 5;
    const sim = new PlatformSimulator({ tokens: [TOKEN] });
    await sim.start();
    const agent = await startAgent(sim, {
      label: 'full-log',
      nodeArgs: ctx.agentNodeArgs('full-log'),
      args: ['--dashboard', '0'],
    });
    let ws: WebSocket | null = null;
    try {
      for (let i = 0; i < 100 && !DASHBOARD_LINE.test(agent.output()); i++) await sleep(50);
      const url = new URL(DASHBOARD_LINE.exec(agent.output())![1]!);
      const socket = new WebSocket(`ws://${url.host}/api?key=${url.searchParams.get('key')}`);
      ws = socket;
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const waiting = new Map<number, (m: DashboardServerMessage) => void>();
      socket.on('message', (d) => {
        const m = JSON.parse((d as Buffer).toString()) as DashboardServerMessage;
        if (m.kind === 'reply') waiting.get(m.id)?.(m);
      });
      let id = 1;
      const timed = (method: AgentCall['method'], args: unknown[]) =>
        new Promise<number>((resolve, reject) => {
          const n = id++;
          const t0 = performance.now();
          waiting.set(n, (m) => {
            waiting.delete(n);
            if (m.kind === 'reply' && m.ok) resolve(performance.now() - t0);
            else reject(new Error(`${method}: ${m.kind === 'reply' && !m.ok ? m.error : '?'}`));
          });
          socket.send(JSON.stringify({ kind: 'call', id: n, method, args }));
        });

      const open: number[] = [];
      const middle: number[] = [];
      const search: number[] = [];
      const tail: number[] = [];
      for (let r = 0; r < runs; r++) {
        // a new file each run: the agent has never indexed it
        const taskId = `bench-1m-${r}`;
        await writeLog(path.join(agent.workDir, 'logs', 'tasks', `${taskId}.log`));
        tail.push(await timed('getTaskOutput', [taskId]));
        open.push(await timed('readTaskLog', [taskId, 0, 500]));
        middle.push(await timed('readTaskLog', [taskId, LINES / 2, 500]));
        search.push(await timed('searchTaskLog', [taskId, 'line 999999', 0]));
        ctx.log(
          `run ${r + 1}: tail ${tail[r]!.toFixed(0)} ms, open ${open[r]!.toFixed(0)} ms, middle page ${middle[r]!.toFixed(1)} ms, search ${search[r]!.toFixed(0)} ms`,
        );
      }
      return [
        fromRuns('full-log', 'baseline: the 256 K tail (getTaskOutput), same socket and file', tail, 'ms'),
        fromRuns(
          'full-log',
          'open a 1 M-line log: first page, file not indexed yet',
          open,
          'ms',
          atMost(2000, 'ms'),
          'the agent side; the window draws it within the same 2 s (e2e/task-history.spec.ts)',
        ),
        fromRuns('full-log', '500 lines from the middle (indexed)', middle, 'ms'),
        fromRuns('full-log', 'search the whole 1 M-line log', search, 'ms'),
      ];
    } finally {
      ws?.close();
      await agent.stop();
      await sim.stop();
    }
  },
};
