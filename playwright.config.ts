/**
 * End-to-end: the REAL built headless agent (`dist-electron/cli.js --dashboard 0`) against the
 * platform simulator, its dashboard opened in the system Chromium. `npm run build` first.
 * ATS_AGENT_CMD=/path/to/ats-agent tests an installed agent instead (npm-installed, the single file).
 */
import { defineConfig } from '@playwright/test';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  // one agent, one browser at a time: the machine has two cores and the specs watch timing
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: 'test-results',
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
    // the specs save their own screenshots under e2e/screenshots/; these are for failures
    screenshot: 'only-on-failure',
    // traces on demand: `npx playwright test --trace on`
    trace: 'off',
  },
});
