import { describe, expect, it } from 'vitest';
import { DEFAULT_WORK_DIR } from '../core/config/schema.js';
import {
  STORE_DEFAULTS,
  agentConfigOf,
  applySettingsPatch,
  readStoredSettings,
  settingsViewOf,
  touchesConnection,
} from './settings-schema.js';

describe('stored desktop settings', () => {
  it('an empty store is the config schema defaults plus the GUI defaults', () => {
    const { settings, problems } = readStoredSettings({});
    expect(problems).toEqual([]);
    expect(settings).toEqual(STORE_DEFAULTS);
    const view = settingsViewOf(settings, 'keyring');
    expect(view).toEqual({
      serverUrl: 'ws://localhost:8000/ws/agent',
      workDir: DEFAULT_WORK_DIR,
      logLevel: 'INFO',
      maxConcurrent: 1,
      keepTasks: 10,
      keepDays: 7,
      notifyOnFailure: true,
      startAtLogin: false,
      tokenStorage: 'keyring',
      editable: true,
    });
    expect(readStoredSettings(undefined).settings).toEqual(STORE_DEFAULTS);
    expect(readStoredSettings('garbage').settings).toEqual(STORE_DEFAULTS);
  });

  it('uses the same ConfigSchema as YAML and CLI: invalid stored config falls back, the token survives', () => {
    const token = { encoding: 'safeStorage', value: 'AAAA' };
    const { settings, problems } = readStoredSettings({
      agent: { server: { url: 'http://nope' } },
      gui: { notifyOnFailure: false },
      token,
    });
    expect(problems).toHaveLength(1);
    expect(settings.agent).toEqual({});
    expect(settings.gui).toEqual({ notifyOnFailure: false, startAtLogin: false });
    expect(settings.token).toEqual(token);
    // unknown keys are refused by the strict schema, as in a YAML file
    expect(readStoredSettings({ agent: { surprise: 1 } }).problems).toHaveLength(1);
    expect(readStoredSettings({ gui: { notifyOnFailure: 'yes' } }).problems).toHaveLength(1);
    expect(readStoredSettings({ token: { encoding: 'rot13', value: 'x' } }).problems).toEqual([
      'the stored token is unreadable: set it again',
    ]);
  });

  it('maps UI keys onto config keys, sparsely', () => {
    const r = applySettingsPatch(STORE_DEFAULTS, {
      serverUrl: 'wss://ats.example.com/ws/agent',
      workDir: '/srv/ats',
      logLevel: 'DEBUG',
      maxConcurrent: 3,
      keepTasks: 5,
      keepDays: 2,
      notifyOnFailure: false,
      startAtLogin: true,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.next.agent).toEqual({
      server: { url: 'wss://ats.example.com/ws/agent' },
      work_dir: '/srv/ats',
      logging: { level: 'DEBUG' },
      task: { max_concurrent: 3, cleanup: { keep_tasks: 5, keep_days: 2 } },
    });
    expect(r.next.gui).toEqual({ notifyOnFailure: false, startAtLogin: true });
    expect(r.restart).toBe(true);
    const config = agentConfigOf(r.next);
    expect(config.task.timeout).toBe(3600); // untouched keys keep the schema defaults
    expect(config.server.max_retries).toBe(0);
  });

  it('keeps what was stored and the token, and does not mutate its input', () => {
    const stored = {
      ...STORE_DEFAULTS,
      agent: { task: { timeout: 60, cleanup: { keep_days: 9 } } },
      token: { encoding: 'plain' as const, value: 't' },
    };
    const before = structuredClone(stored);
    const r = applySettingsPatch(stored, { keepTasks: 1 });
    expect(stored).toEqual(before);
    expect(r.ok && r.next.agent).toEqual({ task: { timeout: 60, cleanup: { keep_days: 9, keep_tasks: 1 } } });
    expect(r.ok && r.next.token).toEqual(stored.token);
    expect(r.ok && r.restart).toBe(false);
  });

  it('refuses what the config schema refuses', () => {
    expect(applySettingsPatch(STORE_DEFAULTS, { serverUrl: 'http://ats.example.com' })).toMatchObject({ ok: false });
    expect(applySettingsPatch(STORE_DEFAULTS, { maxConcurrent: 0 })).toMatchObject({ ok: false });
  });

  it('needs a new agent only for server URL, token or work dir changes', () => {
    const current = agentConfigOf(STORE_DEFAULTS);
    expect(touchesConnection({ token: 'x' }, current)).toBe(true);
    expect(touchesConnection({ serverUrl: 'ws://other/ws' }, current)).toBe(true);
    expect(touchesConnection({ serverUrl: current.server.url }, current)).toBe(false);
    expect(touchesConnection({ workDir: '/elsewhere' }, current)).toBe(true);
    expect(touchesConnection({ logLevel: 'ERROR', maxConcurrent: 2, notifyOnFailure: false }, current)).toBe(false);
  });

  it('never shows a token that was put in the server URL', () => {
    const r = applySettingsPatch(STORE_DEFAULTS, { serverUrl: 'ws://h/ws?token=s3cret' });
    expect(r.ok && settingsViewOf(r.next, 'keyring').serverUrl).toBe('ws://h/ws?token=***');
  });
});
