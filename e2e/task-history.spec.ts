/**
 * Issue 15 items 1-2 in Chromium against the real built agent: the task list after the agent
 * restarted (from its journal and log files), its filter and search; the whole-log viewer on a
 * 1 M-line log (time to open, to search, scrolling, renderer memory), the authenticated download.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { SCREENSHOTS, expect, launchAgent, test, type AgentProcess } from './fixtures/agent.js';

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });

async function openOnline(page: Page, url: string): Promise<void> {
  expect((await page.goto(url))?.status()).toBe(200);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
}

async function selectTask(page: Page, taskId: string): Promise<void> {
  await page.getByTestId(`task-row-${taskId}`).click({ position: { x: 8, y: 8 } });
  await expect(page.getByTestId('task-log')).toHaveAttribute('data-task-id', taskId);
}

test('finished tasks are listed after the agent restarts, with their output, a status filter and a search', async ({
  page,
  agent,
  sim,
  tmp,
}) => {
  await sim.waitFor(() => sim.connected, 15_000, 'the agent online');
  sim.dispatch({ task_id: 'h-ok', command: 'echo hello-from-before; echo second line' });
  sim.dispatch({ task_id: 'h-fail', command: 'echo failing >&2; exit 3' });
  sim.dispatch({ task_id: 'h-other', command: 'echo other-output' });
  for (const id of ['h-ok', 'h-fail', 'h-other']) await sim.waitFor(() => sim.result(id), 15_000, `${id} done`);
  await agent.stop();

  const again: AgentProcess = await launchAgent(sim, tmp, { monitor: { interval: 1 } });
  try {
    await openOnline(page, again.url);
    await expect(page.getByTestId('task-row-h-ok')).toHaveAttribute('data-phase', 'success');
    await expect(page.getByTestId('task-row-h-fail')).toHaveAttribute('data-phase', 'failed');
    await expect(page.getByTestId('task-row-h-fail')).toContainText('3');
    await expect(page.getByTestId('history-total')).toHaveText('3 in history');

    // selecting one shows its output, read from its log file
    await selectTask(page, 'h-ok');
    await expect(page.getByTestId('task-log').getByTestId('log-line').first()).toContainText('hello-from-before');
    await expect(page.getByTestId('task-log').getByTestId('log-line')).toHaveCount(2);
    await shot(page, 'history-after-restart-en-light');

    await page.getByTestId('task-status-filter').selectOption('failed');
    await expect(page.getByTestId('task-row-h-fail')).toBeVisible();
    await expect(page.getByTestId('task-row-h-ok')).toHaveCount(0);
    await expect(page.getByTestId('history-total')).toHaveText('1 in history');
    await page.getByTestId('task-status-filter').selectOption('');

    await page.getByTestId('task-search').fill('OTHER-out');
    await expect(page.getByTestId('task-row-h-other')).toBeVisible();
    await expect(page.getByTestId('task-row-h-ok')).toHaveCount(0);
    await page.getByTestId('task-search').fill('h-fa');
    await expect(page.getByTestId('task-row-h-fail')).toBeVisible();
    await expect(page.getByTestId('task-row-h-other')).toHaveCount(0);
    await page.getByTestId('task-search').fill('nothing like this');
    await expect(page.getByTestId('tasks-empty')).toHaveText('No task matches this filter.');
    await page.getByTestId('task-search').fill('');

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByTestId('language').selectOption('zh');
    await page.getByTestId('task-status-filter').selectOption('success');
    await expect(page.getByTestId('history-total')).toHaveText('历史中共 2 个');
    await shot(page, 'history-after-restart-zh-dark');
  } finally {
    await again.stop();
  }
});

const MILLION = 1_000_000;

test('the whole log of a 1 M-line task: opens under 2 s, searched by the agent, scrolls, downloads', async ({
  page,
  agent,
  sim,
}, testInfo) => {
  test.setTimeout(120_000);
  const taskId = 'big-log';
  await sim.waitFor(() => sim.connected, 15_000, 'the agent online');
  sim.dispatch({ task_id: taskId, command: `seq 1 ${MILLION} | sed 's/^/line /'` });
  expect((await sim.waitFor(() => sim.result(taskId), 60_000, 'the 1 M-line task done')).status).toBe('success');
  const file = path.join(agent.workDir, 'logs', 'tasks', `${taskId}.log`);
  const bytes = statSync(file).size;

  await openOnline(page, agent.url);
  await selectTask(page, taskId);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize')!.value;
  };
  const heapBefore = await heap();

  // open: from the click to the first line drawn and the line count known (the agent indexes the file cold)
  const openMs = await page.evaluate(
    (total) =>
      new Promise<number>((resolve) => {
        const t0 = performance.now();
        document.querySelector<HTMLButtonElement>('[data-testid=open-full-log]')!.click();
        const check = () => {
          const first = document.querySelector('[data-testid=full-log-line][data-line="0"] .tx');
          const size = document.querySelector('[data-testid=full-log-size]')?.textContent ?? '';
          if (first?.textContent === 'line 1' && size.startsWith(total)) resolve(performance.now() - t0);
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
    MILLION.toLocaleString('en'),
  );
  await expect(page.getByTestId('full-log')).toBeVisible();

  // search: the agent scans the whole file; the view jumps to the match
  const searchMs = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const input = document.querySelector<HTMLInputElement>('[data-testid=full-log-search]')!;
        const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
        setValue.call(input, 'LINE 777777');
        input.dispatchEvent(new Event('input', { bubbles: true }));
        const t0 = performance.now();
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
        const check = () => {
          const target = document.querySelector('.full-log-target .tx');
          if (target?.textContent === 'line 777777') resolve(performance.now() - t0);
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
  );
  await expect(page.getByTestId('full-log-matches')).toHaveText('1 matching lines');
  await shot(page, 'full-log-1m-en-light');

  // scroll: 120 frames of 2 000 px each from the middle, then how long until every row has its text;
  // the same over the panel's in-memory tail (the 256 K view) as the baseline of the same moment
  const fullScroll = await scrollFrames(page, '[data-testid=full-log-view]', '[data-testid=full-log-line] .tx');
  await page.getByTestId('full-log-close').click();
  const tailScroll = await scrollFrames(page, '[data-testid=task-log] .log-view', '[data-testid=log-line] .tx');
  await page.getByTestId('open-full-log').click();
  await expect(page.locator('[data-testid=full-log-line][data-line="0"] .tx')).toHaveText('line 1');
  // the end of the file
  await page.getByTestId('full-log-view').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(page.locator(`[data-testid=full-log-line][data-line="${MILLION - 1}"] .tx`)).toHaveText(
    `line ${MILLION}`,
  );
  const heapOpen = await heap();
  const heapMb = (heapOpen - heapBefore) / 1048576;

  // download: the whole file, from the dashboard, with the page's access key
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('full-log-download').click()]);
  expect(download.suggestedFilename()).toBe(`${taskId}.log`);
  expect(statSync(await download.path()).size).toBe(bytes);
  // without the key, or with an id that walks a path: refused
  expect((await page.request.get(`${agent.origin}/download/task-log/${taskId}`)).status()).toBe(401);
  const walk = await page.request.get(`${agent.origin}/download/task-log/..%2F..%2Fagent-id?key=${agent.key}`);
  expect(walk.status()).toBe(400);

  const figures = {
    lines: MILLION,
    bytes,
    openMs: Math.round(openMs),
    searchMs: Math.round(searchMs),
    scroll: fullScroll,
    baselineScroll: tailScroll,
    heapDeltaMb: Math.round(heapMb * 10) / 10,
    heapMb: Math.round((heapOpen / 1048576) * 10) / 10,
  };
  console.log(`full log figures: ${JSON.stringify(figures)}`);
  testInfo.annotations.push({ type: 'figures', description: JSON.stringify(figures) });
  expect(openMs, 'time to open the 1 M-line log').toBeLessThan(2000);
  expect(searchMs, 'time to search it').toBeLessThan(5000);
  // frames on a loaded machine are slow for any view: the whole log's may be at most twice the tail's
  expect(fullScroll.p95FrameMs, 'p95 frame while scrolling').toBeLessThan(Math.max(100, 2 * tailScroll.p95FrameMs));
  expect(fullScroll.settleMs, 'rows filled after the scroll stops').toBeLessThan(2000);
  expect(heapMb, 'renderer heap held by the open log').toBeLessThan(50);

  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByTestId('full-log-close').click();
  await page.getByTestId('language').selectOption('zh');
  await page.getByTestId('open-full-log').click();
  await expect(page.getByTestId('full-log-size')).toContainText('1,000,000');
  await expect(page.locator('[data-testid=full-log-line][data-line="0"] .tx')).toHaveText('line 1');
  await shot(page, 'full-log-1m-zh-dark');
});

/** Scrolls `view` by 2 000 px a frame for 120 frames; frame times, and the wait until every row has text. */
function scrollFrames(page: Page, view: string, rows: string) {
  return page.evaluate(
    ([viewSelector, rowSelector]) =>
      new Promise<{ p95FrameMs: number; maxFrameMs: number; settleMs: number }>((resolve) => {
        const el = document.querySelector<HTMLElement>(viewSelector)!;
        el.scrollTop = el.scrollHeight / 2;
        const deltas: number[] = [];
        let last = performance.now();
        let frames = 0;
        const step = () => {
          const now = performance.now();
          deltas.push(now - last);
          last = now;
          el.scrollTop += 2000;
          if (++frames < 120) return requestAnimationFrame(step);
          const t0 = performance.now();
          const settle = () => {
            const shown = [...el.querySelectorAll(rowSelector)];
            if (shown.length > 0 && shown.every((r) => /^line \d+$/.test(r.textContent ?? ''))) {
              deltas.sort((a, b) => a - b);
              resolve({
                p95FrameMs: Math.round(deltas[Math.floor(deltas.length * 0.95)]!),
                maxFrameMs: Math.round(deltas[deltas.length - 1]!),
                settleMs: Math.round(performance.now() - t0),
              });
            } else requestAnimationFrame(settle);
          };
          requestAnimationFrame(settle);
        };
        requestAnimationFrame(step);
      }),
    [view, rows] as const,
  );
}

test('the history filter and the whole-log dialog work from the keyboard alone', async ({ page, agent, sim }) => {
  await sim.waitFor(() => sim.connected, 15_000, 'the agent online');
  sim.dispatch({ task_id: 'kb-log', command: 'seq 1 3000 | sed "s/^/entry /"' });
  await sim.waitFor(() => sim.result('kb-log'), 15_000, 'kb-log done');
  await openOnline(page, agent.url);
  await selectTask(page, 'kb-log');

  // the status filter and the search, focused and typed into
  await page.getByTestId('task-status-filter').focus();
  await page.keyboard.press('ArrowDown'); // "running"
  await expect(page.getByTestId('task-row-kb-log')).toHaveCount(0);
  await page.keyboard.press('ArrowUp'); // all statuses again
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('task-search')).toBeFocused();
  await page.keyboard.type('kb-');
  await expect(page.getByTestId('task-row-kb-log')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('task-search')).toHaveValue('');

  // Enter opens the dialog; its search runs on Enter; Tab reaches a hit, Enter jumps there; Escape closes
  await page.getByTestId('open-full-log').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('full-log')).toBeVisible();
  await page.getByTestId('full-log-search').focus();
  await page.keyboard.type('entry 2999');
  await page.keyboard.press('Enter');
  await expect(page.locator('.full-log-target .tx')).toHaveText('entry 2999');
  await page.keyboard.press('Tab'); // the Search button
  await page.keyboard.press('Tab'); // the first hit
  await expect(page.getByTestId('full-log-hits').getByRole('button').first()).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('full-log')).toHaveCount(0);
});
