/**
 * Disk written by the agent per MB of task output (`node --import tsx e2e/bench/disk-per-mb.ts`,
 * after `npm run build`): /proc/<agent>/io write_bytes over one 50 MB task, online with ack,
 * online without ack, and with the platform down during the task (then back). write_bytes counts
 * every byte the agent dirtied in the page cache: the task's own log file (1 MB per MB, by design),
 * the outbox file, the journal and agent.log; cancelled_write_bytes is what truncation took back
 * before it reached the disk.
 */
import { readFileSync } from 'node:fs';
import { PlatformSimulator } from '../platform/simulator.js';
import { cleanupAll, startAgent, TOKEN } from './lib/agent.js';

const OUTPUT_MB = 50;
const COMMAND = `yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678 | head -c ${OUTPUT_MB * 1e6}`;

function io(pid: number): { write: number; cancelled: number } {
  const text = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)![1]);
  return { write: field('write_bytes'), cancelled: field('cancelled_write_bytes') };
}

async function measure(label: string, ack: 'auto' | false, offline: boolean): Promise<string> {
  const sim = new PlatformSimulator({ tokens: [TOKEN], ack, keepLogText: false });
  await sim.start();
  const agent = await startAgent(sim, { label });
  try {
    const before = io(agent.pid);
    const id = `disk-${label}`;
    sim.dispatch({ task_id: id, command: offline ? `sleep 0.3; ${COMMAND}` : COMMAND });
    if (offline) {
      await sim.stop();
      await new Promise((r) => setTimeout(r, 8_000)); // the task runs to its end while nobody listens
      await sim.start();
    }
    await sim.waitFor(() => sim.result(id), 120_000, `the result of ${id}`);
    await sim.waitFor(() => sim.lineCount(id) >= OUTPUT_MB * 1e4, 60_000, 'every line');
    const after = io(agent.pid);
    const written = (after.write - before.write) / 1e6;
    const cancelled = (after.cancelled - before.cancelled) / 1e6;
    return `${label}: ${written.toFixed(1)} MB written (${cancelled.toFixed(1)} MB of it cancelled by truncation) for ${OUTPUT_MB} MB of output = ${(written / OUTPUT_MB).toFixed(2)} MB/MB, ${((written - cancelled) / OUTPUT_MB).toFixed(2)} MB/MB net`;
  } finally {
    await agent.stop();
    await sim.stop();
  }
}

try {
  for (const [label, ack, offline] of [
    ['online-ack', 'auto', false],
    ['online-no-ack', false, false],
    ['offline-then-back', 'auto', true],
  ] as const) {
    console.log(await measure(label, ack, offline));
  }
} finally {
  cleanupAll();
}
