/**
 * Fleet operations (issue 14) with the built agent against the simulator: tags in auth, registration,
 * heartbeat extras, monitor.scripts (hanging, silent, 10 MB), alerts firing and resolving.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectedAgent, listFiles, startPlatform, tempDir } from './harness.js';
import { AGENT_CWD, agentCommand, agentEnv } from '../lib/agent-env.js';

const RT = 'reg-SECRET-77aa21';

/** The CLI run asynchronously: the simulator answers in this same process. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const command = agentCommand();
  const child = spawn(command.file, [...command.args, ...args], { cwd: AGENT_CWD, env: agentEnv(null, env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('tags', () => {
  it('sends configured, --tags and the automatic os:/arch: tags in auth.agent_info.tags', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim, { config: { agent: { tags: ['gpu'] } }, args: ['--tags', 'zone=eu-1, team/qa'] });
    // a flag replaces the config's list, like every other flag
    expect(sim.authFrames[0].agent_info.tags).toEqual([
      'zone=eu-1',
      'team/qa',
      `os:${process.platform}`,
      `arch:${process.arch}`,
    ]);
  });

  it('exits 2 naming a tag with a character it does not allow', async () => {
    const r = await runCli(['--token', 't', '--tags', 'ok,bad tag;x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tag "bad tag;x" is not allowed');
  });
});

describe('register', () => {
  it('writes the issued token to the file with mode 0600, prints neither token, and the agent then connects with it', async () => {
    const sim = await startPlatform({ registrationTokens: [RT] });
    const dir = tempDir();
    const file = path.join(dir, 'agent.token');
    writeFileSync(file, 'old-token\n', { mode: 0o644 }); // replaced whole, mode included
    const r = await runCli(['register', '--server-url', sim.url, '--token-file', file, '--tags', 'gpu'], {
      ATS_AGENT_REGISTRATION_TOKEN: RT,
    });
    expect(r.code, r.stderr).toBe(0);
    const issued = sim.registrations[0]!.token!;
    expect(issued).toMatch(/^tok-reg-/);
    expect(readFileSync(file, 'utf8')).toBe(`${issued}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['agent.token']); // no temporary file left
    for (const out of [r.stdout, r.stderr]) {
      expect(out).not.toContain(issued);
      expect(out).not.toContain(RT);
    }
    expect(r.stdout).toContain(file);
    const frame = sim.registrations[0]!.frame;
    expect(frame).toMatchObject({
      type: 'register',
      registration_token: RT,
      tags: ['gpu', `os:${process.platform}`, `arch:${process.arch}`],
    });
    expect(frame.agent_info).toMatchObject({ hostname: os.hostname(), tags: frame.tags });
    expect(sim.lastUpgradeHeaders?.authorization).toBe(`Bearer ${RT}`);

    // the registered token works, and the agent's log never shows it
    const agent = await connectedAgent(sim, { token: null, args: ['--token-file', file] });
    expect(sim.authFrames.at(-1).token).toBe(issued);
    await agent.stop();
    const logs = listFiles(path.join(agent.workDir, 'logs')).map((f) =>
      readFileSync(path.join(agent.workDir, 'logs', f), 'utf8'),
    );
    expect(logs.join('')).not.toContain(issued);
    expect(agent.stdout() + agent.stderr()).not.toContain(issued);
  });

  it.each([
    ['refused at the upgrade', 'upgrade' as const],
    ['refused with auth_failed', 'frame' as const],
  ])('exits 3 with a clear message for a bad registration token (%s), writing nothing', async (_what, rejectAt) => {
    const sim = await startPlatform({ registrationTokens: [RT], rejectAt });
    const file = path.join(tempDir(), 'agent.token');
    const r = await runCli([
      'register',
      '--registration-token',
      'wrong-RT-123',
      '--server-url',
      sim.url,
      '--token-file',
      file,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused the registration token/);
    expect(r.stderr + r.stdout).not.toContain('wrong-RT-123');
    expect(existsSync(file)).toBe(false);
  });

  it('exits 2 for a missing registration token or a bad tag', async () => {
    const file = path.join(tempDir(), 't');
    expect((await runCli(['register', '--server-url', 'ws://127.0.0.1:9/x', '--token-file', file])).code).toBe(2);
    const bad = await runCli([
      'register',
      '--registration-token',
      RT,
      '--server-url',
      'ws://127.0.0.1:9/x',
      '--token-file',
      file,
      '--tags',
      'a b',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"a b"');
    const ca = await runCli([
      'register',
      '--registration-token',
      RT,
      '--server-url',
      'wss://127.0.0.1:9/x',
      '--token-file',
      file,
      '--ca-file',
      '/nonexistent/ca.pem',
    ]);
    expect(ca.code).toBe(2);
    expect(ca.stderr).toContain('/nonexistent/ca.pem');
    // the same check as the agent's own connection: a file that holds no certificate is refused up front
    const notPem = path.join(tempDir(), 'not-a-ca.pem');
    writeFileSync(notPem, 'hello\n');
    const notCa = await runCli([
      'register',
      '--registration-token',
      RT,
      '--server-url',
      'wss://127.0.0.1:9/x',
      '--token-file',
      file,
      '--ca-file',
      notPem,
    ]);
    expect(notCa.code).toBe(2);
    expect(notCa.stderr).toContain('holds no PEM certificate');
  });
});

describe('monitoring extras, scripts and alerts', () => {
  it('heartbeats carry load, I/O rates and script values; hanging, silent and 10 MB scripts do not hold anything up; an alert fires and resolves', async () => {
    const sim = await startPlatform();
    const dir = tempDir();
    const valueFile = path.join(dir, 'value');
    writeFileSync(valueFile, '42\n');
    const agent = await connectedAgent(sim, {
      config: {
        monitor: {
          interval: 0.5,
          scripts: [
            { name: 'queue', command: `cat ${valueFile}`, interval: 1, timeout: 2 },
            { name: 'hang', command: 'sleep 600', interval: 1, timeout: 1 },
            { name: 'silent', command: 'true', interval: 1, timeout: 2 },
            // the agent's token is not in a script's environment
            { name: 'env', command: 'echo "${ATS_AGENT_TOKEN:-none}"', interval: 1, timeout: 2 },
            { name: 'flood', command: "head -c 10485760 /dev/zero | tr '\\0' 'y'", interval: 1, timeout: 5 },
          ],
          alerts: [
            { name: 'deep_queue', metric: 'custom.queue', above: 10, for: 1 },
            { name: 'hang_alert', metric: 'custom.hang', above: 0, for: 0 },
          ],
        },
      },
    });
    const alerts = () => sim.frames.map((f) => f.frame).filter((f) => f.type === 'alert');
    const firing = await sim.waitFor(() => alerts().find((a) => a.state === 'firing'), 15_000, 'a firing alert');
    expect(firing).toMatchObject({
      type: 'alert',
      name: 'deep_queue',
      metric: 'custom.queue',
      value: 42,
      threshold: 10,
    });
    expect(Date.parse(firing.timestamp)).not.toBeNaN();

    // every script has had its first run (under load the 10 MB one may take a moment)
    const hb = await sim.waitFor(
      () => {
        const s = sim.heartbeats.at(-1)?.frame.system_info;
        return s?.custom?.env !== 'unknown' && s?.custom?.flood !== 'unknown' ? s : null;
      },
      15_000,
      'a heartbeat with every script value',
    );
    expect(hb.custom).toEqual({ queue: 42, hang: 'unknown', silent: 'unknown', env: 'none', flood: 'y'.repeat(256) });
    expect(hb.load_average).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(hb.network_io).toEqual({ rx_bytes_per_s: expect.any(Number), tx_bytes_per_s: expect.any(Number) });
    expect(hb.disk_io).toEqual({ read_bytes_per_s: expect.any(Number), write_bytes_per_s: expect.any(Number) });
    // heartbeats kept coming every 0.5 s although `hang` never answers
    const times = sim.heartbeats.slice(-6).map((h) => h.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(1500);
    // the 10 MB script did not grow the agent
    expect(sim.heartbeats.at(-1)!.frame.agent.rss_mb).toBeLessThan(200);

    writeFileSync(valueFile, '3\n');
    const resolved = await sim.waitFor(
      () => alerts().find((a) => a.state === 'resolved'),
      15_000,
      'the alert to resolve',
    );
    expect(resolved).toMatchObject({ name: 'deep_queue', value: 3, threshold: 10 });
    expect(alerts().filter((a) => a.name === 'hang_alert')).toEqual([]);
    expect(alerts()).toHaveLength(2);
    await agent.stop();
  });

  it('an alert that fires while the platform is down reaches it once it is back (alerts need no ack)', async () => {
    const sim = await startPlatform(); // acks task frames: an alert is not one of them
    const valueFile = path.join(tempDir(), 'value');
    writeFileSync(valueFile, '1\n');
    const agent = await connectedAgent(sim, {
      config: {
        monitor: {
          interval: 0.5,
          scripts: [{ name: 'queue', command: `cat ${valueFile}`, interval: 1, timeout: 2 }],
          alerts: [{ name: 'deep_queue', metric: 'custom.queue', above: 10, for: 0 }],
        },
      },
    });
    const alerts = () => sim.frames.map((f) => f.frame).filter((f) => f.type === 'alert');
    await sim.waitFor(
      () => sim.heartbeats.some((h) => h.frame.system_info.custom?.queue === 1),
      15_000,
      'the script value',
    );
    await sim.stop();
    writeFileSync(valueFile, '42\n');
    await agent.waitForOutput(/alert deep_queue firing/, 15_000);
    expect(alerts()).toEqual([]);
    await sim.start();
    const firing = await sim.waitFor(
      () => alerts().find((a) => a.state === 'firing'),
      20_000,
      'the alert after the platform came back',
    );
    expect(firing).toMatchObject({ name: 'deep_queue', value: 42, threshold: 10 });
    expect(alerts()).toHaveLength(1);
    await agent.stop();
  });
});
