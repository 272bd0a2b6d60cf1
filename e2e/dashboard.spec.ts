/**
 * The headless dashboard end to end: the real built agent, the platform simulator, the real UI in
 * Chromium. See e2e/fixtures/agent.ts for what runs.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { Page } from '@playwright/test';
import type { AgentSnapshot, TaskView } from '../main/core/api.js';
import { ENVIRONMENT_ID, SCREENSHOTS, expect, launchAgent, test } from './fixtures/agent.js';
import { JUNIT_TASK } from './fixtures/junit-task.js';
import { unusedPort } from './lib/ports.js';
import { alive } from './lib/proc.js';

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** The numbers N of the `line N` rows the task log shows right now. */
async function shownLineNumbers(page: Page): Promise<number[]> {
  const texts = await page.getByTestId('task-log').getByTestId('log-line').allTextContents();
  return texts
    .map((t) => /line (\d+)/.exec(t)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
}

async function openOnline(page: Page, url: string): Promise<void> {
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
}

async function selectTask(page: Page, taskId: string): Promise<void> {
  const log = page.getByTestId('task-log');
  if ((await log.getAttribute('data-task-id')) !== taskId)
    await page.getByTestId(`task-row-${taskId}`).click({ position: { x: 8, y: 8 } });
  await expect(log).toHaveAttribute('data-task-id', taskId);
}

test('shows the connection online, the environment and the sections', async ({ page, agent }) => {
  await openOnline(page, agent.url);
  await expect(page.getByTestId('environment-id')).toContainText(ENVIRONMENT_ID);
  for (const heading of ['Connection', 'Metrics', 'Tasks', 'Task log']) {
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
  }
  await expect(page.getByTestId('agent-log')).toContainText('authenticated', { timeout: 15_000 });
  await expect(page.getByTestId('settings')).toBeAttached();
  await shot(page, 'overview');
});

test('streams a task live, then cancels it from the UI and the process ends', async ({ page, agent, sim }) => {
  await openOnline(page, agent.url);
  const taskId = 'e2e-stream-1';
  // the shell's pid first, then ~30 s of lines: long enough to watch it and cancel it
  sim.dispatch({ task_id: taskId, command: 'echo "pid $$"; for i in $(seq 1 300); do echo line $i; sleep 0.1; done' });

  const row = page.getByTestId(`task-row-${taskId}`);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-phase', 'running');
  await selectTask(page, taskId);

  // lines arrive while it runs: the highest line number shown keeps growing
  await expect
    .poll(async () => Math.max(0, ...(await shownLineNumbers(page))), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(3);
  const first = Math.max(...(await shownLineNumbers(page)));
  await expect
    .poll(async () => Math.max(...(await shownLineNumbers(page))), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(first + 5);
  await expect(row).toHaveAttribute('data-phase', 'running');
  await expect(page.getByTestId('task-log').getByTestId('log-line').first()).toHaveAttribute('data-stream', 'stdout');
  await shot(page, 'task-running');

  // the process to watch: the pid the task view carries, and the one the shell printed
  const snapshot = await agent.call<AgentSnapshot>('getSnapshot');
  const view = snapshot.tasks.find((t) => t.taskId === taskId) as TaskView;
  expect(view.phase).toBe('running');
  const printed = Number(/pid (\d+)/.exec(sim.output(taskId))?.[1]);
  const pids = [view.pid, printed].filter((p): p is number => typeof p === 'number' && p > 0);
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(alive(pid), `pid ${pid} runs before the cancel`).toBe(true);

  await page.getByTestId(`cancel-${taskId}`).click();
  const result = await sim.waitFor(() => sim.result(taskId), 15_000, `the result of ${taskId}`);
  expect(result.status).toBe('cancelled');
  await expect(row).toHaveAttribute('data-phase', 'cancelled');
  await expect(page.getByTestId(`cancel-${taskId}`)).toHaveCount(0);
  for (const pid of pids)
    await expect.poll(() => alive(pid), { message: `pid ${pid} is gone`, timeout: 5_000 }).toBe(false);
  // nothing more streams after the end
  const last = Math.max(...(await shownLineNumbers(page)));
  await page.waitForTimeout(600);
  expect(Math.max(...(await shownLineNumbers(page)))).toBe(last);
  await shot(page, 'task-cancelled');
});

test('a short task streams all its lines and ends as success', async ({ page, agent, sim }) => {
  await openOnline(page, agent.url);
  const taskId = 'e2e-short-1';
  sim.dispatch({ task_id: taskId, command: 'for i in $(seq 1 30); do echo line $i; sleep 0.1; done' });
  const row = page.getByTestId(`task-row-${taskId}`);
  await expect(row).toBeVisible();
  await selectTask(page, taskId);
  await expect.poll(async () => (await shownLineNumbers(page)).length, { timeout: 10_000 }).toBeGreaterThan(0);
  const early = Math.max(...(await shownLineNumbers(page)));
  expect(early).toBeLessThan(30);
  await expect(row).toHaveAttribute('data-phase', 'success', { timeout: 15_000 });
  // following the tail, the last line is in view
  await expect.poll(async () => Math.max(...(await shownLineNumbers(page)))).toBe(30);
  expect((await sim.waitFor(() => sim.result(taskId), 5_000)).status).toBe('success');
});

test('a finished task shows its usage and test counts in the list, and its failed cases', async ({
  page,
  agent,
  sim,
}) => {
  await openOnline(page, agent.url);
  const taskId = 'e2e-junit';
  sim.dispatch({ task_id: taskId, command: JUNIT_TASK, test_reports: ['reports/*.xml'] });
  const row = page.getByTestId(`task-row-${taskId}`);
  await expect(row).toHaveAttribute('data-phase', 'failed', { timeout: 15_000 });
  await expect(row.getByTestId('task-tests')).toHaveText('4 tests · 1 failed · 1 skipped');
  await expect(row.getByTestId('task-usage')).toHaveText(
    /^CPU \d+\.\d+ s · peak [\d.]+ MB · read [\d.]+ MB · written [\d.]+ MB$/,
  );
  await selectTask(page, taskId);
  const report = page.getByTestId('test-report');
  await expect(report).toContainText('2 passed');
  await expect(report).toContainText('1 failed');
  await expect(report).toContainText('1 skipped');
  await expect(report.getByRole('list', { name: 'Failed cases' }).getByRole('listitem')).toHaveText([
    /api\.Login › refuses an expired token\s*expected 401, got 200\nat login\.test\.js:42/,
  ]);
  await shot(page, 'test-report-en');
  await page.getByTestId('language').selectOption('zh');
  await expect(report).toContainText('2 个通过');
  await expect(row.getByTestId('task-tests')).toHaveText('4 个测试 · 1 个失败 · 1 个跳过');
  await shot(page, 'test-report-zh');
  await page.getByTestId('language').selectOption('en');
  expect((await sim.waitFor(() => sim.result(taskId), 5_000)).test_report).toMatchObject({ tests: 4, failures: 1 });
});

test('each panel says what its emptiness means', async ({ page, agent, sim }) => {
  await openOnline(page, agent.url);
  await expect(page.getByTestId('task-log-empty')).toHaveText(/^No task has run yet/);
  await expect(page.locator('#tasks')).toContainText('No tasks yet');
  // a finished task that printed nothing is not "no output yet"
  sim.dispatch({ task_id: 'e2e-silent', command: 'true' });
  await expect(page.getByTestId('task-row-e2e-silent')).toHaveAttribute('data-phase', 'success', { timeout: 15_000 });
  await selectTask(page, 'e2e-silent');
  await expect(page.getByTestId('task-log')).toContainText('This task printed nothing.');
  // the agent log filtered to a level with no lines says so, and how to see more
  await page.getByTestId('agent-log').getByRole('combobox').selectOption('error');
  await expect(page.getByTestId('agent-log')).toContainText('No log lines at this level or above.');
  await shot(page, 'empty-states');
});

test('the followed task keeps at most what core keeps, and says older lines are in the log file', async ({
  page,
  agent,
  sim,
}) => {
  await openOnline(page, agent.url);
  const taskId = 'e2e-bounded-1';
  // ~700 K characters after a pause (followed live from its start), far more than core keeps (256 K)
  sim.dispatch({ task_id: taskId, command: "echo line 0; sleep 2; seq 1 70000 | sed 's/^/line /'" });
  await expect(page.getByTestId(`task-row-${taskId}`)).toBeVisible();
  await selectTask(page, taskId);
  await expect(page.getByTestId('log-older')).toHaveCount(0);
  await expect(page.getByTestId(`task-row-${taskId}`)).toHaveAttribute('data-phase', 'success', { timeout: 30_000 });
  await expect(page.getByTestId('log-older')).toBeVisible();
  await expect(page.getByTestId('log-older')).toContainText(`logs/tasks/${taskId}.log`);
  await expect.poll(async () => Math.max(...(await shownLineNumbers(page))), { timeout: 10_000 }).toBe(70000);
  const count = Number(((await page.getByText(/^[\d,]+ lines$/).textContent()) ?? '').replace(/\D/g, ''));
  // at most 256 K characters of "line NNNNN" rows (10 characters each, the newline not counted): a
  // buffer past its bound trims to 7/8 of it, so 22 937 to 26 214 of the 70 001 (it read 26 019 once)
  expect(count).toBeGreaterThan(15_000);
  expect(count).toBeLessThanOrEqual(Math.ceil(262_144 / 10));
});

test('the metrics charts follow the heartbeats', async ({ page, agent }) => {
  await openOnline(page, agent.url);
  const points = async (id: string) => Number((await page.getByTestId(id).getAttribute('data-points')) ?? '0');
  for (const id of ['chart-cpu', 'chart-memory', 'chart-disk']) await expect(page.getByTestId(id)).toBeVisible();
  await expect.poll(() => points('chart-cpu'), { timeout: 10_000 }).toBeGreaterThan(0);
  const before = await points('chart-cpu');
  await expect.poll(() => points('chart-cpu'), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 2);
  await expect.poll(() => points('chart-memory')).toBeGreaterThanOrEqual(before + 2);
  await shot(page, 'metrics');
});

test('a wrong access key is refused, by the page and by the socket', async ({ page, agent }) => {
  const response = await page.goto(`${agent.origin}/?key=not-the-key`);
  expect(response?.status()).toBe(401);
  await expect(page.getByTestId('access-denied')).toBeVisible();
  await expect(page.getByTestId('connection-phase')).toHaveCount(0);
  await shot(page, 'access-denied');

  // no key at all
  expect((await page.goto(`${agent.origin}/`))?.status()).toBe(401);

  // the API socket: 401 at the upgrade for a wrong key, 403 for another site's page
  const upgrade = (key: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${agent.origin.replace('http', 'ws')}/api?key=${encodeURIComponent(key)}`, { headers });
      ws.once('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', reject);
    });
  expect(await upgrade('not-the-key')).toBe(401);
  expect(await upgrade(agent.key, { Origin: 'http://evil.example' })).toBe(403);
  expect(await upgrade(agent.key, { Origin: agent.origin })).toBe(101);

  // the UI itself, served with the right key but holding a wrong one, shows the denial
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toBeVisible({ timeout: 15_000 });
  const inBrowser = await page.evaluate(
    (url) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve('open');
        ws.onclose = (e) => resolve(`closed ${e.code}`);
      }),
    `${agent.origin.replace('http', 'ws')}/api?key=not-the-key`,
  );
  expect(inBrowser).toBe('closed 1006');
});

test('an open page whose key no longer fits (the agent restarted) shows access-denied', async ({
  page,
  sim,
  tmp,
  agentConfig,
}) => {
  const port = await unusedPort();
  const first = await launchAgent(sim, tmp, agentConfig, port);
  try {
    await openOnline(page, first.url);
    sim.dispatch({ task_id: 'before-restart', command: 'echo from the first agent' });
    await expect(page.getByTestId('task-row-before-restart')).toHaveAttribute('data-phase', 'success');
    await expect(page.getByTestId('agent-line')).toBeVisible();
  } finally {
    await first.stop();
  }
  // same port, new random key: the page reconnects, is refused with 401 and says so
  const second = await launchAgent(sim, tmp, agentConfig, port);
  try {
    expect(second.key).not.toBe(first.key);
    await expect(page.getByTestId('access-denied')).toBeVisible({ timeout: 20_000 });
    // nothing of the first agent is left on screen: its header line, sections, phase, tasks
    await expect(page.getByTestId('agent-line')).toHaveCount(0);
    await expect(page.getByRole('navigation')).toHaveCount(0);
    await expect(page.locator('.header-phase')).toHaveCount(0);
    await expect(page.getByTestId('task-row-before-restart')).toHaveCount(0);
    await expect(page.getByText('from the first agent')).toHaveCount(0);
    await shot(page, 'access-denied-after-restart');
  } finally {
    await second.stop();
  }
});

test('a log file that cannot be written shows as a warning, and the agent still runs tasks', async ({
  page,
  sim,
  tmp,
  agentConfig,
}) => {
  // the platform's work dir, whose agent.log is a directory: no line can be written there
  mkdirSync(path.join(tmp, 'work', 'logs', 'agent.log'), { recursive: true });
  const agent = await launchAgent(sim, tmp, agentConfig);
  try {
    await openOnline(page, agent.url);
    const banner = page.getByTestId('log-file-problem');
    await expect(banner).toBeVisible();
    await expect(banner).toContainText(path.join(tmp, 'work', 'logs', 'agent.log'));
    await expect(banner).toContainText('EISDIR');
    sim.dispatch({ task_id: 'e2e-log-lost', command: 'echo fine' });
    await expect(page.getByTestId('task-row-e2e-log-lost')).toHaveAttribute('data-phase', 'success');
    // the lines still reach the UI's own tail
    await expect(page.getByTestId('agent-log')).toContainText('e2e-log-lost');
    await shot(page, 'log-file-problem');
    const snapshot = await agent.call<AgentSnapshot>('getSnapshot');
    expect(snapshot.logFileProblem).toMatchObject({ path: path.join(tmp, 'work', 'logs', 'agent.log') });
    expect(snapshot.counters.logLinesLost).toBeGreaterThan(0);
  } finally {
    await agent.stop();
  }
});

test('switching the language to Chinese changes the headings', async ({ page, agent }) => {
  await openOnline(page, agent.url);
  await expect(page.getByRole('heading', { name: 'Connection', exact: true })).toBeVisible();
  await page.getByTestId('language').selectOption('zh');
  for (const heading of ['连接', '指标', '任务', '任务日志']) {
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
  }
  await expect(page.getByRole('heading', { name: 'Connection', exact: true })).toHaveCount(0);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online');
  await shot(page, 'language-zh');
  await page.getByTestId('language').selectOption('en');
  await expect(page.getByRole('heading', { name: 'Connection', exact: true })).toBeVisible();
});

test('/healthz and /metrics of the running agent', async ({ request, agent }) => {
  // 503 until the agent is online, which may be just after it printed its URL
  await expect.poll(async () => (await request.get(`${agent.origin}/healthz`)).status(), { timeout: 15_000 }).toBe(200);
  const health = await request.get(`${agent.origin}/healthz`);
  const body = await health.json();
  expect(body).toMatchObject({ status: 'ok', phase: 'online', running_tasks: 0 });
  expect(JSON.stringify(body)).not.toContain(agent.key);

  const metrics = await request.get(`${agent.origin}/metrics`);
  expect(metrics.status()).toBe(200);
  const text = await metrics.text();
  expect(text).toMatch(/^ats_agent_connected 1$/m);
  expect(text).toMatch(/^ats_agent_connection_state\{phase="online"\} 1$/m);
  expect(text).toContain('ats_agent_task_duration_seconds');
  expect(text).toContain('process_resident_memory_bytes');
});
