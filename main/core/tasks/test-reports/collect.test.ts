import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectTestReports, REPORT_LIMITS } from './collect.js';
import { junitFile } from './junit-fixture.js';

function workDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ats-reports-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('collectTestReports', () => {
  it('sums JUnit suites (nested, namespaced, comma decimals) and keeps failure text up to its cap', async () => {
    const long = 'x'.repeat(5000);
    const dir = workDir({
      'a/one.xml': `<testsuites><testsuite name="outer"><testsuite name="inner">
        <testcase name="ok" time="1,5"/>
        <testcase classname="k.C" name="fails" time="0.5"><failure message="boom"><![CDATA[${long}]]></failure></testcase>
        <testcase name="errs"><error type="E"/></testcase>
        <testcase name="skip"><skipped message="later"/></testcase>
      </testsuite></testsuite></testsuites>`,
      'b/two.xml': `<?xml version="1.0" encoding="UTF-8"?><j:testsuite xmlns:j="urn:x" name="ns"><j:testcase name="n1"/></j:testsuite>`,
    });
    const report = await collectTestReports(dir, ['**/*.xml']);
    expect(report).toMatchObject({ tests: 5, failures: 1, errors: 1, skipped: 1, time: 2 });
    expect(report.failed.map((f) => [f.suite, f.name])).toEqual([
      ['k.C', 'fails'],
      ['inner', 'errs'],
    ]);
    expect(report.failed[0]!.message.startsWith('boom\nxxx')).toBe(true);
    expect(report.failed[0]!.message.length).toBe(1000);
    expect(report.unparsed).toBeUndefined();
    expect(report.notes).toBeUndefined();
  });

  it('reads xUnit.net v2 results', async () => {
    const dir = workDir({
      'r.xml': `<assemblies><assembly name="A.dll"><collection name="Coll">
        <test name="T.pass" type="T" method="pass" time="0.1" result="Pass"/>
        <test name="T.fail" type="T" method="fail" time="0.2" result="Fail"><failure><message>Assert.Equal() Failure</message><stack-trace>at T.fail()</stack-trace></failure></test>
        <test name="T.skip" type="T" method="skip" time="0" result="Skip"><reason>not today</reason></test>
      </collection></assembly></assemblies>`,
    });
    const report = await collectTestReports(dir, ['r.xml']);
    expect(report).toMatchObject({ tests: 3, failures: 1, skipped: 1, time: 0.3 });
    expect(report.failed).toEqual([{ suite: 'T', name: 'T.fail', message: 'Assert.Equal() Failure' }]);
  });

  it('lists at most 50 failed cases, and says how many there were', async () => {
    const dir = workDir({ 'many.xml': junitFile(200, 3) });
    const report = await collectTestReports(dir, ['many.xml']);
    expect(report.tests).toBe(200);
    expect(report.failures).toBe(67);
    expect(report.failed).toHaveLength(50);
    expect(report.notes).toEqual(['67 cases failed; the first 50 are listed']);
  });

  it('a file cut off midway counts nothing of itself and is named', async () => {
    const whole = junitFile(10, 2);
    const dir = workDir({ 'ok.xml': junitFile(4, 0), 'cut.xml': whole.slice(0, whole.length / 2) });
    const report = await collectTestReports(dir, ['*.xml']);
    expect(report.tests).toBe(4);
    expect(report.unparsed).toEqual(['cut.xml']);
    expect(report.notes?.[0]).toMatch(/^cut\.xml: not a JUnit\/xUnit report/);
  });

  it('refuses globs and files that lead outside the work dir, and never follows a symlink out', async () => {
    const outside = workDir({ 'secret.xml': junitFile(3, 1) });
    const dir = workDir({ 'in.xml': junitFile(1, 0) });
    symlinkSync(path.join(outside, 'secret.xml'), path.join(dir, 'link.xml'));
    symlinkSync(outside, path.join(dir, 'dirlink'));
    const report = await collectTestReports(dir, ['*.xml', 'dirlink/*.xml', '../*.xml', '/etc/*.xml', 'C:/x.xml']);
    expect(report.tests).toBe(1);
    // link.xml is not even listed; the glob reaches through dirlink, and the real-path check refuses it
    expect(report.unparsed).toEqual(['dirlink/secret.xml']);
    expect(report.notes).toEqual([
      'test_reports glob "../*.xml" leaves the task work dir (..); skipped',
      'test_reports glob "/etc/*.xml" is absolute (it must be relative to the task work dir); skipped',
      'test_reports glob "C:/x.xml" is absolute (it must be relative to the task work dir); skipped',
      'dirlink/secret.xml: leads outside the task work dir (a symlink); not read',
    ]);
  });

  it('a big file that is not XML is given up at its first chunk, with reads still in flight: a note, no stray error', async () => {
    const dir = workDir({ 'junk.xml': `not xml ${'x'.repeat(4 * 1024 * 1024)}`, 'ok.xml': junitFile(2, 0) });
    for (let round = 0; round < 5; round++) {
      const report = await collectTestReports(dir, ['*.xml']);
      expect(report.tests).toBe(2);
      expect(report.unparsed).toEqual(['junk.xml']);
    }
    // a stream error after the loop let go would surface as an uncaught exception in this run
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('caps the number of files and the size of each', async () => {
    const files: Record<string, string> = { 'big.xml': junitFile(100, 0) };
    for (let i = 0; i < 5; i++) files[`f${i}.xml`] = junitFile(1, 0);
    const dir = workDir(files);
    const report = await collectTestReports(dir, ['*.xml'], { ...REPORT_LIMITS, files: 4, fileBytes: 2000 });
    expect(report.tests).toBe(3);
    expect(report.unparsed).toEqual(['big.xml']);
    expect(report.notes).toEqual([
      'test_reports matched 6 files; the first 4 were read',
      expect.stringMatching(/^big\.xml: is 0\.\d+ MB, larger than the 0\.00 MB a report may be; not read$/),
    ]);
  });

  it('parses a 10 000-case JUnit file in well under a second', async () => {
    const dir = workDir({ 'big.xml': junitFile(10_000, 10) });
    const started = performance.now();
    const report = await collectTestReports(dir, ['big.xml']);
    const ms = performance.now() - started;
    expect(report.tests).toBe(10_000);
    expect(report.failures).toBe(1000);
    // the goal is 1 s; generous here for a loaded CI machine, measured in `npm run bench`
    expect(ms).toBeLessThan(3000);
  });
});
