/** /metrics series of monitor.scripts and monitor.alerts, read from the scrape's snapshot. */
import { Gauge, type Registry } from 'prom-client';
import type { AgentSnapshot } from '../api.js';

export function registerMonitorGauges(registers: Registry[], snapshot: () => AgentSnapshot): void {
  new Gauge({
    name: 'ats_agent_custom_metric',
    help: 'Latest value of each monitor.scripts entry that is a number (absent while unknown or text).',
    labelNames: ['name'],
    registers,
    collect() {
      this.reset();
      for (const [name, value] of Object.entries(snapshot().system?.custom ?? {}))
        if (typeof value === 'number') this.set({ name }, value);
    },
  });
  new Gauge({
    name: 'ats_agent_alert_firing',
    help: 'Each monitor.alerts entry: 1 while firing, else 0.',
    labelNames: ['name', 'metric'],
    registers,
    collect() {
      this.reset();
      for (const a of snapshot().alerts ?? [])
        this.set({ name: a.name, metric: a.metric }, a.state === 'firing' ? 1 : 0);
    },
  });
}
