/**
 * The desktop app's stored settings: the agent's own config (the SAME `ConfigSchema` as the YAML file
 * and the CLI, kept sparse: only what the user changed) plus the GUI's keys and the token, stored
 * encrypted. Pure (zod, NO electron) so that it unit-tests in Node; `settings-store.ts` persists it
 * with electron-store and safeStorage.
 */
import { z } from 'zod';
import type { SettingsPatch, SettingsView, TokenStorage } from '../core/api.js';
import { ConfigSchema, type AgentConfig, type ConfigInput } from '../core/config/schema.js';
import { redactUrl } from '../core/logging/redact.js';

export const GuiSettingsSchema = z
  .object({
    /** a desktop notification when a task fails */
    notifyOnFailure: z.boolean().default(true),
    startAtLogin: z.boolean().default(false),
  })
  .strict();
export type GuiSettings = z.infer<typeof GuiSettingsSchema>;

export const StoredTokenSchema = z
  .object({
    /** 'safeStorage': base64 of safeStorage.encryptString; 'plain': the token itself (no encryption available) */
    encoding: z.enum(['safeStorage', 'plain']),
    value: z.string().min(1),
  })
  .strict();
export type StoredToken = z.infer<typeof StoredTokenSchema>;

/** What the store file holds. `agent` is a ConfigSchema *input*: defaults are applied on read. */
export interface StoredSettings {
  agent: ConfigInput;
  gui: GuiSettings;
  token?: StoredToken;
}

export const STORE_DEFAULTS: StoredSettings = { agent: {}, gui: { notifyOnFailure: true, startAtLogin: false } };

/** A plain-object check for what came out of a JSON file (records, not arrays or null). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the store's raw contents part by part: a broken part falls back to its defaults (and is
 * reported) without costing the others, the token above all.
 */
export function readStoredSettings(raw: unknown): { settings: StoredSettings; problems: string[] } {
  const problems: string[] = [];
  const doc = isRecord(raw) ? raw : {};
  let agent: ConfigInput = {};
  if (doc.agent !== undefined) {
    const parsed = ConfigSchema.safeParse(doc.agent);
    if (parsed.success && isRecord(doc.agent)) agent = doc.agent as ConfigInput;
    else
      problems.push(
        `stored agent settings are invalid, using defaults: ${parsed.error?.issues[0]?.message ?? 'not an object'}`,
      );
  }
  const gui = GuiSettingsSchema.safeParse(isRecord(doc.gui) ? doc.gui : {});
  if (!gui.success)
    problems.push(`stored desktop settings are invalid, using defaults: ${gui.error.issues[0]?.message}`);
  let token: StoredToken | undefined;
  if (doc.token !== undefined) {
    const parsed = StoredTokenSchema.safeParse(doc.token);
    if (parsed.success) token = parsed.data;
    else problems.push('the stored token is unreadable: set it again');
  }
  return {
    settings: { agent, gui: gui.success ? gui.data : { ...STORE_DEFAULTS.gui }, ...(token ? { token } : {}) },
    problems,
  };
}

export function agentConfigOf(stored: StoredSettings): AgentConfig {
  return ConfigSchema.parse(stored.agent);
}

/** The patch keys that need a new agent: a new connection or a new work dir. */
export function touchesConnection(patch: SettingsPatch, current: AgentConfig): boolean {
  return (
    patch.token !== undefined ||
    (patch.serverUrl !== undefined && patch.serverUrl !== current.server.url) ||
    (patch.workDir !== undefined && patch.workDir !== current.work_dir)
  );
}

export type PatchOutcome = { ok: true; next: StoredSettings; restart: boolean } | { ok: false; message: string };

/**
 * Applies a (validated) patch to the stored settings: maps the UI's keys onto the config's, checks
 * the result with ConfigSchema, and says whether the agent must be replaced. The token is not
 * stored here (encryption is the main process's); `restart` accounts for it.
 */
export function applySettingsPatch(stored: StoredSettings, patch: SettingsPatch): PatchOutcome {
  const a = structuredClone(stored.agent) as Record<string, unknown>;
  const section = (key: string): Record<string, unknown> => (isRecord(a[key]) ? a[key] : (a[key] = {}));
  if (patch.serverUrl !== undefined) section('server').url = patch.serverUrl;
  if (patch.workDir !== undefined) a.work_dir = patch.workDir;
  if (patch.logLevel !== undefined) section('logging').level = patch.logLevel;
  if (patch.maxConcurrent !== undefined) section('task').max_concurrent = patch.maxConcurrent;
  if (patch.keepTasks !== undefined || patch.keepDays !== undefined) {
    const task = section('task');
    const cleanup = isRecord(task.cleanup) ? task.cleanup : (task.cleanup = {});
    if (patch.keepTasks !== undefined) cleanup.keep_tasks = patch.keepTasks;
    if (patch.keepDays !== undefined) cleanup.keep_days = patch.keepDays;
  }
  const parsed = ConfigSchema.safeParse(a);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `invalid settings: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim() };
  }
  const gui: GuiSettings = {
    notifyOnFailure: patch.notifyOnFailure ?? stored.gui.notifyOnFailure,
    startAtLogin: patch.startAtLogin ?? stored.gui.startAtLogin,
  };
  return {
    ok: true,
    next: { agent: a as ConfigInput, gui, ...(stored.token ? { token: stored.token } : {}) },
    restart: touchesConnection(patch, agentConfigOf(stored)),
  };
}

/** The desktop's settings view: what is stored (the agent may run with the platform's work dir). */
export function settingsViewOf(stored: StoredSettings, tokenStorage: TokenStorage): SettingsView {
  const config = agentConfigOf(stored);
  return {
    serverUrl: redactUrl(config.server.url),
    workDir: config.work_dir,
    logLevel: config.logging.level,
    maxConcurrent: config.task.max_concurrent,
    keepTasks: config.task.cleanup.keep_tasks,
    keepDays: config.task.cleanup.keep_days,
    notifyOnFailure: stored.gui.notifyOnFailure,
    startAtLogin: stored.gui.startAtLogin,
    tokenStorage,
    editable: true,
  };
}
