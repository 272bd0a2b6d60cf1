/**
 * The window without a mouse: Tab reaches every control, and each is operated from the keyboard
 * (pick and follow a task, search its log, read a chart, cancel, switch language, go to settings,
 * change one and save, open the logs folder). The real agent streams the task; the desktop host's
 * answers make the settings editable (e2e/fixtures/desktop-host.ts).
 */
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { SCREENSHOTS, expect, test } from './fixtures/agent.js';
import { emulateDesktopHost } from './fixtures/desktop-host.js';

const isFocused = (l: Locator) => l.evaluate((el) => el === document.activeElement);

/** Presses Tab (or Shift+Tab) until `target` has the focus (at most `max` times); fails if it never gets it. */
async function tabTo(page: Page, target: Locator, { back = false, max = 120 } = {}): Promise<void> {
  await expect(target).toBeVisible();
  for (let i = 0; i < max; i++) {
    if (await isFocused(target)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`Tab never reached ${target.toString()} in ${max} presses`);
}

test('every control is reached with Tab and works from the keyboard', async ({ page, agent, sim }) => {
  test.setTimeout(90_000);
  const host = await emulateDesktopHost(page);
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
  sim.dispatch({ task_id: 'kbd-done', command: 'echo finished' });
  await expect(page.getByTestId('task-row-kbd-done')).toHaveAttribute('data-phase', 'success', { timeout: 15_000 });
  sim.dispatch({ task_id: 'kbd-long', command: 'for i in $(seq 1 300); do echo line $i; sleep 0.1; done' });
  await expect(page.getByTestId('task-row-kbd-long')).toHaveAttribute('data-phase', 'running');
  await expect(page.getByTestId('settings').getByRole('button', { name: 'Save' })).toBeVisible();
  await expect(page.getByTestId('chart-cpu')).not.toHaveAttribute('data-points', '0');

  // one full round of Tab from the top visits every visible control
  const controls = await page.evaluate(() => {
    const all = [
      ...document.querySelectorAll<HTMLElement>(
        'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex="0"]',
      ),
    ].filter((el) => el.checkVisibility());
    all.forEach((el, i) => (el.dataset.kbd = String(i)));
    return all.map((el) => `${el.tagName.toLowerCase()} ${el.getAttribute('aria-label') ?? el.textContent?.trim()}`);
  });
  expect(controls.length).toBeGreaterThan(20);
  await page.locator('body').focus();
  const visited = new Set<string>();
  for (let i = 0; i < controls.length + 10; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.kbd);
    if (id !== undefined) visited.add(id);
  }
  const missed = controls.filter((_, i) => !visited.has(String(i)));
  expect(missed, 'controls Tab never reached').toEqual([]);

  // pick the finished task, then the running one, with Enter and Space on their command buttons
  const log = page.getByTestId('task-log');
  await page.locator('body').focus();
  await tabTo(page, page.getByTestId('task-row-kbd-done').getByRole('button', { name: 'echo finished' }));
  await page.keyboard.press('Enter');
  await expect(log).toHaveAttribute('data-task-id', 'kbd-done');
  await expect(log.getByTestId('log-line').first()).toHaveText(/finished/);
  await tabTo(page, page.getByTestId('task-row-kbd-long').getByRole('button', { name: /seq 1 300/ }));
  await page.keyboard.press('Space');
  await expect(log).toHaveAttribute('data-task-id', 'kbd-long');

  // the cancel button of the running task (it comes before the log in the page)
  await tabTo(page, page.getByTestId('cancel-kbd-long'));
  const cancelButton = page.getByTestId('cancel-kbd-long');

  // follow: off and on again from the keyboard
  const follow = log.getByRole('button', { name: 'Follow', exact: true });
  await tabTo(page, follow);
  await expect(follow).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('Enter');
  await expect(follow).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('Space');
  await expect(follow).toHaveAttribute('aria-pressed', 'true');

  // search the log: type, Enter jumps to the next match
  const search = log.getByRole('searchbox');
  await tabTo(page, search, { back: true, max: 6 });
  await page.keyboard.type('line 1');
  await expect(log.locator('.match-count')).toHaveText(/^1 of \d+$/, { timeout: 5_000 });
  // the whole query is applied (a pause while typing applies a part of it first)
  await expect(log.locator('mark.hit-current')).toHaveText(/^line 1$/i);
  await page.keyboard.press('Enter');
  await expect(log.locator('.match-count')).toHaveText(/^2 of \d+$/);
  await expect(log.locator('mark.hit-current')).toHaveCount(1);
  await page.keyboard.press('Escape');
  await expect(search).toHaveValue('');

  // a chart: focus shows the latest sample's time and value, the arrow keys move between samples
  const chart = page.getByTestId('chart-cpu-frame');
  await tabTo(page, chart);
  const tip = page.getByTestId('chart-cpu-tip');
  await expect(tip).toHaveText(/^\d{2}:\d{2}:\d{2} · \d+(\.\d)?%$/);
  await expect
    .poll(async () => Number(await page.getByTestId('chart-cpu').getAttribute('data-points')))
    .toBeGreaterThan(1);
  const latest = await tip.textContent();
  await page.keyboard.press('Home');
  await expect(tip).not.toHaveText(latest!);
  const firstSample = await tip.textContent();
  await page.keyboard.press('ArrowRight');
  await expect(tip).not.toHaveText(firstSample!);
  await page.keyboard.press('End');
  await page.keyboard.press('Escape');
  await expect(tip).toHaveText('');

  // cancel the running task
  await tabTo(page, cancelButton);
  await page.keyboard.press('Enter');
  expect((await sim.waitFor(() => sim.result('kbd-long'), 15_000, 'the cancelled result')).status).toBe('cancelled');
  await expect(page.getByTestId('task-row-kbd-long')).toHaveAttribute('data-phase', 'cancelled');

  // the language: arrow keys on the focused select
  const language = page.getByTestId('language');
  await tabTo(page, language);
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('heading', { name: '任务日志', exact: true })).toBeVisible();
  await page.keyboard.press('ArrowUp');
  await expect(page.getByRole('heading', { name: 'Task log', exact: true })).toBeVisible();

  // the Settings link moves the keyboard there: the next Tab is in the settings form
  await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Settings' }));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#settings$/);
  await page.keyboard.press('Tab');
  await expect
    .poll(() => page.evaluate(() => !!document.activeElement?.closest('#settings')), {
      message: 'focus is in the settings after following the link',
    })
    .toBe(true);

  // change one setting and save, from the keyboard
  const atLogin = page.getByLabel('Start at login');
  await tabTo(page, atLogin);
  await page.keyboard.press('Space');
  await expect(atLogin).toBeChecked();
  await tabTo(page, page.getByRole('button', { name: 'Save' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('settings').getByRole('status')).toHaveText('Saved.');
  expect(host.calls).toContainEqual({ method: 'updateSettings', args: [{ startAtLogin: true }] });
  // the form reloads what was saved
  await expect(atLogin).toBeChecked();

  // the tray menu's folder items, from the window
  await tabTo(page, page.getByRole('button', { name: 'Open log folder' }));
  await page.keyboard.press('Enter');
  await tabTo(page, page.getByRole('button', { name: 'Open work directory' }));
  await page.keyboard.press('Enter');
  await expect
    .poll(() => host.calls.filter((c) => c.method === 'openPath').map((c) => c.args[0]))
    .toEqual(['logs', 'work-dir']);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'keyboard-settings.png') });
});

test('a chart shows the time and value under the mouse', async ({ page, agent }) => {
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
  await expect
    .poll(async () => Number(await page.getByTestId('chart-memory').getAttribute('data-points')))
    .toBeGreaterThan(1);
  // the first minute: dots from the left and a note, not a lone point at the right edge
  await expect(page.getByTestId('chart-memory-collecting')).toHaveText(/^First minute: \d+ samples so far$/);
  const frame = page.getByTestId('chart-memory-frame');
  const box = (await frame.boundingBox())!;
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  const tip = page.getByTestId('chart-memory-tip');
  await expect(tip).toHaveText(/^\d{2}:\d{2}:\d{2} · \d+(\.\d)?%$/);
  await page.screenshot({
    path: path.join(SCREENSHOTS, 'chart-hover.png'),
    clip: { x: box.x - 20, y: box.y - 60, width: box.width + 40, height: box.height + 100 },
  });
  await page.mouse.move(box.x + box.width + 40, box.y + box.height + 40);
  await expect(tip).toHaveText('');
});
