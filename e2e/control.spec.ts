/**
 * Pause / Resume and Quit in the window (issue 14): the buttons make the same AgentApi calls as the
 * tray, the state shown is the agent's (a pause from the platform shows too), and the paused and
 * draining screens stay at 0 axe violations, in en and zh.
 */
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { SCREENSHOTS, expect, test } from './fixtures/agent.js';

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

async function noAxeViolations(page: Page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

for (const lang of ['en', 'zh'] as const) {
  test.describe(lang, () => {
    test.use({ locale: lang === 'zh' ? 'zh-CN' : 'en-US' });
    const text =
      lang === 'zh'
        ? {
            pause: '暂停',
            resume: '恢复',
            paused: /已暂停/,
            heldNote: /代理已暂停/,
            draining: /正在排空/,
            stop: '停止 Agent',
            confirm: '再次点击以停止',
          }
        : {
            pause: 'Pause',
            resume: 'Resume',
            paused: /Paused/,
            heldNote: /the agent is paused/,
            draining: /Draining/,
            stop: 'Stop agent',
            confirm: 'Click again to stop',
          };

    test('Pause holds a task the platform sends; Resume runs it; a pause from the platform shows too', async ({
      page,
      agent,
      sim,
    }) => {
      await page.goto(agent.url);
      await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
      await page.getByRole('button', { name: text.pause, exact: true }).click();
      await expect(page.getByTestId('control-state')).toHaveText(text.paused);
      await sim.waitFor(() => sim.heartbeats.at(-1)?.frame.agent.paused === true, 10_000, 'a paused heartbeat');
      sim.dispatch({ task_id: `held-${lang}`, command: 'echo held' });
      await expect(page.getByText(`held-${lang}`).first()).toBeVisible();
      // why it waits: the pause, not max_concurrent (nothing runs)
      await expect(page.getByTestId(`queue-held-${lang}`)).toHaveText(text.heldNote);
      await page.waitForTimeout(1000);
      expect(sim.result(`held-${lang}`)).toBeUndefined();
      await noAxeViolations(page);
      await shot(page, `control-paused-${lang}`);

      await page.getByRole('button', { name: text.resume, exact: true }).click();
      await sim.waitFor(() => sim.result(`held-${lang}`), 10_000, 'the held task to run');
      await expect(page.getByTestId('control-state')).toHaveCount(0);

      sim.pause();
      await expect(page.getByTestId('control-state')).toHaveText(text.paused);
      sim.resume();
      await expect(page.getByTestId('control-state')).toHaveCount(0);
    });

    test('Stop asks for a second click, then the agent stops gracefully (exit 0, close 1000)', async ({
      page,
      agent,
      sim,
    }) => {
      await page.goto(agent.url);
      await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
      const closed = new Promise<number>((resolve) => sim.once('disconnect', (code: number) => resolve(code)));
      await page.getByRole('button', { name: text.stop, exact: true }).click();
      await expect(page.getByRole('button', { name: text.confirm })).toBeVisible();
      await noAxeViolations(page);
      await shot(page, `control-quit-confirm-${lang}`);
      expect(agent.child.exitCode).toBeNull();
      await page.getByRole('button', { name: text.confirm }).click();
      expect(await closed).toBe(1000);
      await expect.poll(() => agent.child.exitCode, { timeout: 15_000 }).toBe(0);
    });
  });
}

test('draining shows in the window; Pause is disabled while it lasts', async ({ page, agent, sim }) => {
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
  sim.dispatch({ task_id: 'long-drain', command: 'echo started; sleep 4' });
  await sim.waitFor(() => sim.logs('long-drain').length > 0, 10_000, 'the task to start');
  sim.drain();
  await expect(page.getByTestId('control-state')).toHaveText(/Draining/);
  await expect(page.getByRole('button', { name: 'Pause', exact: true })).toBeDisabled();
  await noAxeViolations(page);
  await shot(page, 'control-draining-en');
  await expect.poll(() => agent.child.exitCode, { timeout: 20_000 }).toBe(0);
});
