/**
 * DEV ONLY: screenshots of the built UI (dist/) with the fake agent, in English and Chinese, wide
 * and narrow, plus the setup form, the access-denied screen and a reconnecting agent.
 *   npx vite build && node --import tsx renderer/dev/screenshot.ts [outDir=/tmp/ui-shots]
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launch, openPage, serveDist, type PageOptions } from './harness.js';

const out = process.argv[2] ?? '/tmp/ui-shots';

interface Shot extends PageOptions {
  name: string;
  query?: string;
  full?: boolean;
  act?(page: Page): Promise<void>;
}

const settle = (page: Page) => page.waitForTimeout(700);

const shots: Shot[] = [
  { name: 'en-wide', width: 1440, height: 1000, lang: 'en', fake: { tokenStorage: 'plaintext' }, full: true },
  { name: 'zh-wide', width: 1440, height: 1000, lang: 'zh', fake: { tokenStorage: 'plaintext' }, full: true },
  { name: 'en-narrow', width: 900, height: 1000, lang: 'en', fake: {}, full: true },
  { name: 'zh-narrow', width: 900, height: 1000, lang: 'zh', fake: {}, full: true },
  {
    name: 'switch-en-to-zh',
    width: 900,
    height: 700,
    lang: 'en',
    fake: { live: false },
    act: async (page) => {
      await page.getByTestId('language').selectOption('zh');
      await page.getByRole('heading', { name: '任务日志' }).waitFor();
    },
  },
  { name: 'en-xwide', width: 1680, height: 1050, lang: 'en', fake: {}, full: false },
  {
    name: 'en-search',
    width: 1280,
    height: 900,
    lang: 'en',
    fake: { live: false },
    act: async (page) => {
      await page.getByTestId('task-row-t-1042').click();
      await page.getByRole('searchbox').fill('failed');
      await page.waitForTimeout(400);
      await page.locator('#task-log').scrollIntoViewIfNeeded();
    },
  },
  {
    name: 'en-reconnecting-headless',
    width: 1280,
    height: 900,
    lang: 'en',
    fake: { phase: 'reconnecting', mode: 'headless', editable: false, tokenStorage: 'file', live: false, runningAsRoot: true },
  },
  { name: 'en-auth-failed-dark', width: 1280, height: 900, lang: 'en', dark: true, fake: { phase: 'auth_failed', live: false } },
  {
    name: 'en-setup',
    width: 900,
    height: 760,
    lang: 'en',
    fake: { phase: 'unconfigured', live: false },
    act: async (page) => {
      await page.getByLabel('Server URL').fill('wss://ats.example.com/ws/agent');
      await page.getByLabel('Token').fill('bad-token');
      await page.getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('alert').waitFor();
    },
  },
  { name: 'zh-setup', width: 900, height: 760, lang: 'zh', fake: { phase: 'unconfigured', live: false } },
  { name: 'en-denied', width: 900, height: 700, lang: 'en', query: '?key=wrong' },
  { name: 'zh-denied', width: 900, height: 700, lang: 'zh' },
];

const server = await serveDist();
const browser = await launch();
await mkdir(out, { recursive: true });
try {
  for (const s of shots) {
    const { context, page, problems } = await openPage(browser, server.url, s, s.query ?? '');
    await settle(page);
    if (s.act) await s.act(page);
    await settle(page);
    const file = path.join(out, `${s.name}.png`);
    await page.screenshot({ path: file, fullPage: s.full ?? false });
    console.log(`${file}${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
