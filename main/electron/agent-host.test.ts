/**
 * The desktop host's lifecycle against the platform simulator, without Electron: first run
 * (validate by connecting), failures, saving, agent replacement with `reset`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PlatformSimulator } from '../../e2e/platform/simulator.js';
import { unusedPort } from '../../e2e/lib/ports.js';
import type { AgentEvent, TokenStorage } from '../core/api.js';
import type { Agent, AgentOptions } from '../core/agent.js';
import { AgentHost, type AgentHostOptions, type SettingsBackend } from './agent-host.js';
import { STORE_DEFAULTS, type StoredSettings } from './settings-schema.js';

const TOKEN = 'tok-desktop-7c1d';

class MemoryBackend implements SettingsBackend {
  saved: StoredSettings[] = [];
  constructor(public settings: StoredSettings = structuredClone(STORE_DEFAULTS)) {}
  load(): StoredSettings {
    return structuredClone(this.settings);
  }
  save(next: StoredSettings): void {
    this.settings = structuredClone(next);
    this.saved.push(this.settings);
  }
  readToken(stored: StoredSettings): string | null {
    return stored.token ? Buffer.from(stored.token.value, 'base64').toString() : null;
  }
  sealToken(token: string) {
    return { encoding: 'safeStorage' as const, value: Buffer.from(token).toString('base64') };
  }
  tokenStorage(): TokenStorage {
    return 'keyring';
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
const hosts: AgentHost[] = [];
afterEach(async () => {
  // agents first: they write logs into the temp dirs removed below
  await Promise.all(hosts.splice(0).map((h) => h.shutdown()));
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ats-host-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function platform(tokens: string[] = [TOKEN]): Promise<PlatformSimulator> {
  const sim = new PlatformSimulator({ tokens });
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

function host(backend: SettingsBackend, opts: Omit<AgentHostOptions, 'backend'> = {}) {
  const h = new AgentHost({ backend, ...opts });
  const events: AgentEvent[] = [];
  h.subscribe((e) => events.push(e));
  hosts.push(h);
  return { h, events };
}

describe('AgentHost first run', () => {
  it('without a token: no agent, an unconfigured snapshot, harmless calls', async () => {
    const { h } = host(new MemoryBackend());
    await h.start();
    expect(h.configured).toBe(false);
    const snap = await h.api.getSnapshot();
    expect(snap.connection.phase).toBe('unconfigured');
    expect(snap.agent.mode).toBe('gui');
    expect(snap.tasks).toEqual([]);
    expect(await h.api.getTaskOutput('x')).toEqual([]);
    expect(await h.api.cancelTask('x')).toMatchObject({ ok: false });
    expect(await h.api.getSettings()).toMatchObject({
      serverUrl: 'ws://localhost:8000/ws/agent',
      tokenStorage: 'keyring',
      editable: true,
    });
    expect(await h.api.updateSettings({ serverUrl: 'ws://127.0.0.1:1/ws' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/token/),
    });
  });

  it('a registration token: exchanged for an agent token (mode gui), which connects and is the one sealed (issue 14)', async () => {
    const sim = new PlatformSimulator({ tokens: [], registrationTokens: ['reg-desk-1'] });
    await sim.start();
    cleanups.push(() => sim.stop());
    const backend = new MemoryBackend();
    const { h } = host(backend);
    await h.start();
    const workDir = path.join(tempDir(), 'work');
    const wrong = await h.api.updateSettings({ serverUrl: sim.url, registrationToken: 'reg-typo', workDir });
    expect(wrong).toMatchObject({ ok: false, message: expect.stringMatching(/^registration failed: .*refused/) });
    expect(wrong.message).not.toContain('reg-typo');
    expect(backend.saved).toEqual([]);
    const both = await h.api.updateSettings({ serverUrl: sim.url, registrationToken: 'reg-desk-1', token: TOKEN });
    expect(both).toMatchObject({ ok: false, message: expect.stringMatching(/not both/) });
    expect(sim.registrations).toHaveLength(0); // the typo was refused at the upgrade, the pair never sent

    const r = await h.api.updateSettings({ serverUrl: sim.url, registrationToken: 'reg-desk-1', workDir });
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    const issued = sim.registrations.at(-1)!.token!;
    expect(issued).toMatch(/^tok-reg-/);
    expect(sim.registrations.at(-1)!.frame.agent_info.mode).toBe('gui');
    expect(backend.readToken(backend.settings)).toBe(issued);
    expect(JSON.stringify(backend.settings)).not.toContain('reg-desk-1');
    expect(sim.authFrames.at(-1).token).toBe(issued);
    expect((await h.api.getSnapshot()).connection.phase).toBe('online');
  });

  it('a refused token: fails with the reason, saves nothing, stays unconfigured', async () => {
    const sim = await platform();
    const backend = new MemoryBackend();
    const { h, events } = host(backend);
    await h.start();
    const r = await h.api.updateSettings({
      serverUrl: sim.url,
      token: 'wrong-token',
      workDir: path.join(tempDir(), 'work'),
    });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/refused the token/);
    expect(r.message).not.toContain('wrong-token');
    expect(backend.saved).toEqual([]);
    const snap = await h.api.getSnapshot();
    expect(snap.connection.phase).toBe('unconfigured');
    expect(snap.connection.lastError?.message).toMatch(/refused/);
    expect(events.some((e) => e.type === 'connection' && e.connection.phase === 'unconfigured')).toBe(true);
    expect(events.some((e) => e.type === 'reset')).toBe(false);
  });

  it('an unreachable server: fails after a few attempts, well before the timeout', async () => {
    const port = await unusedPort();
    const { h } = host(new MemoryBackend(), { probeMaxAttempts: 2, probeTimeoutMs: 20_000 });
    await h.start();
    const started = Date.now();
    const r = await h.api.updateSettings({
      serverUrl: `ws://127.0.0.1:${port}/ws/agent`,
      token: TOKEN,
      workDir: path.join(tempDir(), 'work'),
    });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/cannot connect/) });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(h.configured).toBe(false);
  });

  it('gives up at the timeout when the attempts take long', async () => {
    const port = await unusedPort();
    const { h } = host(new MemoryBackend(), { probeMaxAttempts: 1000, probeTimeoutMs: 1_500 });
    await h.start();
    const r = await h.api.updateSettings({
      serverUrl: `ws://127.0.0.1:${port}/ws/agent`,
      token: TOKEN,
      workDir: path.join(tempDir(), 'work'),
    });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/within 2 s/) });
  });

  it('a good token: online, saved (token sealed), the same agent keeps running, windows reset', async () => {
    const sim = await platform();
    const backend = new MemoryBackend();
    const { h, events } = host(backend);
    await h.start();
    const workDir = path.join(tempDir(), 'work');
    const r = await h.api.updateSettings({ serverUrl: sim.url, token: TOKEN, workDir });
    expect(r.ok).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'reset' });
    expect(backend.settings.agent).toEqual({ server: { url: sim.url }, work_dir: workDir });
    expect(backend.settings.token?.value).not.toContain(TOKEN);
    expect(backend.readToken(backend.settings)).toBe(TOKEN);
    const snap = await h.api.getSnapshot();
    expect(snap.connection.phase).toBe('online');
    expect(snap.agent.mode).toBe('gui');
    expect(sim.connectionCount).toBe(1); // the probe's connection is the agent's connection
    expect(await h.api.getSettings()).toMatchObject({ serverUrl: sim.url, workDir });
  });
});

describe('AgentHost configured', () => {
  async function configured(opts: Omit<AgentHostOptions, 'backend'> = {}, tokens?: string[]) {
    const sim = await platform(tokens);
    const workDir = path.join(tempDir(), 'work');
    const backend = new MemoryBackend({
      ...structuredClone(STORE_DEFAULTS),
      agent: { server: { url: sim.url }, work_dir: workDir },
    });
    backend.settings.token = backend.sealToken(TOKEN);
    const { h, events } = host(backend, opts);
    await h.start();
    await sim.waitFor(() => sim.connected, 10_000, 'the agent connected');
    // a socket is not yet online: auth_success is still on its way
    await expect.poll(async () => (await h.api.getSnapshot()).connection.phase, { timeout: 10_000 }).toBe('online');
    return { sim, backend, h, events, workDir };
  }

  it('starts the agent from the stored settings', async () => {
    const { h } = await configured();
    expect(h.configured).toBe(true);
    await expect.poll(async () => (await h.api.getSnapshot()).connection.phase).toBe('online');
  });

  it('settings that do not touch the connection are saved without replacing the agent', async () => {
    const { h, backend, events } = await configured();
    const agent = h.current;
    const r = await h.api.updateSettings({ logLevel: 'DEBUG', notifyOnFailure: false });
    expect(r.ok).toBe(true);
    expect(h.current).toBe(agent);
    expect(events.some((e) => e.type === 'reset')).toBe(false);
    expect(backend.settings.gui.notifyOnFailure).toBe(false);
    expect(h.gui().notifyOnFailure).toBe(false);
  });

  it('a new server URL replaces the agent: the old one closes, the new one connects, reset is sent', async () => {
    const { h, sim, events } = await configured();
    const sim2 = await platform();
    const old = h.current;
    const r = await h.api.updateSettings({ serverUrl: sim2.url });
    expect(r.ok).toBe(true);
    expect(h.current).not.toBe(old);
    expect((await old!.finished).exitCode).toBe(0);
    expect(events.filter((e) => e.type === 'reset')).toHaveLength(1);
    await sim2.waitFor(() => sim2.connected, 10_000, 'the new agent online');
    expect(sim.connected).toBe(false);
  });

  it('refuses an unusable work dir before stopping the running agent', async () => {
    const { h } = await configured();
    const agent = h.current;
    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const r = await h.api.updateSettings({ workDir: path.join(file, 'work') }); // ENOTDIR, even as root
    expect(r.ok).toBe(false);
    expect(h.current).toBe(agent);
    await expect.poll(async () => (await h.api.getSnapshot()).connection.phase).toBe('online');
  });

  it('serialises concurrent updates', async () => {
    const { h, backend } = await configured();
    const results = await Promise.all([
      h.api.updateSettings({ keepTasks: 1 }),
      h.api.updateSettings({ keepDays: 2 }),
      h.api.updateSettings({ maxConcurrent: 3 }),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(backend.settings.agent.task).toEqual({ cleanup: { keep_tasks: 1, keep_days: 2 }, max_concurrent: 3 });
  });

  // issue 16 #1: a change is tried with a real connection while the old agent keeps running
  async function expectUnchanged(
    ctx: Awaited<ReturnType<typeof configured>>,
    before: { agent: Agent | null; stored: StoredSettings; auths: number },
  ) {
    expect(ctx.h.current).toBe(before.agent);
    expect(ctx.backend.settings).toEqual(before.stored);
    expect(ctx.events.some((e) => e.type === 'reset')).toBe(false);
    expect((await ctx.h.api.getSnapshot()).connection.phase).toBe('online');
    expect(ctx.sim.connected).toBe(true);
    expect(ctx.sim.authCount).toBe(before.auths); // the old agent never dropped its connection
  }
  const snapshotOf = (ctx: Awaited<ReturnType<typeof configured>>) => ({
    agent: ctx.h.current,
    stored: structuredClone(ctx.backend.settings),
    auths: ctx.sim.authCount,
  });

  it('a wrong token while online: refused, nothing saved, the working token kept, still online', async () => {
    const ctx = await configured();
    const before = snapshotOf(ctx);
    const r = await ctx.h.api.updateSettings({ token: 'tok-typo' });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/refused/) });
    expect(r.message).not.toContain('tok-typo');
    expect(ctx.backend.readToken(ctx.backend.settings)).toBe(TOKEN);
    await expectUnchanged(ctx, before);
  });

  it('a wrong server URL while online: refused, nothing saved, still online with the old one', async () => {
    const ctx = await configured({ probeMaxAttempts: 2 });
    const before = snapshotOf(ctx);
    const port = await unusedPort();
    const r = await ctx.h.api.updateSettings({ serverUrl: `ws://127.0.0.1:${port}/ws/agent` });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/cannot connect/) });
    await expectUnchanged(ctx, before);
  });

  it('an unusable work dir while online: refused, nothing saved, still online', async () => {
    const ctx = await configured();
    const before = snapshotOf(ctx);
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    const r = await ctx.h.api.updateSettings({ workDir: path.join(file, 'work') });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/work dir/) });
    await expectUnchanged(ctx, before);
  });

  it('a right new token while online: saved and the agent replaced only after it authenticated', async () => {
    const ctx = await configured({}, [TOKEN, 'tok-rotated-2']);
    const old = ctx.h.current;
    const r = await ctx.h.api.updateSettings({ token: 'tok-rotated-2' });
    expect(r.ok).toBe(true);
    expect(ctx.h.current).not.toBe(old);
    expect(ctx.backend.readToken(ctx.backend.settings)).toBe('tok-rotated-2');
    expect((await old!.finished).exitCode).toBe(0);
    await expect.poll(async () => (await ctx.h.api.getSnapshot()).connection.phase).toBe('online');
  });

  // issue 11: AgentHost.shutdown was not serialised with a replacement in progress
  it('a quit during a slow replacement starts nothing after shutdown returned', async () => {
    let created = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reachedGate!: () => void;
    const atGate = new Promise<void>((r) => (reachedGate = r));
    const { Agent: RealAgent } = await import('../core/agent.js');
    const createAgent = async (o: AgentOptions) => {
      if (++created === 2) {
        reachedGate();
        await gate; // the new agent is slow to create (a slow disk, a big journal)
      }
      return RealAgent.create(o);
    };
    const ctx = await configured({ createAgent });
    const sim2 = await platform();
    const update = ctx.h.api.updateSettings({ serverUrl: sim2.url });
    await atGate;
    const authsAtQuit = sim2.authCount;
    const down = ctx.h.shutdown();
    release();
    await down;
    await update;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sim2.authCount).toBe(authsAtQuit);
    expect(sim2.connected).toBe(false);
    expect(ctx.h.current?.state.snapshot().connection.phase ?? 'none').toMatch(/none|stopped/);
  });
});
