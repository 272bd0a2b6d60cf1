/**
 * axe-core over every screen of the UI, in both languages and both colour schemes: no serious or
 * critical violation (WCAG A/AA and axe's best practices, all rules axe runs by default). The
 * dashboard is the real built agent's with a task streaming coloured output; the desktop-only
 * screens (editable settings, first-run setup) are the same renderer with the desktop host's
 * answers (e2e/fixtures/desktop-host.ts); access denied is a page whose agent was replaced.
 * Each screen is saved under e2e/screenshots/a11y-<screen>-<lang>-<scheme>.png.
 */
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { SCREENSHOTS, expect, launchAgent, test } from './fixtures/agent.js';
import { emulateDesktopHost } from './fixtures/desktop-host.js';

/** ~40 s of coloured output on both streams, a colour that spans lines, a PASS badge */
export const COLOURED_TASK =
  'for i in $(seq 1 200); do ' +
  "printf '\\033[32mok\\033[0m step %s \\033[33mwarn\\033[0m \\033[36mcyan\\033[0m \\033[1;34mbold\\033[0m \\033[30;42m PASS \\033[0m\\n' $i; " +
  "printf '\\033[35mmagenta block\\nstill magenta\\033[0m back to plain\\n'; " +
  "printf '\\033[31mFAIL\\033[0m %s \\033[90mdim\\033[0m\\n' $i >&2; sleep 0.2; done";

interface Found {
  serious: string[];
  total: number;
}

/** `only`: the parts to check (a screen that differs from one already checked only there) */
async function scan(page: Page, only?: string[]): Promise<Found> {
  let axe = new AxeBuilder({ page });
  for (const selector of only ?? []) axe = axe.include(selector);
  const results = await axe.analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) =>
      v.nodes.map((n) => `${v.id} ${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ') ?? ''}`),
    );
  return { serious, total: results.violations.reduce((n, v) => n + v.nodes.length, 0) };
}

for (const scheme of ['light', 'dark'] as const) {
  for (const lang of ['en', 'zh'] as const) {
    test.describe(`${lang}, ${scheme}`, () => {
      // the language comes from the browser's, as for a first visit
      test.use({ colorScheme: scheme, locale: lang === 'zh' ? 'zh-CN' : 'en-US' });

      test('no serious or critical axe violation on any screen', async ({ page, context, agent, sim, tmp }) => {
        const found: Record<string, Found> = {};
        const check = async (p: Page, screen: string, only?: string[]) => {
          await p.screenshot({ path: path.join(SCREENSHOTS, `a11y-${screen}-${lang}-${scheme}.png`), fullPage: true });
          found[screen] = await scan(p, only);
        };
        const online = async (p: Page, url: string) => {
          await p.goto(url);
          await expect(p.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
          await expect(p.locator('html')).toHaveAttribute('lang', lang === 'zh' ? 'zh-CN' : 'en');
        };

        // nothing run yet: each panel's empty state
        await online(page, agent.url);
        await expect(page.getByTestId('task-log-empty')).toHaveText(
          lang === 'zh' ? /^还没有运行过任务/ : /^No task has run yet/,
        );
        await check(page, 'empty');

        const taskId = `a11y-${lang}-${scheme}`;
        sim.dispatch({ task_id: taskId, command: COLOURED_TASK });
        await expect(page.getByTestId('task-log')).toHaveAttribute('data-task-id', taskId);
        await expect.poll(() => page.getByTestId('log-line').count(), { timeout: 10_000 }).toBeGreaterThan(12);
        await expect(page.getByTestId('chart-cpu')).not.toHaveAttribute('data-points', '0');
        await check(page, 'dashboard');

        // the whole-log dialog over the streaming task, with a search done
        await page.getByTestId('open-full-log').click();
        await expect(page.locator('[data-testid=full-log-line][data-line="0"] .tx')).not.toHaveText('…');
        await page.getByTestId('full-log-search').fill('magenta');
        await page.getByTestId('full-log-search').press('Enter');
        await expect(page.getByTestId('full-log-hits').getByRole('button').first()).toBeVisible();
        await check(page, 'full-log', ['.full-log']);
        await page.getByTestId('full-log-close').click();
        await expect(page.getByTestId('full-log')).toHaveCount(0);

        const desktop = await context.newPage();
        await emulateDesktopHost(desktop);
        await online(desktop, agent.url);
        await expect(desktop.getByTestId('settings').getByRole('button', { name: /save|保存/i })).toBeVisible();
        // the desktop dashboard differs from the one just checked in its header and settings
        await check(desktop, 'settings', ['.topbar', '#settings']);
        await desktop.close();

        const setup = await context.newPage();
        await emulateDesktopHost(setup, { unconfigured: true });
        await setup.goto(agent.url);
        await expect(setup.getByTestId('setup-form')).toBeVisible({ timeout: 15_000 });
        await check(setup, 'setup');
        await setup.close();

        // the agent is replaced on the same port with a new key: the open page is refused
        const port = Number(new URL(agent.url).port);
        await agent.stop();
        const next = await launchAgent(sim, tmp, { monitor: { interval: 1 } }, port);
        try {
          await expect(page.getByTestId('access-denied')).toBeVisible({ timeout: 20_000 });
          await check(page, 'denied');
          // the page the agent serves for a wrong key
          expect((await page.goto(`${next.origin}/?key=wrong`))?.status()).toBe(401);
          await check(page, 'denied-page');
        } finally {
          await next.stop();
        }

        for (const [screen, f] of Object.entries(found))
          console.log(`axe ${lang} ${scheme} ${screen}: ${f.serious.length} serious/critical, ${f.total} in all`);
        expect(Object.fromEntries(Object.entries(found).map(([s, f]) => [s, f.serious]))).toEqual(
          Object.fromEntries(Object.keys(found).map((s) => [s, []])),
        );
      });
    });
  }
}
