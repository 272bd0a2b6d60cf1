/**
 * The desktop host's REAL wiring (the built dist-electron/main.js, unmodified, with the real
 * electron-store, AgentHost and agent core) run under a STAND-IN for Electron (stand-in/electron.mjs,
 * loaded by a module-resolution hook that maps `electron` to it), against the real platform
 * simulator, started from `/`.
 *
 * This is NOT Electron. It proves the host's logic: lifecycle, single instance, IPC registration and
 * refusal, the tray model, first run, settings changes, start at login, quit paths and signals as
 * Node delivers them. It does not prove Chromium's own signal handling (the real binary may own
 * SIGTERM), real IPC serialization and sender objects, real tray rendering (AppIndicator), window
 * painting, real keyrings behind safeStorage, or a packaged app's fuses and asar: e2e/electron.spec.ts
 * covers those where Electron's binary exists.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PlatformSimulator } from '../platform/simulator.js';
import { unusedPort } from '../lib/ports.js';
import { assertFreshBuild, newProfile, startDesktop, type DesktopApp, type Profile } from './host-driver.js';

const TOKEN = 'tok-desktop-SECRET-81f2';
const CHANNELS = [
  'agent:cancelTask',
  'agent:getSettings',
  'agent:getSnapshot',
  'agent:getTaskHistory',
  'agent:getTaskOutput',
  'agent:openPath',
  'agent:pause',
  'agent:quit',
  'agent:readTaskLog',
  'agent:resume',
  'agent:revealTaskLog',
  'agent:searchTaskLog',
  'agent:updateSettings',
];

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => assertFreshBuild());

async function platform(tokens: string[] = [TOKEN]): Promise<PlatformSimulator & { closes: number[] }> {
  const sim = Object.assign(new PlatformSimulator({ tokens }), { closes: [] as number[] });
  sim.on('disconnect', (code: number) => sim.closes.push(code));
  await sim.start();
  cleanups.push(() => sim.stop());
  return sim;
}

function profile(): Profile {
  const p = newProfile();
  cleanups.push(() => p.remove());
  return p;
}

async function launch(p: Profile, opts: Parameters<typeof startDesktop>[1] = {}): Promise<DesktopApp> {
  const app = await startDesktop(p, opts);
  cleanups.push(async () => {
    if (app.child.exitCode === null && app.child.signalCode === null) {
      app.child.kill('SIGKILL');
      await app.exited;
    }
  });
  return app;
}

async function ready(app: DesktopApp) {
  await app.command({ cmd: 'ready' });
  return app.waitFor((s) => s.tray && s.windows.length > 0 && s, 'the tray and the window');
}

type Result = { ok: boolean; message?: string };
const update = (app: DesktopApp, patch: Record<string, unknown>) => app.invoke<Result>('agent:updateSettings', [patch]);

/** A desktop app set up through its first-run form and online. */
async function onlineApp(sim: PlatformSimulator, opts: Parameters<typeof startDesktop>[1] = {}) {
  const p = profile();
  const workDir = path.join(p.dir, 'work');
  const app = await launch(p, opts);
  await ready(app);
  const r = await update(app, { serverUrl: sim.url, token: TOKEN, workDir });
  expect(r, app.output()).toMatchObject({ ok: true });
  await app.waitFor((s) => s.tray?.image === 'online.png', 'the tray online');
  return { app, profile: p, workDir };
}

const settingsFile = (p: Profile) => path.join(p.userData, 'settings.json');
const readSettings = (p: Profile) => (existsSync(settingsFile(p)) ? readFileSync(settingsFile(p), 'utf8') : null);

/** a task that runs until it is stopped, with its child's pid printed */
const LONG = 'sleep 60 & echo child=$!; wait';

describe('desktop host under the Electron STAND-IN (not Electron: see the header)', () => {
  it('lifecycle: nothing before ready; then one hardened window, the tray, the IPC handlers; a second instance quits and the first shows its window', async () => {
    const p = profile();
    const app = await launch(p);
    const before = await app.state();
    expect(before).toMatchObject({ ready: false, windows: [], tray: null, ipcChannels: [] });

    const s = await ready(app);
    expect(s.windows).toHaveLength(1);
    expect(s.windows[0]!.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    });
    expect(s.windows[0]!.url).toMatch(/^file:\/\/.*\/dist\/index\.html$/);
    expect(s.windows[0]!.visible).toBe(true); // first run: the setup form is in the window
    expect([...s.ipcChannels].sort()).toEqual(CHANNELS);
    expect(s.tray).toMatchObject({ image: 'offline.png', tooltip: 'ATS Agent — not set up' });

    // closing the window hides it to the tray
    await app.command({ cmd: 'closeWindow' });
    expect((await app.state()).windows).toMatchObject([{ visible: false }]);

    const second = await launch(p);
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.calls).toContainEqual({ api: 'app.requestSingleInstanceLock', granted: false });
    expect(second.calls.filter((c) => c.api === 'BrowserWindow' || c.api === 'Tray')).toEqual([]);

    await app.command({ cmd: 'emit', target: 'app', event: 'second-instance', args: [[], '/'] });
    const shown = await app.waitFor((st) => st.windows[0]?.visible && st, 'the window shown again');
    expect(shown.windows).toHaveLength(1);

    await app.command({ cmd: 'clickTray', label: 'Quit' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });

  it("IPC: the dashboard's calls are answered; a stranger, a subframe, another page and bad arguments are refused", async () => {
    const app = await launch(profile());
    await ready(app);
    for (const from of ['stranger', 'subframe', 'other-page'] as const)
      await expect(app.invoke('agent:getSnapshot', [], from), from).rejects.toThrow(/not the ATS Agent dashboard/);
    await expect(app.invoke('agent:getTaskOutput', [42])).rejects.toThrow();
    await expect(app.invoke('agent:updateSettings', [{ serverUrl: 'ws://x', bogus: true }])).rejects.toThrow();
    await expect(app.invoke('agent:openPath', ['/etc'])).rejects.toThrow();
    const snap = await app.invoke<{ connection: { phase: string } }>('agent:getSnapshot');
    expect(snap.connection.phase).toBe('unconfigured');
  });

  it('first run: no token → setup; a wrong token is refused and saves nothing; the right one connects and is sealed', async () => {
    const sim = await platform();
    const p = profile();
    const workDir = path.join(p.dir, 'work');
    const app = await launch(p);
    await ready(app);
    const wrong = await update(app, { serverUrl: sim.url, token: 'tok-typo', workDir });
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toMatch(/refused|rejected/);
    expect(readSettings(p) ?? '').not.toMatch(/token/);
    expect((await app.state()).tray?.image).toBe('offline.png');

    const right = await update(app, { serverUrl: sim.url, token: TOKEN, workDir });
    expect(right.ok).toBe(true);
    await app.waitFor((s) => s.tray?.image === 'online.png', 'the tray online');
    const stored = JSON.parse(readSettings(p)!);
    expect(stored.token.encoding).toBe('safeStorage');
    expect(readSettings(p)).not.toContain(TOKEN);
    expect(stored.agent).toMatchObject({ server: { url: sim.url }, work_dir: workDir });

    // the next start uses the stored (sealed) token, in the tray only (`--hidden`, as at login)
    await app.command({ cmd: 'clickTray', label: 'Quit' });
    expect((await app.exited).code).toBe(0);
    const again = await launch(p, { args: ['--hidden'] });
    await again.command({ cmd: 'ready' });
    const s = await again.waitFor((st) => st.tray?.image === 'online.png' && st, 'online from the stored token');
    expect(s.windows.every((w) => !w.visible)).toBe(true);
  });

  it('the tray follows the agent: busy while a task runs, online after; a failure notifies; events reach the window', async () => {
    const sim = await platform();
    const { app } = await onlineApp(sim);
    sim.dispatch({ task_id: 't-fail', command: 'sleep 1; exit 3' });
    const busy = await app.waitFor((s) => s.tray?.image === 'busy.png' && s, 'the tray busy');
    expect(busy.tray!.tooltip).toMatch(/1 running/);
    expect(busy.tray!.menu[0]!.label).toMatch(/1 running/);
    const after = await app.waitFor(
      (s) => s.tray?.image === 'online.png' && s.notifications.length > 0 && s,
      'online again, with a notification',
    );
    expect(after.notifications).toEqual([
      expect.objectContaining({ title: 'Task t-fail failed (exit 3)', shown: true }),
    ]);
    expect(after.windows[0]!.sent.types).toContain('agent:event:task');
  });

  it('tray Pause holds a task the platform sends and Resume runs it; the window sees the same state (issue 14)', async () => {
    const sim = await platform();
    const { app } = await onlineApp(sim);
    const labels = (s: Awaited<ReturnType<DesktopApp['state']>>) => s.tray!.menu.map((i) => i.label);
    expect(labels(await app.state())).toContain('Pause');
    await app.command({ cmd: 'clickTray', label: 'Pause' });
    const paused = await app.waitFor((s) => labels(s).includes('Resume') && s, 'Resume in the tray menu');
    expect(paused.tray!.menu[0]!.label).toMatch(/paused/);
    expect((await app.invoke<{ control: { paused: boolean } }>('agent:getSnapshot', [])).control.paused).toBe(true);
    sim.dispatch({ task_id: 't-held', command: 'echo held' });
    await sim.waitFor(() => sim.heartbeats.at(-1)?.frame.agent.paused === true, 10_000, 'a paused heartbeat');
    await new Promise((r) => setTimeout(r, 1000));
    expect(sim.result('t-held')).toBeUndefined();
    await app.command({ cmd: 'clickTray', label: 'Resume' });
    expect((await sim.waitFor(() => sim.result('t-held'), 10_000, 'the held task')).status).toBe('success');
    await app.waitFor((s) => labels(s).includes('Pause') && s, 'Pause in the tray menu again');
    // the window's button is the same call
    expect(await app.invoke<Result>('agent:pause', [])).toEqual({ ok: true });
    await app.waitFor((s) => labels(s).includes('Resume') && s, 'Resume after the window paused');
  });

  it('an alert that fires shows a desktop notification, once (issue 14)', async () => {
    const sim = await platform();
    const { app, profile: p } = await onlineApp(sim);
    await app.command({ cmd: 'clickTray', label: 'Quit' });
    expect((await app.exited).code).toBe(0);
    const stored = JSON.parse(readSettings(p)!);
    stored.agent.monitor = { interval: 1, alerts: [{ name: 'always_busy', metric: 'cpu.usage_percent', above: -1 }] };
    writeFileSync(settingsFile(p), JSON.stringify(stored));
    const again = await launch(p, { args: ['--hidden'] });
    await again.command({ cmd: 'ready' });
    const s = await again.waitFor((st) => st.notifications.length > 0 && st, 'an alert notification');
    expect(s.notifications[0]).toMatchObject({ title: 'Alert always_busy firing', shown: true });
    expect(s.notifications[0]!.body).toMatch(/^cpu\.usage_percent = [\d.]+ \(above -1\)$/);
    await sim.waitFor(() => sim.heartbeats.length >= 4, 15_000, 'more heartbeats');
    expect((await again.state()).notifications).toHaveLength(1);
  });

  it("a task's whole log: paged and searched over IPC, shown in the file manager (shell.showItemInFolder) by its id only", async () => {
    const sim = await platform();
    const { app, workDir } = await onlineApp(sim);
    sim.dispatch({ task_id: 't-log', command: 'seq 1 5000; echo needle-line' });
    await sim.waitFor(() => sim.result('t-log'), 15_000, 'the task done');
    const page = await app.invoke<{ lines: string[]; totalLines: number }>('agent:readTaskLog', ['t-log', 4998, 10]);
    expect(page).toMatchObject({ lines: ['4999', '5000', 'needle-line'], totalLines: 5001 });
    const found = await app.invoke<{ matches: unknown[] }>('agent:searchTaskLog', ['t-log', 'NEEDLE', 0]);
    expect(found.matches).toEqual([{ line: 5000, text: 'needle-line' }]);

    expect(await app.invoke<Result>('agent:revealTaskLog', ['t-log'])).toEqual({ ok: true });
    const file = path.join(workDir, 'logs', 'tasks', 't-log.log');
    expect(app.calls.filter((c) => c.api === 'shell.showItemInFolder')).toEqual([
      { api: 'shell.showItemInFolder', path: file },
    ]);
    // a missing log, and ids that walk a path: no shell call
    expect(await app.invoke<Result>('agent:revealTaskLog', ['t-none'])).toMatchObject({ ok: false });
    for (const id of ['../state/outbox', '..', 'a/b', '/etc/passwd'])
      await expect(app.invoke('agent:revealTaskLog', [id]), id).rejects.toThrow(/not a task id/);
    await expect(app.invoke('agent:readTaskLog', ['../../etc/passwd', 0, 10])).rejects.toThrow(/not a task id/);
    expect(app.calls.filter((c) => c.api === 'shell.showItemInFolder')).toHaveLength(1);
  });

  it("a window whose page stops reading is sent at most the dashboard's 4 MB, then a reset when it reads again (issue 11)", async () => {
    const sim = await platform();
    const { app } = await onlineApp(sim);
    await app.command({ cmd: 'stallRenderer', stalled: true });
    const before = (await app.state()).windows[0]!.sent.bytes;
    sim.dispatch({ task_id: 't-flood', command: 'yes 0123456789abcdef0123456789abcdef | head -c 12000000' });
    await sim.waitFor(() => sim.result('t-flood'), 30_000, 'the flood done');
    const stalled = (await app.state()).windows[0]!;
    expect(stalled.sent.bytes - before).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(stalled.sent.bytes - before).toBeGreaterThan(3 * 1024 * 1024);
    await app.command({ cmd: 'stallRenderer', stalled: false });
    // waits for the reset: the page then refetches the snapshot, as a reconnected dashboard does
    await app.waitFor((s) => s.windows[0]!.sent.types.includes('agent:event:reset'), 'a reset once it reads again');
  });

  it('settings changed while online: a wrong token, URL or work dir is refused, changes nothing and stays online; a right URL replaces the agent (issue 16 #1)', async () => {
    const sim = await platform();
    const { app, profile: p } = await onlineApp(sim);
    const saved = readSettings(p);
    const auths = sim.authCount;
    const file = path.join(p.dir, 'a-file');
    writeFileSync(file, '');
    const wrongs: Array<[string, Record<string, unknown>, RegExp]> = [
      ['token', { token: 'tok-typo' }, /refused|rejected/],
      [
        'server URL',
        { serverUrl: `ws://127.0.0.1:${await unusedPort()}/ws/agent` },
        /cannot connect|could not connect/,
      ],
      ['work dir', { workDir: path.join(file, 'work') }, /work dir/],
    ];
    for (const [what, patch, why] of wrongs) {
      const r = await update(app, patch);
      expect(r.ok, what).toBe(false);
      expect(r.message, what).toMatch(why);
      expect(readSettings(p), what).toBe(saved);
      expect((await app.state()).tray?.image, what).toBe('online.png');
      expect(sim.connected, what).toBe(true);
      expect(sim.authCount, what).toBe(auths); // the running agent never dropped its connection
    }
    const settings = await app.invoke<{ serverUrl: string }>('agent:getSettings');
    expect(settings.serverUrl).toBe(sim.url);

    const sim2 = await platform();
    const r = await update(app, { serverUrl: sim2.url });
    expect(r).toMatchObject({ ok: true });
    await sim2.waitFor(() => sim2.connected, 10_000, 'the new agent online');
    await sim.waitFor(() => !sim.connected, 10_000, 'the old agent gone');
    expect(sim.closes).toContain(1000);
    expect(JSON.parse(readSettings(p)!).agent.server.url).toBe(sim2.url);
  });

  describe('Start at login from the tray shows the real state after every click, and a failure is shown (issue 16 #2)', () => {
    async function clickStartAtLogin(app: DesktopApp) {
      await app.command({ cmd: 'clickTray', label: 'Start at login' });
      // the change is asynchronous: wait until the host has answered (a notification, or the OS state)
      await new Promise((r) => setTimeout(r, 300));
      return (await app.state()).tray!.menu.find((i) => i.label === 'Start at login')!;
    }

    it('a development run refuses it: the box stays unchecked, a notification and the settings view say why', async () => {
      const app = await launch(profile());
      await ready(app);
      const item = await clickStartAtLogin(app);
      expect(item.checked).toBe(false);
      const s = await app.waitFor((st) => st.notifications.length > 0 && st, 'a notification');
      expect(s.notifications[0]).toMatchObject({ title: 'Start at login could not be changed', shown: true });
      expect(s.notifications[0]!.body).toMatch(/development run/);
      const view = await app.invoke<{ startAtLogin: boolean; startAtLoginError?: string | null }>('agent:getSettings');
      expect(view.startAtLogin).toBe(false);
      expect(view.startAtLoginError).toMatch(/development run/);
    });

    it('a packaged run whose autostart folder cannot be written: unchecked, notified', async () => {
      const p = profile();
      const notADir = path.join(p.dir, 'config-is-a-file');
      writeFileSync(notADir, '');
      const app = await launch(p, { env: { STANDIN_PACKAGED: '1', XDG_CONFIG_HOME: notADir } });
      await ready(app);
      const item = await clickStartAtLogin(app);
      expect(item.checked).toBe(false);
      const s = await app.waitFor((st) => st.notifications.length > 0 && st, 'a notification');
      expect(s.notifications[0]!.title).toBe('Start at login could not be changed');
    });

    it('a packaged run that can write it: checked with the entry written, unchecked with it removed', async () => {
      const p = profile();
      const config = path.join(p.dir, 'xdg-config');
      mkdirSync(config);
      const app = await launch(p, { env: { STANDIN_PACKAGED: '1', XDG_CONFIG_HOME: config } });
      await ready(app);
      const entry = path.join(config, 'autostart', 'ats-agent.desktop');
      expect((await clickStartAtLogin(app)).checked).toBe(true);
      expect(readFileSync(entry, 'utf8')).toMatch(/--hidden/);
      expect((await clickStartAtLogin(app)).checked).toBe(false);
      expect(existsSync(entry)).toBe(false);
      expect((await app.state()).notifications).toEqual([]);
    });
  });

  describe('quits gracefully the same way from every trigger: running task reported, close 1000, exit 0 (issue 16 #3)', () => {
    const triggers: Array<[string, (app: DesktopApp) => Promise<unknown>]> = [
      ['tray Quit', (app) => app.command({ cmd: 'clickTray', label: 'Quit' })],
      // the window's Quit button: the AgentApi call over IPC (issue 14); its answer may not arrive, the app is going
      ["the window's quit call", async (app) => void app.invoke('agent:quit', []).catch(() => undefined)],
      ['SIGTERM', async (app) => app.child.kill('SIGTERM')],
      ['SIGINT', async (app) => app.child.kill('SIGINT')],
      ["powerMonitor 'shutdown'", (app) => app.command({ cmd: 'emit', target: 'powerMonitor', event: 'shutdown' })],
      ["the window's 'session-end'", (app) => app.command({ cmd: 'emit', target: 'window', event: 'session-end' })],
    ];
    for (const [name, trigger] of triggers)
      it(name, async () => {
        const sim = await platform();
        const { app } = await onlineApp(sim);
        sim.dispatch({ task_id: 't-long', command: LONG });
        await sim.waitFor(() => sim.output('t-long').includes('child='), 10_000, 'the task running');
        await trigger(app);
        expect(await app.exited, app.output()).toEqual({ code: 0, signal: null });
        expect(sim.result('t-long')).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
        await sim.waitFor(() => sim.closes.length > 0, 5_000, 'the close');
        expect(sim.closes).toEqual([1000]);
        expect(app.calls).toContainEqual({ api: 'Tray.destroy' });
      });
  });

  it('--no-gui loads no GUI module; one SIGTERM reaches the agent once and it stops gracefully (issue 16 #3)', async () => {
    const sim = await platform();
    const p = profile();
    const workDir = path.join(p.dir, 'work');
    const app = await launch(p, { args: ['--no-gui', '--server-url', sim.url, '--work-dir', workDir], token: TOKEN });
    await sim.waitFor(() => sim.connected, 15_000, 'the headless agent online');
    sim.dispatch({ task_id: 't-long', command: LONG });
    await sim.waitFor(() => sim.output('t-long').includes('child='), 10_000, 'the task running');

    const loaded = app.modules().filter((m) => m.startsWith('file:'));
    const gui = loaded.filter((m) =>
      /node_modules\/(electron-store|conf|atomically|when-exit)\/|dist-electron\/gui-[^/]*\.js$/.test(m),
    );
    expect.soft(gui).toEqual([]);

    app.child.kill('SIGTERM');
    expect.soft(await app.exited, app.output()).toEqual({ code: 0, signal: null });
    expect.soft(app.signalsForwarded()).toEqual(['SIGTERM']);
    expect.soft(app.signalsToAgent()).toEqual(['SIGTERM']);
    expect(sim.result('t-long')).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
    await sim.waitFor(() => sim.closes.length > 0, 5_000, 'the close');
    expect(sim.closes).toEqual([1000]);
    expect((await app.state().catch(() => null)) ?? { windows: [] }).toMatchObject({ windows: [] });
    expect(app.calls.filter((c) => c.api === 'BrowserWindow' || c.api === 'Tray')).toEqual([]);
  });

  it('a quit during a slow settings change starts no agent after it (issue 11)', async () => {
    const sim = await platform();
    const sim2 = await platform();
    const { app } = await onlineApp(sim);
    // the old agent takes ~2 s to stop: its task ends on its own time after SIGTERM
    sim.dispatch({ task_id: 't-slow', command: 'trap "sleep 2; exit 0" TERM; echo ready; sleep 60 & wait' });
    await sim.waitFor(() => sim.output('t-slow').includes('ready'), 10_000, 'the task running');
    const changing = update(app, { serverUrl: sim2.url }).catch((err: Error) => ({ ok: false, message: err.message }));
    await app.waitFor((s) => /stopping/.test(s.tray?.tooltip ?? ''), 'the old agent stopping for the change');
    const authsAtQuit = sim2.authCount;
    await app.command({ cmd: 'clickTray', label: 'Quit' });
    expect(await app.exited, app.output()).toEqual({ code: 0, signal: null });
    await changing;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sim2.authCount).toBe(authsAtQuit);
    expect(sim2.connected).toBe(false);
  });
});
