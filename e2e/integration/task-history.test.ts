/**
 * Issue 15 items 1-2 against the built agent, started from `/`: after a restart (SIGTERM, and kill -9
 * in the middle of a task) the finished tasks are still listed by the AgentApi with their output,
 * their whole logs page, search and download from the dashboard; the cleanup policy bounds what
 * exists; ids that walk a path are refused.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type {
  AgentCall,
  DashboardServerMessage,
  OutputChunk,
  TaskHistoryPage,
  TaskLogPage,
  TaskLogSearch,
} from '../../main/core/api.js';
import { connectedAgent, startPlatform, tempDir, waitForResult, type AgentRun } from './harness.js';

const DASHBOARD_LINE = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?key=\S+)$/m;

interface Dashboard {
  origin: string;
  key: string;
  call<T>(method: AgentCall['method'], args: unknown[]): Promise<T>;
  close(): void;
}

async function dashboardOf(agent: AgentRun): Promise<Dashboard> {
  await agent.waitForOutput(DASHBOARD_LINE);
  const url = new URL(DASHBOARD_LINE.exec(agent.stdout())![1]!);
  const key = url.searchParams.get('key')!;
  const ws = new WebSocket(`ws://${url.host}/api?key=${encodeURIComponent(key)}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const pending = new Map<number, (m: DashboardServerMessage) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse((data as Buffer).toString()) as DashboardServerMessage;
    if (msg.kind === 'reply') pending.get(msg.id)?.(msg);
  });
  let next = 1;
  return {
    origin: url.origin,
    key,
    call: <T>(method: AgentCall['method'], args: unknown[]) =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        pending.set(id, (msg) => {
          pending.delete(id);
          if (msg.kind === 'reply' && msg.ok) resolve(msg.result as T);
          else reject(new Error(msg.kind === 'reply' && !msg.ok ? msg.error : 'no reply'));
        });
        ws.send(JSON.stringify({ kind: 'call', id, method, args }));
      }),
    close: () => ws.close(),
  };
}

describe('task history and whole logs across a restart', () => {
  it('lists what finished before the restart, with output, filter, search, pages and download', async () => {
    const sim = await startPlatform();
    const workDir = path.join(tempDir(), 'work');
    const opts = { workDir, args: ['--dashboard', '0'], config: { task: { kill_grace: 1 } } };
    const first = await connectedAgent(sim, opts);
    sim.dispatch({ task_id: 'r-ok', command: 'seq 1 5000 | sed "s/^/row /"; echo needle-before-restart' });
    sim.dispatch({ task_id: 'r-fail', command: 'echo broken >&2; exit 7' });
    await waitForResult(sim, 'r-ok');
    await waitForResult(sim, 'r-fail');
    // one more that is running when the agent dies: the next start reports it AGENT_RESTARTED
    sim.dispatch({ task_id: 'r-killed', command: 'echo started; sleep 60' });
    await sim.waitFor(() => sim.output('r-killed').includes('started'), 10_000, 'r-killed running');
    const entry = path.join(workDir, 'state', 'tasks', 'r-killed.json');
    await expect.poll(() => JSON.parse(readFileSync(entry, 'utf8')).phase, { timeout: 10_000 }).toBe('running');
    await first.stop('SIGKILL');

    const second = await connectedAgent(sim, opts);
    const d = await dashboardOf(second);
    try {
      await sim.waitFor(() => sim.results('r-killed').length > 0, 15_000, 'r-killed reported');
      const all = await d.call<TaskHistoryPage>('getTaskHistory', [{}]);
      const byId = Object.fromEntries(all.tasks.map((t) => [t.taskId, t]));
      expect(byId['r-ok']).toMatchObject({ phase: 'success', exitCode: 0, command: expect.stringContaining('seq') });
      expect(byId['r-fail']).toMatchObject({ phase: 'failed', exitCode: 7 });
      expect(byId['r-killed']).toMatchObject({ phase: 'error', errorCode: 'AGENT_RESTARTED' });
      expect(byId['r-ok']!.startedAt).not.toBeNull();
      expect(byId['r-ok']!.duration).toBeGreaterThanOrEqual(0);

      expect(
        (await d.call<TaskHistoryPage>('getTaskHistory', [{ status: 'failed' }])).tasks.map((t) => t.taskId),
      ).toEqual(['r-fail']);
      expect(
        (await d.call<TaskHistoryPage>('getTaskHistory', [{ search: 'SLEEP 60' }])).tasks.map((t) => t.taskId),
      ).toEqual(['r-killed']);

      // its output, from the log file (the new agent's state never saw it)
      const output = await d.call<OutputChunk[]>('getTaskOutput', ['r-ok']);
      expect(output.map((c) => c.text).join('\n')).toMatch(/row 5000\nneedle-before-restart$/);

      const page = await d.call<TaskLogPage>('readTaskLog', ['r-ok', 4998, 5]);
      expect(page).toMatchObject({ from: 4998, lines: ['row 4999', 'row 5000', 'needle-before-restart'] });
      expect(page.totalLines).toBe(5001);
      const found = await d.call<TaskLogSearch>('searchTaskLog', ['r-ok', 'NEEDLE', 0]);
      expect(found.matches).toEqual([{ line: 5000, text: 'needle-before-restart' }]);

      const file = path.join(workDir, 'logs', 'tasks', 'r-ok.log');
      const download = await fetch(`${d.origin}/download/task-log/r-ok?key=${encodeURIComponent(d.key)}`);
      expect(download.status).toBe(200);
      expect((await download.arrayBuffer()).byteLength).toBe(statSync(file).size);
      expect((await fetch(`${d.origin}/download/task-log/r-ok`)).status).toBe(401);
      for (const walk of ['..%2Fagent-id', '..%2F..%2Fstate%2Foutbox.log', '%2Fetc%2Fpasswd'])
        expect((await fetch(`${d.origin}/download/task-log/${walk}?key=${d.key}`)).status, walk).toBe(400);
      await expect(d.call('readTaskLog', ['../agent-id', 0, 10])).rejects.toThrow(/not a task id/);
      await expect(d.call('readTaskLog', ['never-ran', 0, 10])).rejects.toThrow(/no log file/);
      // the dashboard has no file manager: it downloads instead
      expect(await d.call('revealTaskLog', ['r-ok'])).toMatchObject({ ok: false });
    } finally {
      d.close();
    }
  });

  it('keeps what the cleanup policy keeps: keep_tasks bounds the history', async () => {
    const sim = await startPlatform();
    const workDir = path.join(tempDir(), 'work');
    const opts = {
      workDir,
      args: ['--dashboard', '0'],
      config: { task: { cleanup: { keep_tasks: 2, keep_days: 0 } } },
    };
    const first = await connectedAgent(sim, opts);
    for (const n of [1, 2, 3, 4]) {
      sim.dispatch({ task_id: `k-${n}`, command: `echo task ${n}` });
      await waitForResult(sim, `k-${n}`);
    }
    await first.stop();
    const second = await connectedAgent(sim, opts);
    const d = await dashboardOf(second);
    try {
      await expect
        .poll(async () => (await d.call<TaskHistoryPage>('getTaskHistory', [{}])).tasks.map((t) => t.taskId), {
          timeout: 10_000,
        })
        .toEqual(['k-4', 'k-3']);
      await expect(d.call('readTaskLog', ['k-1', 0, 10])).rejects.toThrow(/no log file/);
    } finally {
      d.close();
    }
  });
});
