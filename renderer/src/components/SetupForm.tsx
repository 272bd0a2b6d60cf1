import { useEffect, useId, useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/index.js';
import { errorText } from '../state/agent-store.js';
import { useAgentStore } from '../state/useAgent.js';

/** First run (phase 'unconfigured'): the host validates by actually connecting. */
export function SetupForm({ initialWorkDir, initialServerUrl }: { initialWorkDir: string; initialServerUrl: string }) {
  const { t } = useI18n();
  const store = useAgentStore();
  const ids = useId();
  const [serverUrl, setServerUrl] = useState(initialServerUrl);
  const [token, setToken] = useState('');
  /** a registration token is traded for an agent token by the host (`register`), then used as one */
  const [kind, setKind] = useState<'agent' | 'registration'>('agent');
  const [workDir, setWorkDir] = useState(initialWorkDir);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    store.api.getSettings().then(
      (s) => {
        if (!live) return;
        setWorkDir((w) => w || s.workDir);
        setServerUrl((u) => u || s.serverUrl);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [store]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!serverUrl.trim() || !token.trim()) {
      setProblem(t('setup.required'));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const r = await store.api.updateSettings({
        serverUrl: serverUrl.trim(),
        ...(kind === 'agent' ? { token: token.trim() } : { registrationToken: token.trim() }),
        workDir: workDir.trim() || undefined,
      });
      if (!r.ok) setProblem(t('setup.failed', { message: r.message ?? '' }));
    } catch (err) {
      setProblem(t('setup.failed', { message: errorText(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="setup">
      <form
        className="setup-card"
        data-testid="setup-form"
        onSubmit={(e) => void submit(e)}
        aria-labelledby={`${ids}-title`}
        noValidate
      >
        <h2 id={`${ids}-title`}>{t('setup.title')}</h2>
        <p className="muted">{t('setup.intro')}</p>
        <div className="field">
          <label htmlFor={`${ids}-url`}>{t('setup.serverUrl')}</label>
          <input
            id={`${ids}-url`}
            name="serverUrl"
            className="input mono"
            type="url"
            required
            autoFocus
            spellCheck={false}
            placeholder="wss://"
            value={serverUrl}
            onChange={(e) => setServerUrl(e.target.value)}
            aria-describedby={`${ids}-url-hint`}
          />
          <span id={`${ids}-url-hint`} className="hint">
            {t('setup.serverUrlHint')}
          </span>
        </div>
        <fieldset className="field token-kind">
          <legend>{t('setup.tokenKind')}</legend>
          {(['agent', 'registration'] as const).map((k) => (
            <label key={k} className="radio">
              <input type="radio" name="tokenKind" value={k} checked={kind === k} onChange={() => setKind(k)} />
              {t(k === 'agent' ? 'setup.kindAgent' : 'setup.kindRegistration')}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={`${ids}-token`}>{t(kind === 'agent' ? 'setup.token' : 'setup.registrationToken')}</label>
          <input
            id={`${ids}-token`}
            name="token"
            className="input mono"
            type="password"
            required
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-describedby={kind === 'registration' ? `${ids}-token-hint` : undefined}
          />
          {kind === 'registration' ? (
            <span id={`${ids}-token-hint`} className="hint">
              {t('setup.registrationHint')}
            </span>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-dir`}>{t('setup.workDir')}</label>
          <input
            id={`${ids}-dir`}
            name="workDir"
            className="input mono"
            type="text"
            spellCheck={false}
            value={workDir}
            onChange={(e) => setWorkDir(e.target.value)}
            aria-describedby={`${ids}-dir-hint`}
          />
          <span id={`${ids}-dir-hint`} className="hint">
            {t('setup.workDirHint')}
          </span>
        </div>
        {problem ? (
          <p className="notice notice-bad" role="alert">
            {problem}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? t('setup.submitting') : t('setup.submit')}
        </button>
      </form>
    </div>
  );
}
