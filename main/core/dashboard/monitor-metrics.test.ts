import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { AgentSnapshot } from '../api.js';
import { registerMonitorGauges } from './monitor-metrics.js';

describe('monitor gauges', () => {
  it('exports script values (numbers only) and alert states', async () => {
    const registry = new Registry();
    let snap = {
      system: { custom: { queue: 7, status: 'degraded', gone: 'unknown' } },
      alerts: [
        { name: 'deep', metric: 'custom.queue', threshold: 5, state: 'firing', value: 7, since: 'x' },
        { name: 'hot', metric: 'cpu.usage_percent', threshold: 90, state: 'ok', value: null, since: null },
      ],
    } as unknown as AgentSnapshot;
    registerMonitorGauges([registry], () => snap);
    const text = await registry.metrics();
    expect(text).toContain('ats_agent_custom_metric{name="queue"} 7');
    expect(text).not.toContain('name="status"');
    expect(text).not.toContain('name="gone"');
    expect(text).toContain('ats_agent_alert_firing{name="deep",metric="custom.queue"} 1');
    expect(text).toContain('ats_agent_alert_firing{name="hot",metric="cpu.usage_percent"} 0');
    snap = { system: null, alerts: [] } as unknown as AgentSnapshot;
    expect(await registry.metrics()).not.toContain('name="queue"');
  });
});
