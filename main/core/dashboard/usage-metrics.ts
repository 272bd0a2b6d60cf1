/**
 * task_result.usage on /metrics: one histogram per figure, by final status, so that a fleet's
 * dashboards see which tasks are heavy (and by `source`, whether the figures are exact).
 */
import { Histogram, type Registry } from 'prom-client';
import type { TaskUsage } from '../api.js';

const MB = 1024 * 1024;

export type UsageObserver = (status: string, usage: TaskUsage) => void;

export function registerUsageHistograms(registers: Registry[]): UsageObserver {
  const labelNames = ['status', 'source'];
  const cpu = new Histogram({
    name: 'ats_agent_task_cpu_seconds',
    help: 'CPU time of finished tasks, their whole process tree (task_result.usage.cpu_seconds).',
    labelNames,
    buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400],
    registers,
  });
  const rss = new Histogram({
    name: 'ats_agent_task_peak_rss_bytes',
    help: "Peak resident memory of finished tasks' process trees (task_result.usage.peak_rss_mb).",
    labelNames,
    buckets: [16, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384].map((mb) => mb * MB),
    registers,
  });
  const ioBuckets = [1, 10, 100, 1024, 10240, 102400].map((mb) => mb * MB);
  const read = new Histogram({
    name: 'ats_agent_task_read_bytes',
    help: "Bytes finished tasks' process trees read from storage (task_result.usage.read_mb).",
    labelNames,
    buckets: ioBuckets,
    registers,
  });
  const write = new Histogram({
    name: 'ats_agent_task_write_bytes',
    help: "Bytes finished tasks' process trees wrote to storage (task_result.usage.write_mb).",
    labelNames,
    buckets: ioBuckets,
    registers,
  });
  return (status, usage) => {
    const labels = { status, source: usage.source };
    cpu.observe(labels, usage.cpu_seconds);
    rss.observe(labels, usage.peak_rss_mb * MB);
    read.observe(labels, usage.read_mb * MB);
    write.observe(labels, usage.write_mb * MB);
  };
}
