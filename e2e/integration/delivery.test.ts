/** At least once: every task_log line and a result arrive across drops and a long outage. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { rssMb } from '../lib/proc.js';
import { describe, expect, it } from 'vitest';
import { connectedAgent, sleep, startPlatform, waitForResult } from './harness.js';

describe('delivery', () => {
  it('loses no line of a 2 000-line task over three dropped connections', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({
      task_id: 'drops',
      command:
        'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo line $i; [ $((i % 100)) -eq 0 ] && sleep 0.4; done; echo done',
    });
    for (let drop = 0; drop < 3; drop++) {
      await sim.waitFor(
        () => sim.authCount === drop + 1 && sim.logs('drops').length > 0,
        15_000,
        'streaming on a new connection',
      );
      // drop mid-stream: once 100 more lines have arrived on this connection
      const seen = sim.lineCount('drops');
      await sim.waitFor(() => sim.lineCount('drops') >= seen + 100, 15_000, 'more lines on this connection');
      sim.dropConnections();
    }
    const result = await waitForResult(sim, 'drops', 40_000);
    expect(result.status, JSON.stringify({ ...result, output: result.output.slice(-200) })).toBe('success');
    await sim.waitFor(() => sim.authCount >= 4, 15_000, 'the reconnect after the third drop');
    const lines = sim.output('drops', 'stdout').split('\n');
    expect(lines).toEqual([...Array.from({ length: 2000 }, (_, i) => `line ${i + 1}`), 'done']);
    // duplicates are possible (at least once) but they are the same result
    for (const again of sim.results('drops')) expect(again).toEqual(result);
  });

  it('spills a long outage to disk with bounded memory and delivers all of it afterwards', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const spill = path.join(agent.workDir, 'state', 'outbox.log');
    // ~39 MB of output while nobody listens: dispatch, then take the platform down before it prints
    sim.dispatch({ task_id: 'outage', command: 'sleep 0.3; seq 1 5000000; echo end' });
    await sim.stop();
    const started = Date.now();
    let peak = 0;
    while (Date.now() - started < 60_000) {
      peak = Math.max(peak, rssMb(agent.child.pid!));
      if (existsSync(spill) && statSync(spill).size > 20_000_000) break;
      await sleep(100);
    }
    await sleep(1_000);
    peak = Math.max(peak, rssMb(agent.child.pid!));
    expect(statSync(spill).size).toBeGreaterThan(20_000_000);
    expect(peak).toBeLessThan(200);
    await sim.start();
    const result = await waitForResult(sim, 'outage', 60_000);
    expect(result.status, JSON.stringify({ ...result, output: result.output.slice(-200) })).toBe('success');
    const out = sim.output('outage', 'stdout');
    expect(out.length).toBe(38_888_896 + 'end'.length);
    expect(out.endsWith('4999999\n5000000\nend')).toBe(true);
  }, 120_000);
});
