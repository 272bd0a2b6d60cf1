/**
 * PROTOCOL.md second round, end to end from the built agent: `test_reports` → task_result.test_report,
 * `limits` → limits_applied (and TASK_RESOURCE_LIMIT), `usage` in every result.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCgroupBase } from '../../main/core/tasks/limits/cgroup.js';
import { connectedAgent, startPlatform, tempDir, waitForResult } from './harness.js';

const NODE = JSON.stringify(process.execPath);
/** a JUnit file written by the task itself: 3 cases, one failure, one skipped */
const JUNIT = `<?xml version="1.0"?>
<testsuites><testsuite name="calc"><testcase classname="calc.Add" name="adds" time="0.25"/>
<testcase classname="calc.Div" name="divides by zero" time="0.5"><failure message="expected Infinity">at div.js:3</failure></testcase>
<testcase classname="calc.Pow" name="large powers"><skipped/></testcase></testsuite></testsuites>`;

const cgroupV2 = findCgroupBase(process.env.ATS_AGENT_CGROUP_ROOT ?? '/sys/fs/cgroup');

describe('test reports, limits and usage', () => {
  it('parses the JUnit report a task writes, and names what it could not read', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({
      task_id: 'junit',
      command: `mkdir -p out; cat > out/report.xml <<'EOF'\n${JUNIT}\nEOF\necho '<html>' > out/page.xml; ln -s /etc/passwd out/link.xml; exit 1`,
      test_reports: ['out/*.xml', 'missing/**/*.xml', '../../*.xml'],
    });
    const result = await waitForResult(sim, 'junit');
    expect(result.status).toBe('failed');
    expect(result.test_report).toMatchObject({
      tests: 3,
      failures: 1,
      errors: 0,
      skipped: 1,
      time: 0.75,
      failed: [{ suite: 'calc.Div', name: 'divides by zero', message: 'expected Infinity\nat div.js:3' }],
      unparsed: ['out/page.xml'],
    });
    const notes = result.test_report.notes.join('\n');
    expect(notes).toMatch(/"missing\/\*\*\/\*\.xml" matches no regular file/);
    expect(notes).toMatch(/"\.\.\/\.\.\/\*\.xml" leaves the task work dir/);
    expect(notes).toMatch(/out\/page\.xml: not a JUnit\/xUnit report/);
    // the symlink out is never read: /etc/passwd is no report, and not one line of it is counted
    expect(JSON.stringify(result.test_report)).not.toMatch(/root:/);
    expect(sim.output('junit', 'agent')).toMatch(/test report: 3 tests, 1 failed, 1 skipped/);
  });

  it('survives hostile report files: entity expansion, a FIFO, a file past the size cap', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    const lol = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><testsuite><testcase name="&c;"/></testsuite>`;
    sim.dispatch({
      task_id: 'hostile-xml',
      command: `printf '%s' '${lol}' > lol.xml; mkfifo fifo.xml; head -c 70000000 /dev/zero > big.xml`,
      test_reports: ['*.xml'],
      timeout: 30,
    });
    const result = await waitForResult(sim, 'hostile-xml', 30_000);
    expect(result.status).toBe('success');
    expect(result.test_report).toMatchObject({ tests: 0, unparsed: ['big.xml', 'lol.xml'] });
    const notes = result.test_report.notes.join('\n');
    expect(notes).toMatch(/big\.xml: is 67 MB, larger than the 64 MB/);
    expect(notes).toMatch(/lol\.xml: not a JUnit\/xUnit report: .*undefined entity/);
  });

  it('reports usage of the whole tree in every result, sampled where there is no cgroup', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    // a child that burns a fixed amount of CPU, writes 20 MB to disk and holds a 60 MB buffer, then
    // idles: a sampled figure is a lower bound that misses what happens after the last sample
    sim.dispatch({
      task_id: 'usage',
      command: `${NODE} -e "const fs=require('fs'); const b=Buffer.alloc(60*1024*1024,1); let x=0; for(let i=0;i<1e8;i++) x+=i; const fd=fs.openSync('out.bin','w'); fs.writeSync(fd,b,0,20*1024*1024); fs.fsyncSync(fd); setTimeout(()=>console.log(x>0), 2500)"`,
      timeout: 60,
    });
    const result = await waitForResult(sim, 'usage', 60_000);
    expect(result.status).toBe('success');
    expect(result.usage.source).toBe(cgroupV2.ok ? 'cgroup' : 'sampled');
    expect(result.usage.cpu_seconds).toBeGreaterThan(0.1);
    expect(result.usage.peak_rss_mb).toBeGreaterThan(55);
    expect(result.usage.write_mb).toBeGreaterThanOrEqual(19);
    expect(result.usage.read_mb).toBeGreaterThanOrEqual(0);
    // a task that never ran has usage too
    sim.dispatch({ task_id: 'usage-refused', command: 'true', work_dir: '/' });
    expect((await waitForResult(sim, 'usage-refused')).usage).toEqual({
      cpu_seconds: 0,
      peak_rss_mb: 0,
      read_mb: 0,
      write_mb: 0,
      source: 'sampled',
    });
  });

  it('rlimit path: a task that allocates past memory_mb fails with TASK_RESOURCE_LIMIT', async () => {
    const sim = await startPlatform();
    // the rlimit path on every host, a cgroup v2 one included
    await connectedAgent(sim, { env: { ATS_AGENT_CGROUP_ROOT: '' } });
    sim.dispatch({
      task_id: 'over-memory',
      command: `${NODE} -e "const a=[]; for (let i=0;i<100;i++) a.push(Buffer.alloc(10*1024*1024,1)); console.log('allocated', a.length)"`,
      limits: { memory_mb: 150, cpu_percent: 50 },
    });
    const over = await waitForResult(sim, 'over-memory');
    expect(over).toMatchObject({
      status: 'failed',
      error_code: 'TASK_RESOURCE_LIMIT',
      limits_applied: 'rlimit',
      limits_unenforced: ['cpu_percent'],
    });
    expect(over.output).not.toMatch(/allocated 100/);
    expect(sim.output('over-memory', 'agent')).toMatch(/RLIMIT_DATA/);
    // the same task under its limit succeeds: the limit is what failed it
    sim.dispatch({
      task_id: 'under-memory',
      command: `${NODE} -e "const a=[]; for (let i=0;i<5;i++) a.push(Buffer.alloc(10*1024*1024,1)); console.log('allocated', a.length)"`,
      limits: { memory_mb: 150 },
    });
    expect(await waitForResult(sim, 'under-memory')).toMatchObject({
      status: 'success',
      limits_applied: 'rlimit',
      limits_unenforced: [],
      output: 'allocated 5\n',
    });
  });

  it('rlimit path: a tree over memory_mb in sum is ended by the agent', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim, { env: { ATS_AGENT_CGROUP_ROOT: '' } });
    // four processes of 60 MB each: none is over 150 MB alone, the tree is
    const hold = `${NODE} -e "const b=Buffer.alloc(60*1024*1024,1); setTimeout(()=>b.length, 20000)"`;
    sim.dispatch({
      task_id: 'tree-over',
      command: `for i in 1 2 3 4; do ${hold} & done; wait`,
      limits: { memory_mb: 150 },
      timeout: 60,
    });
    const result = await waitForResult(sim, 'tree-over', 30_000);
    expect(result).toMatchObject({ status: 'failed', error_code: 'TASK_RESOURCE_LIMIT', limits_applied: 'rlimit' });
    expect(result.duration).toBeLessThan(15);
    expect(sim.output('tree-over', 'agent')).toMatch(/past its memory limit of 150 MB/);
  });

  it.skipIf(process.getuid?.() !== 0)('rlimit path: max_processes holds for a run_as task (RLIMIT_NPROC)', async () => {
    const sim = await startPlatform();
    const parent = tempDir('ats-open-');
    chmodSync(parent, 0o777);
    await connectedAgent(sim, {
      workDir: path.join(parent, 'work'),
      env: { ATS_AGENT_CGROUP_ROOT: '' },
      config: { task: { run_as: 'nobody' } },
    });
    // 20 background sleeps: with at most 5 processes of the user, forks fail
    const forks = 'for i in $(seq 1 20); do sleep 3 & done; echo started; wait';
    sim.dispatch({
      task_id: 'nproc',
      command: forks,
      limits: { max_processes: 5 },
    });
    const limited = await waitForResult(sim, 'nproc', 30_000);
    expect(limited).toMatchObject({ limits_applied: 'rlimit', limits_unenforced: [] });
    expect(sim.output('nproc', 'stderr')).toMatch(/fork|Resource temporarily unavailable|Cannot fork/i);
    sim.dispatch({ task_id: 'nproc-free', command: `for i in $(seq 1 20); do sleep 1 & done; wait; echo all` });
    expect(await waitForResult(sim, 'nproc-free', 30_000)).toMatchObject({ status: 'success', output: 'all\n' });
  });

  it('rlimit path: max_processes is unenforceable for a task that runs as root', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim, { env: { ATS_AGENT_CGROUP_ROOT: '' } });
    sim.dispatch({ task_id: 'nproc-root', command: 'true', limits: { max_processes: 5 } });
    const expected =
      process.getuid?.() === 0
        ? { limits_applied: 'none', limits_unenforced: ['max_processes'] }
        : { limits_applied: 'rlimit', limits_unenforced: [] };
    expect(await waitForResult(sim, 'nproc-root')).toMatchObject(expected);
  });

  it.skipIf(!cgroupV2.ok)(
    `cgroup path: memory.max ends the task, usage is exact (skipped here: ${cgroupV2.ok ? '' : cgroupV2.why})`,
    async () => {
      const sim = await startPlatform();
      await connectedAgent(sim);
      sim.dispatch({
        task_id: 'cg-over',
        command: `${NODE} -e "const a=[]; for (let i=0;i<100;i++) a.push(Buffer.alloc(10*1024*1024,1))"`,
        limits: { memory_mb: 150, max_processes: 50, cpu_percent: 50 },
      });
      const result = await waitForResult(sim, 'cg-over');
      expect(result).toMatchObject({
        status: 'failed',
        error_code: 'TASK_RESOURCE_LIMIT',
        limits_applied: 'cgroup',
        usage: { source: 'cgroup' },
      });
    },
  );

  it('a limits object of the wrong shape is an INVALID_TASK error, nothing run', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({ task_id: 'bad-limits', command: 'touch ran', limits: { memory_mb: -5 } });
    expect(await waitForResult(sim, 'bad-limits')).toMatchObject({ status: 'error', error_code: 'INVALID_TASK' });
    expect(existsSync(`${agent.workDir}/tasks/bad-limits/ran`)).toBe(false);
    const logs = readFileSync(`${agent.workDir}/logs/agent.log`, 'utf8');
    expect(logs).toMatch(/memory_mb/);
  });
});
