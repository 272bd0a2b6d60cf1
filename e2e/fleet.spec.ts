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
