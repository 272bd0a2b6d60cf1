/**
 * Test reports (issue 13): collectTestReports() on a 10 000-case JUnit file (about 2 MB, one case in
 * ten failing), beside two baselines on the same file in the same run: reading it whole (the floor)
 * and @xmldom/xmldom's DOM parse (what a non-streaming parser costs). Also one usage sample of a
 * 10-process task tree (ProcTreeUsage.sample(), taken every second while a task runs).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { processStartTime } from '../../../main/core/tasks/process-tree.js';
import { collectTestReports } from '../../../main/core/tasks/test-reports/collect.js';
import { junitFile } from '../../../main/core/tasks/test-reports/junit-fixture.js';
import { ProcTreeUsage } from '../../../main/core/tasks/usage/proc-usage.js';
import { freshDir } from '../lib/agent.js';
import { atMost, fromRuns } from '../lib/figures.js';
import { percentile, sleep } from '../lib/stats.js';
import type { Bench, BenchContext, Figure } from '../lib/types.js';

const CASES = 10_000;

export const testReports: Bench = {
  name: 'test-reports',
  estimateS: (quick) => (quick ? 4 : 8),
  async run(ctx: BenchContext): Promise<Figure[]> {
    const runs = ctx.quick ? 3 : 7;
    const dir = freshDir('test-reports');
    const file = path.join(dir, 'junit.xml');
    writeFileSync(file, junitFile(CASES, 10));
    const bytes = readFileSync(file).length;
    const parse: number[] = [];
    const read: number[] = [];
    const dom: number[] = [];
    for (let r = 0; r < runs; r++) {
      // alternated in each run, so that load hits all three alike
      let t = performance.now();
      const report = await collectTestReports(dir, ['junit.xml']);
      parse.push(performance.now() - t);
      if (report.tests !== CASES) throw new Error(`parsed ${report.tests} cases, expected ${CASES}`);
      t = performance.now();
      readFileSync(file, 'utf8');
      read.push(performance.now() - t);
      t = performance.now();
      const doc = new DOMParser().parseFromString(readFileSync(file, 'utf8'), 'text/xml');
      if (doc.getElementsByTagName('testcase').length !== CASES) throw new Error('xmldom lost cases');
      dom.push(performance.now() - t);
    }
    ctx.log(
      `parse ${parse.map((x) => x.toFixed(0)).join(', ')} ms; xmldom ${dom.map((x) => x.toFixed(0)).join(', ')} ms`,
    );

    const tree = spawn('/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9; do sleep 30 & done; wait'], {
      detached: true,
      stdio: 'ignore',
    });
    const sampleMs: number[] = [];
    try {
      await sleep(300);
      const usage = new ProcTreeUsage(tree.pid!, processStartTime(tree.pid!));
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        usage.sample();
        sampleMs.push(performance.now() - t);
        await sleep(5);
      }
    } finally {
      process.kill(-tree.pid!, 'SIGKILL');
    }
    const mb = (bytes / (1024 * 1024)).toFixed(1);
    return [
      fromRuns('test-reports', `collectTestReports(), ${CASES} cases (${mb} MB)`, parse, 'ms', atMost(1000, 'ms')),
      fromRuns('test-reports', 'baseline: reading the same file whole', read, 'ms'),
      fromRuns('test-reports', 'baseline: @xmldom/xmldom DOM parse of it', dom, 'ms'),
      fromRuns(
        'test-reports',
        'usage sample of a 10-process tree, p95 (100 samples)',
        [percentile(sampleMs, 95)],
        'ms',
        undefined,
        `p50 ${percentile(sampleMs, 50).toFixed(2)} ms; one per second per running task (each reads every /proc/<pid>/stat)`,
      ),
    ];
  },
};
