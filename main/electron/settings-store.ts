/**
 * The desktop's settings on disk: electron-store (`settings.json` in userData, mode 0600) holding
 * the SAME config schema as the YAML file and the CLI (sparse, see settings-schema.ts) plus the GUI
 * keys, and the token encrypted with safeStorage (base64 in the store).
 *
 * safeStorage works only in the main process after `ready`. On Linux without a keyring (no
 * gnome-libsecret / kwallet) Chromium falls back to 'basic_text': a hard-coded key, i.e. plain text
 * in effect; the UI is told `tokenStorage: 'plaintext'` so that it can warn.
 */
import { renameSync } from 'node:fs';
import path from 'node:path';
import { app, safeStorage } from 'electron';
import Store from 'electron-store';
import type { TokenStorage } from '../core/api.js';
import type { SettingsBackend } from './agent-host.js';
import { readStoredSettings, type StoredSettings, type StoredToken } from './settings-schema.js';

export class ElectronSettingsBackend implements SettingsBackend {
  private readonly store: Store<Record<string, unknown>>;
  private readonly warned = new Set<string>();

  constructor(opts: { cwd?: string } = {}) {
    const open = () =>
      new Store<Record<string, unknown>>({
        name: 'settings',
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        configFileMode: 0o600,
        // a broken file is kept aside and reported, never silently wiped (see below)
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
      });
    try {
      this.store = open();
    } catch (err) {
      // not JSON at all (a crash mid-write, a hand edit): the app must still start, on the setup form
      const file = path.join(opts.cwd ?? app.getPath('userData'), 'settings.json');
      const aside = `${file}.broken-${Date.now()}`;
      renameSync(file, aside);
      this.warnOnce(`settings file unreadable (${(err as Error).message}); kept as ${aside}, starting from defaults`);
      this.store = open();
    }
  }

  get path(): string {
    return this.store.path;
  }

  load(): StoredSettings {
    let raw: unknown = {};
    try {
      raw = this.store.store;
    } catch (err) {
      this.warnOnce(`settings file unreadable (${(err as Error).message}): using defaults`);
    }
    const { settings, problems } = readStoredSettings(raw);
    problems.forEach((p) => this.warnOnce(p));
    return settings;
  }

  save(next: StoredSettings): void {
    this.store.store = { ...next } as Record<string, unknown>;
  }

  readToken(stored: StoredSettings): string | null {
    const token = stored.token;
    if (!token) return null;
    if (token.encoding === 'plain') return token.value;
    try {
      if (!safeStorage.isEncryptionAvailable()) return null;
      return safeStorage.decryptString(Buffer.from(token.value, 'base64')) || null;
    } catch (err) {
      // another user, a reset keyring, a copied profile: the token must be entered again
      this.warnOnce(`the stored token cannot be decrypted: ${(err as Error).message}`);
      return null;
    }
  }

  sealToken(token: string): StoredToken {
    if (safeStorage.isEncryptionAvailable())
      return { encoding: 'safeStorage', value: safeStorage.encryptString(token).toString('base64') };
    this.warnOnce('no OS encryption available: the token is stored as plain text (file mode 0600)');
    return { encoding: 'plain', value: token };
  }

  tokenStorage(): TokenStorage {
    if (!safeStorage.isEncryptionAvailable()) return 'plaintext';
    if (process.platform === 'linux') {
      const backend = safeStorage.getSelectedStorageBackend();
      if (backend === 'basic_text' || backend === 'unknown') return 'plaintext';
    }
    return 'keyring';
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    console.warn(`ats-agent settings: ${message}`);
  }
}
