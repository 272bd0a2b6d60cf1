/**
 * The queue view (issue 13 item 4): each queued task shows its priority and why it waits — behind
 * higher priorities, at max_concurrent, or for its depends_on tasks — in English and Chinese, with
 * no serious axe violation. The real built agent and the simulator (e2e/fixtures/agent.ts).
 */
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { SCREENSHOTS, expect, test } from './fixtures/agent.js';

test.use({
  agentConfig: { monitor: { interval: 1 }, task: { kill_grace: 1, max_concurrent: 1 } },
  viewport: { width: 1280, height: 1200 },
});

test('queued tasks say their priority and why they wait, in en and zh', async ({ page, agent, sim }) => {
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
  sim.dispatch({ task_id: 'build', command: 'echo building; sleep 60' });
  await expect(page.getByTestId('task-row-build')).toHaveAttribute('data-phase', 'running');
  sim.dispatch({ task_id: 'lint', command: 'npm run lint' });
  sim.dispatch({ task_id: 'docs', command: 'npm run docs' });
  sim.dispatch({ task_id: 'hotfix', command: 'echo testing the hotfix; sleep 1', priority: 5 });
  sim.dispatch({ task_id: 'e2e', command: 'npm run e2e', depends_on: ['build'] });
  sim.dispatch({ task_id: 'release', command: 'npm publish', depends_on: ['e2e', 'sign-off'], priority: -1 });

  const queue = (id: string) => page.getByTestId(`queue-${id}`);
  await expect(queue('hotfix')).toHaveText('priority 5 · next to start · at max_concurrent (1 of 1 running)');
  await expect(queue('lint')).toHaveText('queued behind 1 at higher priority');
  await expect(queue('docs')).toHaveText('queued behind 1 at higher priority · behind 1 earlier at the same priority');
  await expect(queue('e2e')).toHaveText('waiting for build');
  await expect(queue('release')).toHaveText('priority -1 · waiting for e2e, sign-off (not received yet: sign-off)');
  // queued rows in the order they will start
  const rows = await page.locator('tr[data-phase="queued"]').evaluateAll((trs) => trs.map((tr) => tr.dataset.testid));
  expect(rows).toEqual(['task-row-hotfix', 'task-row-lint', 'task-row-docs', 'task-row-e2e', 'task-row-release']);
  const tasks = page.locator('#tasks');
  // the panel scrolls past 340 px; unrolled for the picture so that every queued row is in it
  await page.locator('#tasks .panel-body').evaluate((body: HTMLElement) => (body.style.maxHeight = 'none'));
  await tasks.screenshot({ path: path.join(SCREENSHOTS, 'queue-en.png') });
  expect((await new AxeBuilder({ page }).include('#tasks').analyze()).violations).toEqual([]);

  await page.getByTestId('language').selectOption('zh');
  await expect(queue('lint')).toHaveText('排在 1 个更高优先级的任务之后');
  await expect(queue('e2e')).toHaveText('等待 build');
  await expect(queue('hotfix')).toHaveText('优先级 5 · 下一个启动 · 已达 max_concurrent（1/1 运行中）');
  await tasks.screenshot({ path: path.join(SCREENSHOTS, 'queue-zh.png') });
  expect((await new AxeBuilder({ page }).include('#tasks').analyze()).violations).toEqual([]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await tasks.screenshot({ path: path.join(SCREENSHOTS, 'queue-zh-dark.png') });
  expect((await new AxeBuilder({ page }).include('#tasks').analyze()).violations).toEqual([]);
  await page.emulateMedia({ colorScheme: 'light' });

  // the running task ends: the next by priority starts, and every reason moves up
  sim.cancel('build');
  await expect(page.getByTestId('task-row-hotfix')).toHaveAttribute('data-phase', /running|success/);
  await expect(page.getByTestId('task-row-e2e')).toHaveAttribute('data-phase', 'error');
  await expect(page.getByTestId('task-row-release')).toHaveAttribute('data-phase', 'error');
  await expect(queue('release')).toHaveText('优先级 -1 · 依赖 e2e, sign-off');
  await page.getByTestId('language').selectOption('en');
});
