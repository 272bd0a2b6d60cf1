/**
 * The agent as installed and started anywhere: agent.log is written whatever the current directory,
 * a log that cannot be written is said once and counted while the agent goes on, and the only paths
 * read against the current directory are the ones the user typed.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectedAgent, startPlatform, tempDir, waitForResult, type AgentRun } from './harness.js';

const NOBODY = 65534;
const COMPLAINT = /ats-agent: cannot write the agent log/g;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

async function scrape(agent: AgentRun): Promise<string> {
  await agent.waitForOutput(/^dashboard: http:\/\/127\.0\.0\.1:\d+\//m);
  const origin = new URL(/^dashboard: (\S+)$/m.exec(agent.stdout())![1]!).origin;
  return get(`${origin}/metrics`);
}

/** a relative path no one else uses; what a regression would create in `/` is removed after the test */
function uniqueName(): string {
  const name = `ats-relative-${process.pid}-${Date.now()}`;
  onTestFinished(() => rmSync(`/${name}`, { recursive: true, force: true }));
  return name;
}

const sample = (metrics: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);

describe('an agent.log that cannot be written', () => {
  it('is said once on stderr, shows in /metrics, and tasks still run (agent.log is a directory)', async () => {
    const sim = await startPlatform();
    const workDir = path.join(tempDir(), 'work');
    mkdirSync(path.join(workDir, 'logs', 'agent.log'), { recursive: true });
    const agent = await connectedAgent(sim, { workDir, args: ['--dashboard', '0'] });

    sim.dispatch({ task_id: 'log-lost-1', command: 'echo still-running' });
    expect(await waitForResult(sim, 'log-lost-1')).toMatchObject({ status: 'success', exit_code: 0 });
    expect(sim.output('log-lost-1')).toContain('still-running');

    const metrics = await scrape(agent);
    expect(sample(metrics, 'ats_agent_log_file_writable')).toBe(0);
    expect(sample(metrics, 'ats_agent_log_lines_lost_total')).toBeGreaterThanOrEqual(3);
    const stderr = agent.stderr();
    expect(stderr.match(COMPLAINT)).toHaveLength(1);
    expect(stderr).toMatch(/cannot write the agent log \S+\/work\/logs\/agent\.log \(EISDIR/);
    // electron-log's own complaint, a stack trace per file, stays out of the console
    expect(stderr).not.toMatch(/electron-log|Can't write/);
    // the lines themselves still reach the console
    expect(stderr).toMatch(/\[info\] \[tasks\] task log-lost-1/);
    expect((await agent.stop()).code).toBe(0);
  });

  it.runIf(process.getuid?.() === 0)(
    'run as nobody: an agent.log left behind by root is EACCES, and is written again once it may be',
    async () => {
      const sim = await startPlatform();
      const parent = tempDir('ats-open-');
      chmodSync(parent, 0o755);
      const workDir = path.join(parent, 'work');
      mkdirSync(path.join(workDir, 'logs'), { recursive: true });
      chownSync(workDir, NOBODY, NOBODY);
      chownSync(path.join(workDir, 'logs'), NOBODY, NOBODY);
      // an earlier run as root left its log: the service user may not append to it
      const logFile = path.join(workDir, 'logs', 'agent.log');
      writeFileSync(logFile, 'from a run as root\n', { mode: 0o644 });
      const agent = await connectedAgent(sim, { workDir, uid: NOBODY, gid: NOBODY, args: ['--dashboard', '0'] });

      sim.dispatch({ task_id: 'as-nobody-1', command: 'id -u' });
      expect(await waitForResult(sim, 'as-nobody-1')).toMatchObject({ status: 'success' });
      expect(sim.output('as-nobody-1').trim()).toBe(String(NOBODY));
      expect(agent.stderr().match(COMPLAINT)).toHaveLength(1);
      expect(agent.stderr()).toMatch(/agent\.log \(EACCES/);
      expect(sample(await scrape(agent), 'ats_agent_log_file_writable')).toBe(0);

      chownSync(logFile, NOBODY, NOBODY);
      sim.dispatch({ task_id: 'as-nobody-2', command: 'true' });
      await waitForResult(sim, 'as-nobody-2');
      await agent.waitForOutput(/agent\.log is written again \(\d+ lines lost so far\)/);
      expect(readFileSync(logFile, 'utf8')).toMatch(/^from a run as root\n.*task as-nobody-2/s);
      expect(sample(await scrape(agent), 'ats_agent_log_file_writable')).toBe(1);
      expect((await agent.stop()).code).toBe(0);
    },
  );
});

describe('the current directory', () => {
  it('is where the user typed paths start: a relative --work-dir lands below the cwd the agent starts in', async () => {
    const sim = await startPlatform();
    const cwd = tempDir('ats-cwd-');
    const agent = await connectedAgent(sim, { cwd, workDir: 'typed/work' });
    await agent.stop();
    expect(readFileSync(path.join(cwd, 'typed', 'work', 'logs', 'agent.log'), 'utf8')).toMatch(/authenticated/);
  });

  it('means nothing to a config file: its relative work_dir is next to the file, from /', async () => {
    const sim = await startPlatform();
    const etc = tempDir('ats-etc-');
    const cfg = path.join(etc, 'agent.yaml');
    const name = uniqueName();
    writeFileSync(cfg, `work_dir: ${name}\n`);
    const agent = await connectedAgent(sim, { workDir: null, args: ['--config', cfg] });
    await agent.stop();
    expect(existsSync(path.join(etc, name, 'logs', 'agent.log'))).toBe(true);
    expect(existsSync(`/${name}`)).toBe(false);
  });

  it('means nothing to the platform: a relative work_dir it names is read inside the local work dir', async () => {
    const name = uniqueName();
    const sim = await startPlatform({ workDir: name });
    const base = tempDir();
    const agent = await connectedAgent(sim, { workDir: path.join(base, 'work') });
    await agent.stop();
    expect(readFileSync(path.join(base, 'work', name, 'logs', 'agent.log'), 'utf8')).toContain(
      `the platform's work dir is ${path.join(base, 'work', name)}`,
    );
    expect(existsSync(`/${name}`)).toBe(false);
  });
});
