/**
 * Fleet operations in the UI (issue 14): tags in the connection panel, script values and load in the
 * metrics panel, a banner while an alert fires, and the same on /metrics.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { SCREENSHOTS, expect, test } from './fixtures/agent.js';

const valueDir = mkdtempSync(path.join(os.tmpdir(), 'ats-e2e-fleet-'));
const valueFile = path.join(valueDir, 'queue');
writeFileSync(valueFile, '42\n');
test.afterAll(() => rmSync(valueDir, { recursive: true, force: true }));

test.use({
  agentConfig: {
    agent: { tags: ['gpu', 'zone=eu-1'] },
    monitor: {
      interval: 1,
      scripts: [
        { name: 'queue', command: `cat ${valueFile}`, interval: 1, timeout: 2 },
        { name: 'hang', command: 'sleep 600', interval: 1, timeout: 1 },
        { name: 'depth', command: 'echo 7', interval: 1, timeout: 2 },
      ],
      alerts: [{ name: 'deep_queue', metric: 'custom.queue', above: 10, for: 1 }],
    },
  },
});

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

test('shows tags, script values and a banner while an alert fires; /metrics has the gauges', async ({
  page,
  agent,
  request,
}) => {
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
  const tags = page.getByTestId('agent-tags');
  for (const tag of ['gpu', 'zone=eu-1', `os:${process.platform}`, `arch:${process.arch}`])
    await expect(tags).toContainText(tag);
  await expect(page.getByTestId('custom-queue')).toContainText('42', { timeout: 15_000 });
  await expect(page.getByTestId('custom-hang')).toContainText(/unknown/i);
  await expect(page.getByTestId('load-average')).toHaveText(/^\d+(\.\d+)? \/ \d+(\.\d+)? \/ \d+(\.\d+)?$/);
  const banner = page.getByTestId('alert-banner');
  await expect(banner).toContainText('deep_queue', { timeout: 15_000 });
  await expect(banner).toContainText('custom.queue');
  const metrics = await (await request.get(`${agent.origin}/metrics`)).text();
  expect(metrics).toContain('ats_agent_custom_metric{name="queue"} 42');
  expect(metrics).toContain('ats_agent_alert_firing{name="deep_queue",metric="custom.queue"} 1');
  await shot(page, 'fleet-alert');

  writeFileSync(valueFile, '1\n');
  await expect(banner).toHaveCount(0, { timeout: 15_000 });
  expect(await (await request.get(`${agent.origin}/metrics`)).text()).toContain(
    'ats_agent_alert_firing{name="deep_queue",metric="custom.queue"} 0',
  );
});

test('charts load, network and disk I/O rates and script values, each with a readout on hover', async ({
  page,
  agent,
}) => {
  await page.goto(agent.url);
  await expect(page.getByTestId('connection-phase')).toHaveAttribute('data-phase', 'online', { timeout: 15_000 });
  const readouts: Record<string, RegExp> = {
    load: /^\d{2}:\d{2}:\d{2} · \d+\.\d{2}$/,
    network: /^\d{2}:\d{2}:\d{2} · \d+(\.\d)? (KB|MB)\/s$/,
    diskIo: /^\d{2}:\d{2}:\d{2} · \d+(\.\d)? (KB|MB)\/s$/,
    'custom-depth': /^\d{2}:\d{2}:\d{2} · 7$/,
  };
  for (const [key, readout] of Object.entries(readouts)) {
    await expect
      .poll(async () => Number(await page.getByTestId(`chart-${key}`).getAttribute('data-points')), {
        timeout: 15_000,
      })
      .toBeGreaterThan(1);
    await page.getByTestId(`chart-${key}-frame`).hover();
    await expect(page.getByTestId(`chart-${key}-tip`)).toHaveText(readout);
  }
  // a script that never answers has its chart, empty, its value unknown, saying so
  await expect(page.getByTestId('chart-custom-hang')).toHaveAttribute('data-points', '0');
  const hang = page.locator('.metric-custom', { has: page.getByTestId('chart-custom-hang') });
  await expect(hang).toContainText(/unknown/i);
  await expect(hang).toContainText('No value in the last 10 minutes');
  // the axis reads in the series' unit: the load's top is at least the core count, rates in KB/s or MB/s
  await expect(page.locator('.metric-network .axis-top')).toHaveText(/^\d+(\.\d)? (KB|MB)\/s$/);
  expect(Number(await page.locator('.metric-load .axis-top').textContent())).toBeGreaterThanOrEqual(os.cpus().length);

  await page.getByTestId('chart-custom-depth-frame').hover();
  const panel = page.locator('#metrics');
  await panel.screenshot({ path: path.join(SCREENSHOTS, 'fleet-charts-en-light.png') });
  await page.getByTestId('language').selectOption('zh');
  await expect(page.locator('.metric-load .chart-name')).toHaveText('负载（1 分钟）');
  await page.getByTestId('chart-load-frame').hover();
  await expect(page.getByTestId('chart-load-tip')).toHaveText(readouts.load!);
  await panel.screenshot({ path: path.join(SCREENSHOTS, 'fleet-charts-zh-light.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByTestId('chart-network-frame').hover();
  await panel.screenshot({ path: path.join(SCREENSHOTS, 'fleet-charts-zh-dark.png') });
  await page.getByTestId('language').selectOption('en');
  await panel.screenshot({ path: path.join(SCREENSHOTS, 'fleet-charts-en-dark.png') });
});
