/** A task that writes as fast as it can: the agent's memory stays bounded, heartbeats stay on time, nothing is lost. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { rssMb } from '../lib/proc.js';
import { describe, expect, it } from 'vitest';
import { connectedAgent, sleep, startPlatform, waitForResult } from './harness.js';

/** The bound this test holds the agent to while `yes` floods it (bare Node is ~40 MB here). */
const RSS_BOUND_MB = 256;
const FLOOD_SECONDS = Number(process.env.FLOOD_SECONDS ?? 12);

function countNewlines(file: string): number {
  const data = readFileSync(file);
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n += 1;
  return n;
}

describe('output flood', () => {
  it(`keeps RSS under ${RSS_BOUND_MB} MB and heartbeats within ±1 s for ${FLOOD_SECONDS} s of \`yes\``, async () => {
    const sim = await startPlatform({ keepLogText: false });
    const agent = await connectedAgent(sim, { config: { monitor: { interval: 1 } } });
    const pid = agent.child.pid!;
    sim.dispatch({
      task_id: 'flood',
      command: `timeout ${FLOOD_SECONDS} yes ats-flood-line-0123456789; true`,
      timeout: FLOOD_SECONDS + 60,
    });
    const start = Date.now();
    let peak = 0;
    while (Date.now() - start < FLOOD_SECONDS * 1000) {
      peak = Math.max(peak, rssMb(pid));
      await sleep(200);
    }
    const result = await waitForResult(sim, 'flood', 60_000);
    expect(result.status, JSON.stringify({ ...result, output: result.output.slice(-200) })).toBe('success');
    const during = sim.heartbeats.filter((h) => h.at > start + 1_000 && h.at < start + FLOOD_SECONDS * 1000);
    const gaps = during.slice(1).map((h, i) => h.at - during[i]!.at);
    expect(during.length).toBeGreaterThanOrEqual(FLOOD_SECONDS - 3);
    for (const gap of gaps) expect(Math.abs(gap - 1_000), `heartbeat gap ${gap} ms`).toBeLessThanOrEqual(1_000);
    expect(peak).toBeLessThan(RSS_BOUND_MB);
    const logFile = path.join(agent.workDir, 'logs', 'tasks', 'flood.log');
    // `timeout` may cut the last line short: it counts as a line without its newline
    const linesInFile = countNewlines(logFile) + (readFileSync(logFile).at(-1) === 10 ? 0 : 1);
    expect(linesInFile).toBeGreaterThan(1_000_000);
    expect(sim.lineCount('flood')).toBe(linesInFile);
    console.log(
      `flood: ${linesInFile} lines in ${FLOOD_SECONDS} s, peak RSS ${peak.toFixed(1)} MB, heartbeat gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms`,
    );
  }, 120_000);
});
