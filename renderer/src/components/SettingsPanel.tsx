import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { PathTarget, SettingsPatch, SettingsView } from '../../../main/core/api.js';
import { useI18n, type DictKey } from '../i18n/index.js';
import { errorText } from '../state/agent-store.js';
import { useAgentStore } from '../state/useAgent.js';
import { Panel } from './Panel.js';

const LOG_LEVELS: SettingsView['logLevel'][] = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

type Draft = Omit<SettingsView, 'tokenStorage' | 'editable'> & { token: string };

export function SettingsPanel({ desktop, reloadKey }: { desktop: boolean; reloadKey: unknown }) {
  const { t } = useI18n();
  const store = useAgentStore();
  const [settings, setSettings] = useState<SettingsView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [reload, setReload] = useState(0);
  const ids = useId();
  /** edits not saved yet survive a refetch (the window shown again, the agent replaced) */
  const edited = useRef(false);

  useEffect(() => {
    let live = true;
    store.api.getSettings().then(
      (s) => {
        if (!live) return;
        setSettings(s);
        if (!edited.current) setDraft({ ...s, token: '' });
        setLoadError(null);
      },
      (err: unknown) => live && setLoadError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [store, reload, reloadKey]);

  if (loadError) {
    return (
      <Panel id="settings" title={t('section.settings')} testId="settings">
        <p className="notice notice-bad">{t('settings.loadFailed', { message: loadError })}</p>
        <button type="button" className="btn" onClick={() => setReload((n) => n + 1)}>
          {t('app.retry')}
        </button>
      </Panel>
    );
  }
  if (!settings || !draft) {
    return (
      <Panel id="settings" title={t('section.settings')} testId="settings">
        <p className="empty">{t('settings.loading')}</p>
      </Panel>
    );
  }

  const ro = !settings.editable;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setDraft({ ...draft, [k]: v });
    edited.current = true;
    setResult(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const patch: SettingsPatch = {};
    const keys = [
      'serverUrl',
      'workDir',
      'logLevel',
      'maxConcurrent',
      'keepTasks',
      'keepDays',
      'notifyOnFailure',
      'startAtLogin',
    ] as const;
    for (const k of keys) if (draft[k] !== settings[k]) (patch as Record<string, unknown>)[k] = draft[k];
    if (draft.token) patch.token = draft.token;
    if (Object.keys(patch).length === 0) {
      setResult({ ok: true, text: t('settings.noChanges') });
      return;
    }
    setSaving(true);
    setResult(null);
    try {
      const r = await store.api.updateSettings(patch);
      if (r.ok) {
        setResult({ ok: true, text: r.message || t('settings.saved') });
        edited.current = false;
        setReload((n) => n + 1);
      } else {
        setResult({ ok: false, text: t('settings.saveFailed', { message: r.message ?? '' }) });
        setReload((n) => n + 1); // the view's own notices (start at login) may have changed; edits are kept
      }
    } catch (err) {
      setResult({ ok: false, text: t('settings.saveFailed', { message: errorText(err) }) });
    } finally {
      setSaving(false);
    }
  };

  const open = async (target: PathTarget) => {
    try {
      const r = await store.api.openPath(target);
      if (!r.ok && r.message) setResult({ ok: false, text: r.message });
    } catch (err) {
      setResult({ ok: false, text: errorText(err) });
    }
  };

  const id = (k: string) => `${ids}-${k}`;
  const num = (k: 'maxConcurrent' | 'keepTasks' | 'keepDays', min: number, max: number) => (
    <div className="field field-num">
      <label htmlFor={id(k)}>{t(`settings.${k}` as DictKey)}</label>
      <input
        id={id(k)}
        className="input"
        type="number"
        min={min}
        max={max}
        step={1}
        required
        readOnly={ro}
        value={Number.isFinite(draft[k]) ? draft[k] : ''}
        onChange={(e) => set(k, e.target.valueAsNumber)}
      />
    </div>
  );
  const check = (k: 'notifyOnFailure' | 'startAtLogin') =>
    draft[k] === null ? null : (
      <div className="field field-check">
        <input
          id={id(k)}
          type="checkbox"
          checked={draft[k] ?? false}
          disabled={ro}
          onChange={(e) => set(k, e.target.checked)}
        />
        <label htmlFor={id(k)}>{t(`settings.${k}` as DictKey)}</label>
      </div>
    );

  return (
    <Panel id="settings" title={t('section.settings')} testId="settings">
      {settings.tokenStorage === 'plaintext' ? (
        <p className="notice notice-warn" role="note">
          {t('settings.plaintextWarning')}
        </p>
      ) : null}
      {ro ? <p className="notice">{t('settings.readOnly')}</p> : null}
      <form
        className={`settings-form ${ro ? 'is-readonly' : ''}`}
        onSubmit={(e) => void submit(e)}
        aria-labelledby="settings-title"
      >
        <div className="field">
          <label htmlFor={id('serverUrl')}>{t('settings.serverUrl')}</label>
          <input
            id={id('serverUrl')}
            className="input mono"
            type="url"
            required
            readOnly={ro}
            value={draft.serverUrl}
            onChange={(e) => set('serverUrl', e.target.value)}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor={id('workDir')}>{t('settings.workDir')}</label>
          <input
            id={id('workDir')}
            className="input mono"
            type="text"
            required
            readOnly={ro}
            value={draft.workDir}
            onChange={(e) => set('workDir', e.target.value)}
            spellCheck={false}
          />
        </div>
        <div className="field-row">
          <div className="field field-num">
            <label htmlFor={id('logLevel')}>{t('settings.logLevel')}</label>
            <select
              id={id('logLevel')}
              className="input"
              disabled={ro}
              value={draft.logLevel}
              onChange={(e) => set('logLevel', e.target.value as SettingsView['logLevel'])}
            >
              {LOG_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </div>
          {num('maxConcurrent', 1, 64)}
          {num('keepTasks', 0, 100000)}
          {num('keepDays', 0, 3650)}
        </div>
        {check('notifyOnFailure')}
        {check('startAtLogin')}
        {settings.startAtLoginError ? (
          <p className="notice notice-bad" role="alert" data-testid="start-at-login-error">
            {t('settings.startAtLoginFailed', { message: settings.startAtLoginError })}
          </p>
        ) : null}
        {!ro ? (
          <div className="field">
            <label htmlFor={id('token')}>{t('settings.newToken')}</label>
            <input
              id={id('token')}
              className="input mono"
              type="password"
              autoComplete="new-password"
              value={draft.token}
              onChange={(e) => set('token', e.target.value)}
              aria-describedby={id('token-hint')}
            />
            <span id={id('token-hint')} className="hint">
              {t('settings.newTokenHint')}
            </span>
          </div>
        ) : null}
        <p className="small muted">
          {t('settings.tokenStorage')}: {t(`settings.storage.${settings.tokenStorage}` as DictKey)}
        </p>
        <div className="form-actions">
          {!ro ? (
            <button type="submit" className="btn btn-primary" disabled={saving}>
              {saving ? t('settings.saving') : t('settings.save')}
            </button>
          ) : null}
          {desktop ? (
            <>
              <button type="button" className="btn" onClick={() => void open('work-dir')}>
                {t('settings.openWorkDir')}
              </button>
              <button type="button" className="btn" onClick={() => void open('logs')}>
                {t('settings.openLogs')}
              </button>
            </>
          ) : null}
          {result ? (
            <span className={result.ok ? 'text-ok small' : 'text-bad small'} role={result.ok ? 'status' : 'alert'}>
              {result.text}
            </span>
          ) : null}
        </div>
      </form>
    </Panel>
  );
}
