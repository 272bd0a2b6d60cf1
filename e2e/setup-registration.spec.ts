/**
 * The desktop first-run form takes a registration token as well as an agent token (issue 14): the
 * window asks the host to register (`registrationToken`), never sends it as the agent token, and the
 * form stays at 0 axe violations in en and zh. What the host does with it: agent-host.test.ts.
 */
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { emulateDesktopHost } from './fixtures/desktop-host.js';
import { SCREENSHOTS, expect, test } from './fixtures/agent.js';

for (const lang of ['en', 'zh'] as const) {
  test.describe(lang, () => {
    test.use({ locale: lang === 'zh' ? 'zh-CN' : 'en-US' });
    test('first run with a registration token', async ({ page, agent, sim }) => {
      const host = await emulateDesktopHost(page, { unconfigured: true });
      await page.goto(agent.url);
      const form = page.getByTestId('setup-form');
      await expect(form).toBeVisible({ timeout: 15_000 });
      await form
        .getByRole('radio', { name: lang === 'zh' ? '注册令牌（用于新机器）' : 'A registration token' })
        .check();
      await form.getByLabel(lang === 'zh' ? '注册令牌' : 'Registration token', { exact: true }).fill(' reg-typed-1 ');
      await form.getByRole('textbox', { name: lang === 'zh' ? '服务器地址' : 'Server URL' }).fill(sim.url);
      const { violations } = await new AxeBuilder({ page }).analyze();
      expect(violations.map((v) => v.id)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS, `setup-registration-${lang}.png`), fullPage: true });
      await form.locator('button[type="submit"]').click();
      await expect.poll(() => host.calls.length).toBe(1);
      const patch = host.calls[0]!.args[0] as Record<string, unknown>;
      expect(patch).toMatchObject({ serverUrl: sim.url, registrationToken: 'reg-typed-1' });
      expect(patch).not.toHaveProperty('token');
    });
  });
}
