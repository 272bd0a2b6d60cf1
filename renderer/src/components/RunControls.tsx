import { useEffect, useState } from 'react';
import type { AgentSnapshot, CommandResult } from '../../../main/core/api.js';
import { useI18n } from '../i18n/index.js';
import { errorText } from '../state/agent-store.js';
import { useAgentStore } from '../state/useAgent.js';

/** How long Quit waits for its confirming second click. */
const CONFIRM_MS = 5000;

/**
 * Pause / Resume and Quit: the same AgentApi calls as the tray's menu, so the window and the tray
 * can never disagree. The state shown is the agent's (a `control` event), never the button's own.
 */
export function RunControls({ snapshot }: { snapshot: AgentSnapshot }) {
  const { t } = useI18n();
  const store = useAgentStore();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [confirmQuit, setConfirmQuit] = useState(false);
  useEffect(() => {
    if (!confirmQuit) return;
    const timer = setTimeout(() => setConfirmQuit(false), CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [confirmQuit]);
  const control = snapshot.control;
  if (!control) return null;

  const run = async (call: () => Promise<CommandResult>) => {
    setBusy(true);
    setProblem(null);
    try {
      const r = await call();
      if (!r.ok) setProblem(r.message ?? '');
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const stopping = snapshot.connection.phase === 'stopping' || snapshot.connection.phase === 'stopped';

  return (
    <div className="run-controls">
      {control.draining ? (
        <span className="badge tone-warn" data-testid="control-state" role="status">
          {t('control.draining')}
        </span>
      ) : control.paused ? (
        <span className="badge tone-warn" data-testid="control-state" role="status">
          {t('control.paused')}
        </span>
      ) : null}
      {control.ephemeral ? <span className="badge tone-neutral">{t('control.ephemeral')}</span> : null}
      {control.paused && !control.draining ? (
        <button
          type="button"
          className="btn btn-small btn-primary"
          disabled={busy || stopping}
          onClick={() => void run(() => store.api.resume())}
        >
          {t('control.resume')}
        </button>
      ) : (
        <button
          type="button"
          className="btn btn-small"
          disabled={busy || stopping || control.draining}
          title={t('control.pauseHint')}
          onClick={() => void run(() => store.api.pause())}
        >
          {t('control.pause')}
        </button>
      )}
      <button
        type="button"
        className="btn btn-small btn-danger"
        disabled={busy || stopping}
        aria-describedby={confirmQuit ? 'quit-confirm' : undefined}
        onClick={() => {
          if (!confirmQuit) return setConfirmQuit(true);
          setConfirmQuit(false);
          void run(() => store.api.quit());
        }}
      >
        {confirmQuit ? t('control.quitConfirm') : t(snapshot.agent.mode === 'gui' ? 'control.quit' : 'control.stop')}
      </button>
      {confirmQuit ? (
        <span id="quit-confirm" className="muted small">
          {t('control.quitHint')}
        </span>
      ) : null}
      {problem !== null ? (
        <span className="error-text small" role="alert">
          {t('control.failed', { message: problem })}
        </span>
      ) : null}
    </div>
  );
}
