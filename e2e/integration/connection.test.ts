/** Spec 7.1/7.2: authentication, reconnects, heartbeats (real agent process, real WebSocket server). */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectedAgent, sleep, spawnAgent, startPlatform, tempDir, TOKEN } from './harness.js';

describe('authentication', () => {
  it('sends the token in the query, the Authorization header and the auth frame', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    expect(new URL(sim.lastUpgradeUrl!, 'ws://x').searchParams.get('token')).toBe(TOKEN);
    expect(sim.lastUpgradeHeaders!.authorization).toBe(`Bearer ${TOKEN}`);
    const auth = sim.authFrames[0];
    expect(auth).toMatchObject({
      type: 'auth',
      token: TOKEN,
      agent_info: { version: '1.0.0', platform: process.platform, mode: 'headless' },
    });
    expect(auth.agent_info.node_version).toBe(process.versions.node);
    expect(auth.agent_info.agent_id).toMatch(/^[0-9a-f-]{36}$/);
    // the agent id is stable across restarts
    await agent.stop();
    const again = await connectedAgent(sim, { workDir: agent.workDir });
    expect(sim.authFrames[1].agent_info.agent_id).toBe(auth.agent_info.agent_id);
    await again.stop();
  });

  it('exits 3 (AUTH_FAILED) with a clear message when the upgrade answers 401, without retrying', async () => {
    const sim = await startPlatform();
    const agent = spawnAgent({ url: sim.url, token: 'wrong-token' });
    const { code } = await agent.exited;
    expect(code).toBe(3);
    expect(agent.stderr()).toMatch(/AUTH_FAILED.*refused the token \(HTTP 401\)/);
    expect(sim.upgradeCount).toBe(1);
  });

  it('exits 3 when the platform answers auth_failed and closes with 4001', async () => {
    const sim = await startPlatform({ rejectAt: 'frame' });
    const agent = spawnAgent({ url: sim.url, token: 'wrong-token' });
    const { code } = await agent.exited;
    expect(code).toBe(3);
    expect(agent.stderr()).toMatch(/AUTH_FAILED/);
    expect(agent.stderr() + agent.stdout()).not.toContain('wrong-token');
  });

  it('exits 3 when a revoked token is refused on a reconnect', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.revokeToken(TOKEN, true);
    const { code } = await agent.exited;
    expect(code).toBe(3);
  });
});

describe('reconnect', () => {
  it('reconnects about 3 s after the platform drops the socket, and resumes heartbeats', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim, { config: { monitor: { interval: 1 } } });
    const dropAt = Date.now();
    sim.dropConnections();
    await sim.waitFor(() => sim.authCount >= 2, 15_000, 'a second auth');
    const took = Date.now() - dropAt;
    expect(took).toBeGreaterThanOrEqual(2_900);
    expect(took).toBeLessThan(8_000);
    const beats = sim.heartbeats.length;
    await sim.waitFor(() => sim.heartbeats.length > beats, 5_000, 'a heartbeat after the reconnect');
  });

  it('keeps retrying with backoff while the platform is down, then connects', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    await sim.restart(4_000);
    await sim.waitFor(() => sim.authCount >= 2, 20_000, 'auth after the platform came back');
    expect(sim.connected).toBe(true);
  });

  it('exits 4 (CONNECTION_FAILED) when server.max_retries is reached', async () => {
    const agent = spawnAgent({ url: 'ws://127.0.0.1:9/ws/agent', config: { server: { max_retries: 2 } } });
    const { code } = await agent.exited;
    expect(code).toBe(4);
    expect(agent.stderr()).toMatch(/CONNECTION_FAILED.*2 attempts.*refused/);
  });
});

describe('token rotation', () => {
  it('reads --token-file again before a reconnect: a rotated token takes effect without a restart', async () => {
    const sim = await startPlatform({ tokens: [TOKEN, 'tok-ROTATED-77aa'] });
    const file = path.join(tempDir(), 'token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    const agent = await connectedAgent(sim, { token: null, args: ['--token-file', file] });
    expect(agent.stderr()).not.toMatch(/can be read by other users/);
    writeFileSync(file, 'tok-ROTATED-77aa\n');
    sim.dropConnections();
    await sim.waitFor(() => sim.authCount >= 2, 15_000, 'the reconnect');
    expect(sim.authFrames[1].token).toBe('tok-ROTATED-77aa');
    expect(sim.lastUpgradeHeaders!.authorization).toBe('Bearer tok-ROTATED-77aa');
    await agent.stop();
    const log = readFileSync(path.join(agent.workDir, 'logs', 'agent.log'), 'utf8');
    expect(log).not.toContain('tok-ROTATED-77aa');
    expect(log).not.toContain(TOKEN);
  });

  it('warns when the token file can be read by other users', async () => {
    const sim = await startPlatform();
    const file = path.join(tempDir(), 'token');
    writeFileSync(file, TOKEN, { mode: 0o644 });
    const agent = await connectedAgent(sim, { token: null, args: ['--token-file', file] });
    expect(agent.stderr()).toMatch(/token file .* can be read by other users; chmod 600 it/);
  });
});

describe('heartbeat', () => {
  it('sends the whole system_info every monitor.interval, the first right after auth', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { config: { monitor: { interval: 1 } } });
    const authAt = Date.now();
    await sim.waitFor(() => sim.heartbeats.length >= 4, 10_000, '4 heartbeats');
    expect(sim.heartbeats[0]!.at - authAt).toBeLessThan(1_000);
    const gaps = sim.heartbeats.slice(1, 4).map((h, i) => h.at - sim.heartbeats[i]!.at);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(700);
      expect(gap).toBeLessThan(1_400);
    }
    const info = sim.heartbeats.at(-1)!.frame.system_info;
    expect(info.cpu).toMatchObject({
      cores: expect.any(Number),
      model: expect.any(String),
      frequency: expect.stringMatching(/GHz|unknown/),
    });
    expect(info.cpu.usage_percent).toBeGreaterThanOrEqual(0);
    expect(info.memory).toMatchObject({ unit: 'MB', total: expect.any(Number) });
    expect(info.memory.used + info.memory.free).toBeLessThanOrEqual(info.memory.total + 1);
    expect(info.disk).toMatchObject({ unit: 'MB', total: expect.any(Number), free: expect.any(Number) });
    expect(info.network).toMatchObject({ ip: expect.stringMatching(/\d|:/), hostname: expect.any(String) });
    expect(info.os).toMatchObject({ type: 'Linux', kernel: expect.any(String), version: expect.any(String) });
    expect(Number.isNaN(Date.parse(sim.heartbeats[0]!.frame.timestamp))).toBe(false);
    // one decimal
    expect(String(info.memory.usage_percent)).toMatch(/^\d+(\.\d)?$/);
    await agent.stop();
  });
});

describe('work dir', () => {
  it('creates the layout with parents, and moves to the platform work_dir', async () => {
    const platformDir = path.join(tempDir(), 'deep', 'platform-work');
    const sim = await startPlatform({ workDir: platformDir });
    const local = path.join(tempDir(), 'a', 'b', 'local');
    const agent = await connectedAgent(sim, { workDir: local });
    for (const root of [local, platformDir]) {
      for (const sub of ['tasks', 'logs', 'logs/tasks', 'cache'])
        expect(statSync(path.join(root, sub)).isDirectory()).toBe(true);
    }
    await sleep(300);
    expect(readFileSync(path.join(platformDir, 'logs', 'agent.log'), 'utf8')).toMatch(
      /authenticated; environment env-simulator/,
    );
    await agent.stop();
  });

  it('exits 5 (WORK_DIR_ERROR) when the work dir is not writable', async () => {
    const base = tempDir();
    // a path below a regular file cannot be created, whoever we are
    writeFileSync(path.join(base, 'file'), '');
    const agent = spawnAgent({ url: 'ws://127.0.0.1:9/ws/agent', workDir: path.join(base, 'file', 'work') });
    expect((await agent.exited).code).toBe(5);
    expect(agent.stderr()).toMatch(/WORK_DIR_ERROR.*file\/work/);
    if (process.getuid?.() === 0) {
      // root ignores mode bits: run the agent as nobody against a read-only dir
      const ro = path.join(base, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      chmodSync(base, 0o755);
      const asNobody = spawnAgent({
        url: 'ws://127.0.0.1:9/ws/agent',
        workDir: path.join(ro, 'work'),
        uid: 65534,
        gid: 65534,
      });
      expect((await asNobody.exited).code).toBe(5);
      expect(asNobody.stderr()).toMatch(/WORK_DIR_ERROR.*EACCES/);
    }
  });

  it('exits 5 when the platform names a work_dir it cannot write', async () => {
    const base = tempDir();
    writeFileSync(path.join(base, 'file'), '');
    const sim = await startPlatform({ workDir: path.join(base, 'file', 'nope') });
    const agent = spawnAgent({ url: sim.url });
    expect((await agent.exited).code).toBe(5);
    expect(agent.stderr()).toMatch(/WORK_DIR_ERROR/);
  });
});
