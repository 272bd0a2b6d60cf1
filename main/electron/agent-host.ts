/**
 * The desktop host's agent lifecycle, without Electron (NO electron import: it unit-tests in Node
 * against the platform simulator). It owns the one current Agent, or none:
 *
 * - first run (no token stored): no agent; the UI gets an AgentApi whose snapshot says
 *   `connection.phase: 'unconfigured'` and shows its setup form. `updateSettings({serverUrl, token,
 *   workDir})` then validates by connecting: it starts an Agent with those settings and waits until
 *   it is online (→ the settings and token are saved, that agent stays) or fails (AUTH_FAILED, or no
 *   connection after a few attempts / ~15 s → it is shut down and the reason returned).
 * - a settings change that touches the server URL, the token or the work dir is validated the same
 *   way while the running agent stays online: the work dir must be usable and a connection with the
 *   new settings must reach `auth_success` (connection-check.ts). Only then are the settings saved
 *   and the agent replaced (graceful shutdown of the old one, a new one started; subscribers get
 *   `{type:'reset'}`). A failure changes nothing.
 * - shutdown() ends whatever is in progress: a check, a replacement (which then starts nothing).
 *
 * Subscriptions are the host's, not an agent's: they survive a replacement.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { Agent, AGENT_VERSION, type AgentOptions } from '../core/agent.js';
import { createAgentApi } from '../core/agent-api.js';
import type {
  AgentApi,
  AgentEvent,
  AgentSnapshot,
  CommandResult,
  ConnectionView,
  PathTarget,
  SettingsPatch,
  SettingsView,
  TokenStorage,
} from '../core/api.js';
import type { AgentConfig } from '../core/config/schema.js';
import { redactUrl } from '../core/logging/redact.js';
import { prepareWorkDir, workLayout } from '../core/workspace/layout.js';
import { requestAgentToken } from '../core/connection/registration.js';
import { ConnectionCheck } from './connection-check.js';
import {
  agentConfigOf,
  applySettingsPatch,
  settingsViewOf,
  type GuiSettings,
  type StoredSettings,
  type StoredToken,
} from './settings-schema.js';
import { ZERO_COUNTERS } from '../core/state/agent-state.js';

/** Where the desktop keeps its settings; settings-store.ts implements it with electron-store + safeStorage. */
export interface SettingsBackend {
  load(): StoredSettings;
  save(next: StoredSettings): void;
  /** the stored token, decrypted; null when there is none or it cannot be decrypted */
  readToken(stored: StoredSettings): string | null;
  /** the token as it is to be stored (encrypted where the OS allows it) */
  sealToken(token: string): StoredToken;
  tokenStorage(): TokenStorage;
}

/** What only the desktop can do; absent in tests. */
export interface HostServices {
  openPath?(dir: string): Promise<CommandResult>;
  /** the file manager, with this file selected */
  showItemInFolder?(file: string): Promise<CommandResult>;
  setStartAtLogin?(enabled: boolean): CommandResult | Promise<CommandResult>;
  /** what the OS says now (the settings view shows it, not what was last asked for) */
  getStartAtLogin?(): boolean;
  /** the whole app quits (the tray's Quit); without it the UI's quit stops the agent only */
  quit?(): void;
}

export interface AgentHostOptions {
  backend: SettingsBackend;
  services?: HostServices;
  /** for tests; Agent.create by default */
  createAgent?: (opts: AgentOptions) => Promise<Agent>;
  /** first-run connection check: give up after this long ... */
  probeTimeoutMs?: number;
  /** ... or after this many failed connection attempts in a row */
  probeMaxAttempts?: number;
  /** echo the agent log to stdout (development) */
  console?: boolean;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 15_000;
export const DEFAULT_PROBE_MAX_ATTEMPTS = 3;

export class AgentHost {
  readonly api: AgentApi;
  private agent: Agent | null = null;
  private detach: (() => void) | null = null;
  private probing: Agent | null = null;
  private checking: ConnectionCheck | null = null;
  /** why the last change of start at login failed; shown in the settings view until one succeeds */
  private startAtLoginError: string | null = null;
  private readonly events = new EventEmitter<{ event: [AgentEvent] }>();
  /** the connection shown while there is no agent: 'unconfigured', or 'stopped' with the reason */
  private idle: ConnectionView;
  private readonly startedAt = new Date().toISOString();
  private queue: Promise<unknown> = Promise.resolve();
  private closing = false;
  private readonly createAgent: (opts: AgentOptions) => Promise<Agent>;

  constructor(private readonly opts: AgentHostOptions) {
    this.events.setMaxListeners(0);
    this.createAgent = opts.createAgent ?? ((o) => Agent.create(o));
    const config = agentConfigOf(opts.backend.load());
    this.idle = idleConnection('unconfigured', config);
    const live = createAgentApi(() => this.agent!, {
      settings: () => this.settingsView(),
      updateSettings: (patch) => this.updateSettings(patch),
      openPath: (target) => this.openPath(target),
      revealFile: async (file) =>
        this.opts.services?.showItemInFolder
          ? this.opts.services.showItemInFolder(file)
          : { ok: false, message: 'files show only in the desktop app' },
    });
    const notRunning = () => new Error('the agent is not running');
    this.api = {
      getSnapshot: async () => (this.agent ? live.getSnapshot() : this.idleSnapshot()),
      subscribe: (listener) => this.subscribe(listener),
      getTaskOutput: async (taskId) => (this.agent ? live.getTaskOutput(taskId) : []),
      cancelTask: async (taskId) =>
        this.agent ? live.cancelTask(taskId) : { ok: false, message: 'the agent is not running' },
      getSettings: live.getSettings,
      updateSettings: live.updateSettings,
      openPath: live.openPath,
      pause: async () => (this.agent ? live.pause() : { ok: false, message: 'the agent is not running' }),
      resume: async () => (this.agent ? live.resume() : { ok: false, message: 'the agent is not running' }),
      quit: async () => {
        if (opts.services?.quit) opts.services.quit();
        else await this.shutdown();
        return { ok: true };
      },
      getTaskHistory: async (query) => (this.agent ? live.getTaskHistory(query) : { tasks: [], total: 0 }),
      readTaskLog: async (...args) => {
        if (!this.agent) throw notRunning();
        return live.readTaskLog(...args);
      },
      searchTaskLog: async (...args) => {
        if (!this.agent) throw notRunning();
        return live.searchTaskLog(...args);
      },
      revealTaskLog: async (taskId) =>
        this.agent ? live.revealTaskLog(taskId) : { ok: false, message: 'the agent is not running' },
    };
  }

  /** Starts the agent when a token is stored; else stays 'unconfigured' for the setup form. */
  async start(): Promise<void> {
    await this.serial(async () => {
      const stored = this.opts.backend.load();
      const token = this.opts.backend.readToken(stored);
      const config = agentConfigOf(stored);
      if (!token) {
        this.idle = idleConnection(
          'unconfigured',
          config,
          stored.token ? 'the stored token could not be decrypted: enter it again' : null,
        );
        return;
      }
      await this.launch(config, token);
    });
  }

  get current(): Agent | null {
    return this.agent;
  }

  get configured(): boolean {
    return this.agent !== null;
  }

  gui(): GuiSettings {
    return this.opts.backend.load().gui;
  }

  settingsView(): SettingsView {
    const view = settingsViewOf(this.opts.backend.load(), this.opts.backend.tokenStorage());
    const actual = this.opts.services?.getStartAtLogin?.();
    return {
      ...view,
      ...(actual === undefined ? {} : { startAtLogin: actual }),
      startAtLoginError: this.startAtLoginError,
    };
  }

  subscribe(listener: (event: AgentEvent) => void): () => void {
    const safe = (event: AgentEvent) => {
      try {
        listener(event);
      } catch {
        // one broken subscriber must not starve the others
      }
    };
    this.events.on('event', safe);
    return () => this.events.off('event', safe);
  }

  /** The work dir in use (the platform may have named another than the stored one) and its logs dir. */
  dirs(): { workDir: string; logsDir: string } {
    const root = this.agent
      ? this.agent.state.snapshot().connection.workDir
      : agentConfigOf(this.opts.backend.load()).work_dir;
    const layout = workLayout(root);
    return { workDir: layout.root, logsDir: layout.logsDir };
  }

  updateSettings(patch: SettingsPatch): Promise<CommandResult> {
    return this.serial(() => this.applyUpdate(patch));
  }

  /**
   * A registration token (the first-run form) becomes an agent token here, with the same exchange as
   * `ats-agent register`; the rest of the update then runs as if that token had been typed.
   */
  private async exchangeRegistration(
    patch: SettingsPatch,
    current: AgentConfig,
  ): Promise<{ ok: true; patch: SettingsPatch } | { ok: false; message: string }> {
    const { registrationToken, ...rest } = patch;
    if (registrationToken === undefined) return { ok: true, patch };
    if (rest.token !== undefined)
      return { ok: false, message: 'enter either the agent token or a registration token, not both' };
    try {
      const { token } = await requestAgentToken({
        registrationToken,
        serverUrl: rest.serverUrl ?? current.server.url,
        tags: current.agent.tags,
        caFile: current.server.ca_file,
        version: AGENT_VERSION,
        mode: 'gui',
      });
      return { ok: true, patch: { ...rest, token } };
    } catch (err) {
      return { ok: false, message: `registration failed: ${errorText(err)}` };
    }
  }

  async openPath(target: PathTarget): Promise<CommandResult> {
    if (!this.opts.services?.openPath) return { ok: false, message: 'folders open only in the desktop app' };
    const dirs = this.dirs();
    return this.opts.services.openPath(target === 'logs' ? dirs.logsDir : dirs.workDir);
  }

  /**
   * Graceful: the running agent (and a check in progress) stop their tasks and close. A replacement
   * in progress sees `closing` and starts nothing; shutdown waits for it, so that nothing runs after
   * it returned.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    await Promise.all([this.agent?.shutdown(), this.probing?.shutdown(), this.checking?.cancel()]);
    await this.queue;
    await this.agent?.shutdown();
    this.detach?.();
    this.detach = null;
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyUpdate(request: SettingsPatch): Promise<CommandResult> {
    if (this.closing) return { ok: false, message: 'the agent is shutting down' };
    const { backend } = this.opts;
    const stored = backend.load();
    const exchanged = await this.exchangeRegistration(request, agentConfigOf(stored));
    if (!exchanged.ok) return exchanged;
    const patch = exchanged.patch;
    const outcome = applySettingsPatch(stored, patch);
    if (!outcome.ok) return outcome;
    const next = outcome.next;
    const token = patch.token ?? backend.readToken(stored);
    const config = agentConfigOf(next);

    if (!this.agent && (outcome.restart || patch.token !== undefined)) {
      // First run (or no agent after a failure): a change of the connection is a connection attempt.
      if (!token) return { ok: false, message: 'enter the agent token from the platform to connect' };
      const probe = await this.probe(config, token);
      if (!probe.ok) {
        this.idle = idleConnection(this.idle.phase === 'stopped' ? 'stopped' : 'unconfigured', config, probe.message);
        this.emit({ type: 'connection', connection: { ...this.idle } });
        return probe;
      }
      const startAtLogin = await this.applyStartAtLogin(patch, stored);
      backend.save({ ...next, ...(patch.token ? { token: backend.sealToken(patch.token) } : {}) });
      this.attach(probe.agent);
      this.emit({ type: 'reset' });
      return startAtLogin.ok ? { ok: true, message: `connected to ${redactUrl(config.server.url)}` } : startAtLogin;
    }

    const running = this.agent;
    if (outcome.restart && running) {
      if (!token) return { ok: false, message: 'no token stored: enter the agent token' };
      // validated like the first run, while the running agent stays online
      try {
        await prepareWorkDir(config.work_dir);
      } catch (err) {
        return { ok: false, message: `not saved: work dir ${config.work_dir}: ${errorText(err)}` };
      }
      const check = await this.checkConnection(config, token, running);
      if (!check.ok) return { ok: false, message: `not saved (still connected as before): ${check.message}` };
      if (this.closing) return { ok: false, message: 'the agent is shutting down' };
      const startAtLogin = await this.applyStartAtLogin(patch, stored);
      backend.save({ ...next, ...(patch.token ? { token: backend.sealToken(patch.token) } : {}) });
      await this.replace(config, token);
      if (!this.agent) return { ok: false, message: this.idle.lastError?.message ?? 'the agent could not start' };
      return startAtLogin.ok
        ? { ok: true, message: 'saved; the agent reconnected with the new settings' }
        : startAtLogin;
    }

    const startAtLogin = await this.applyStartAtLogin(patch, stored);
    if (!startAtLogin.ok) return startAtLogin;
    backend.save(next);
    const later =
      patch.logLevel !== undefined ||
      patch.maxConcurrent !== undefined ||
      patch.keepTasks !== undefined ||
      patch.keepDays !== undefined;
    return {
      ok: true,
      message: later ? 'saved; the log level and task limits apply from the next start of the agent' : 'saved',
    };
  }

  private async applyStartAtLogin(patch: SettingsPatch, stored: StoredSettings): Promise<CommandResult> {
    if (typeof patch.startAtLogin !== 'boolean') return { ok: true };
    const services = this.opts.services;
    const actual = services?.getStartAtLogin?.() ?? stored.gui.startAtLogin;
    if (patch.startAtLogin === actual) {
      this.startAtLoginError = null;
      return { ok: true };
    }
    if (!services?.setStartAtLogin) return { ok: true };
    let result: CommandResult;
    try {
      result = await services.setStartAtLogin(patch.startAtLogin);
    } catch (err) {
      result = { ok: false, message: `start at login: ${errorText(err)}` };
    }
    this.startAtLoginError = result.ok ? null : (result.message ?? 'start at login could not be changed');
    return result;
  }

  /** A real connection with the new settings, the running agent untouched; its log gets the check's lines. */
  private async checkConnection(
    config: AgentConfig,
    token: string,
    running: Agent,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    let check: ConnectionCheck;
    try {
      check = new ConnectionCheck({
        config,
        token,
        agentId: running.state.snapshot().agent.agentId,
        timeoutMs: this.opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
        maxAttempts: this.opts.probeMaxAttempts ?? DEFAULT_PROBE_MAX_ATTEMPTS,
        log: running.logger('settings-check'),
      });
    } catch (err) {
      return { ok: false, message: errorText(err) }; // a URL or CA file the connection cannot even use
    }
    this.checking = check;
    try {
      return await check.result;
    } finally {
      this.checking = null;
    }
  }

  /** Stops the current agent, starts one with the new settings and tells subscribers to start over. */
  private async replace(config: AgentConfig, token: string): Promise<void> {
    const old = this.agent;
    if (old) {
      await old.shutdown();
      this.detach?.();
      this.detach = null;
      this.agent = null;
    }
    if (this.closing) return; // a quit came while the old agent stopped: start nothing
    await this.launch(config, token);
    this.emit({ type: 'reset' });
  }

  private async launch(config: AgentConfig, token: string): Promise<void> {
    try {
      const agent = await this.createAgent({
        config,
        token: () => token,
        mode: 'gui',
        console: this.opts.console ?? false,
      });
      if (this.closing) {
        await agent.shutdown(); // created while the app began to quit: never started
        return;
      }
      this.attach(agent);
      agent.start();
    } catch (err) {
      this.idle = idleConnection('stopped', config, `the agent could not start: ${errorText(err)}`);
    }
  }

  private attach(agent: Agent): void {
    this.detach?.();
    this.agent = agent;
    this.detach = agent.state.subscribe((event) => this.emit(event));
  }

  private emit(event: AgentEvent): void {
    this.events.emit('event', event);
  }

  /** Starts an agent with the given settings and waits until it is online or clearly cannot be. */
  private async probe(
    config: AgentConfig,
    token: string,
  ): Promise<{ ok: true; agent: Agent } | { ok: false; message: string }> {
    let agent: Agent;
    try {
      agent = await this.createAgent({ config, token: () => token, mode: 'gui', console: this.opts.console ?? false });
    } catch (err) {
      return { ok: false, message: errorText(err) };
    }
    this.probing = agent;
    const timeoutMs = this.opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const maxAttempts = this.opts.probeMaxAttempts ?? DEFAULT_PROBE_MAX_ATTEMPTS;
    const url = redactUrl(config.server.url);
    const result = await new Promise<{ ok: true } | { ok: false; message: string }>((resolve) => {
      let last: ConnectionView['lastError'] = null;
      const done = (r: { ok: true } | { ok: false; message: string }) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(r);
      };
      const timer = setTimeout(
        () =>
          done({
            ok: false,
            message: `could not connect to ${url} within ${Math.round(timeoutMs / 1000)} s${last ? `: ${last.message}` : ''}`,
          }),
        timeoutMs,
      );
      const unsubscribe = agent.state.subscribe((event) => {
        if (event.type !== 'connection') return;
        const c = event.connection;
        if (c.lastError) last = c.lastError;
        if (c.phase === 'online') done({ ok: true });
        else if (c.phase === 'auth_failed')
          done({ ok: false, message: c.lastError?.message ?? 'the platform refused the token (AUTH_FAILED)' });
        else if (c.phase === 'stopped') done({ ok: false, message: c.lastError?.message ?? 'the agent stopped' });
        else if (c.phase === 'reconnecting' && c.attempt >= maxAttempts) {
          done({ ok: false, message: `cannot connect to ${url}: ${c.lastError?.message ?? 'no answer'}` });
        }
      });
      agent.finished.then(
        (exit) =>
          done(
            exit.error
              ? { ok: false, message: `${exit.error.code}: ${exit.error.message}` }
              : { ok: false, message: 'the agent stopped' },
          ),
        () => done({ ok: false, message: 'the agent stopped' }),
      );
      agent.start();
    });
    this.probing = null;
    if (result.ok && !this.closing) return { ok: true, agent };
    await agent.shutdown();
    return result.ok ? { ok: false, message: 'the agent is shutting down' } : result;
  }

  private idleSnapshot(): AgentSnapshot {
    return {
      agent: {
        version: AGENT_VERSION,
        agentId: '',
        mode: 'gui',
        hostname: os.hostname(),
        pid: process.pid,
        startedAt: this.startedAt,
        runningAsRoot: process.getuid?.() === 0,
      },
      connection: { ...this.idle, lastError: this.idle.lastError ? { ...this.idle.lastError } : null },
      system: null,
      metrics: [],
      tasks: [],
      counters: { ...ZERO_COUNTERS },
      log: [],
      lastHeartbeatAt: null,
      outbox: { frames: 0, bytes: 0 },
    };
  }
}

function idleConnection(
  phase: 'unconfigured' | 'stopped',
  config: AgentConfig,
  error: string | null = null,
): ConnectionView {
  return {
    phase,
    serverUrl: redactUrl(config.server.url),
    environmentId: null,
    workDir: config.work_dir,
    connectedSince: null,
    nextAttemptAt: null,
    attempt: 0,
    lastError: error
      ? {
          code: phase === 'unconfigured' ? 'SETUP_FAILED' : 'AGENT_NOT_STARTED',
          message: error,
          at: new Date().toISOString(),
        }
      : null,
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error)
    return 'code' in err && typeof err.code === 'string' && err.name === 'FatalError'
      ? `${err.code}: ${err.message}`
      : err.message;
  return String(err);
}
