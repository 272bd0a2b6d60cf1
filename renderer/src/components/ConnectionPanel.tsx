import type { AgentSnapshot } from '../../../main/core/api.js';
import { useI18n } from '../i18n/index.js';
import { formatBytes, formatDateTime, formatDuration, formatTime } from '../format.js';
import { useNow } from '../state/useNow.js';
import { Panel } from './Panel.js';
import { RunControls } from './RunControls.js';
import { connectionTone, phaseKey } from './status.js';

export function ConnectionPanel({ snapshot }: { snapshot: AgentSnapshot }) {
  const { t, locale } = useI18n();
  const c = snapshot.connection;
  const ticking = (c.phase === 'reconnecting' && c.nextAttemptAt !== null) || c.connectedSince !== null;
  const now = useNow(ticking);
  const none = <span className="muted">{t('common.none')}</span>;

  let countdown: string | null = null;
  if (c.nextAttemptAt) {
    const secs = Math.ceil((Date.parse(c.nextAttemptAt) - now) / 1000);
    countdown = secs > 0 ? t('conn.nextAttemptIn', { seconds: secs }) : t('conn.nextAttemptNow');
  }
  const tone = connectionTone[c.phase];

  return (
    <Panel id="connection" title={t('section.connection')}>
      <div className="phase-row">
        <span className={`pill tone-${tone}`} data-testid="connection-phase" data-phase={c.phase} role="status">
          <span className="dot" aria-hidden="true" />
          {t(phaseKey(c.phase))}
        </span>
        {countdown !== null && c.phase === 'reconnecting' ? (
          <span className="countdown" aria-live="off">
            {t('conn.nextAttempt')} {countdown}
          </span>
        ) : null}
        <RunControls snapshot={snapshot} />
      </div>
      <dl className="facts">
        <dt>{t('conn.server')}</dt>
        <dd className="mono break">{c.serverUrl || none}</dd>
        <dt>{t('conn.environment')}</dt>
        <dd className="mono" data-testid="environment-id">
          {c.environmentId ?? t('common.none')}
        </dd>
        <dt>{t('conn.connectedSince')}</dt>
        <dd>
          {c.connectedSince ? (
            <>
              <time dateTime={c.connectedSince} title={formatDateTime(c.connectedSince, locale)}>
                {formatTime(c.connectedSince, locale, now)}
              </time>{' '}
              <span className="muted">
                {t('conn.connectedFor', { duration: formatDuration((now - Date.parse(c.connectedSince)) / 1000) })}
              </span>
            </>
          ) : (
            none
          )}
        </dd>
        {c.nextAttemptAt ? (
          <>
            <dt>{t('conn.nextAttempt')}</dt>
            <dd>
              <time dateTime={c.nextAttemptAt}>{formatTime(c.nextAttemptAt, locale, now)}</time>{' '}
              <span className="muted">{countdown}</span>
            </dd>
          </>
        ) : null}
        <dt>{t('conn.tags')}</dt>
        <dd data-testid="agent-tags">
          {snapshot.agent.tags?.length
            ? snapshot.agent.tags.map((tag) => (
                <code key={tag} className="tag">
                  {tag}
                </code>
              ))
            : none}
        </dd>
        <dt>{t('conn.attempts')}</dt>
        <dd className={c.attempt > 0 ? 'text-warn' : undefined}>{c.attempt}</dd>
        <dt>{t('conn.lastError')}</dt>
        <dd>
          {c.lastError ? (
            <span className="error-text">
              <code>{c.lastError.code}</code> {c.lastError.message}{' '}
              <time className="muted" dateTime={c.lastError.at} title={formatDateTime(c.lastError.at, locale)}>
                {formatTime(c.lastError.at, locale, now)}
              </time>
            </span>
          ) : (
            none
          )}
        </dd>
        <dt>{t('conn.lastHeartbeat')}</dt>
        <dd>
          {snapshot.lastHeartbeatAt ? (
            <time dateTime={snapshot.lastHeartbeatAt}>{formatTime(snapshot.lastHeartbeatAt, locale, now)}</time>
          ) : (
            none
          )}
        </dd>
        <dt>{t('conn.outbox')}</dt>
        <dd>{t('conn.outboxValue', { frames: snapshot.outbox.frames, bytes: formatBytes(snapshot.outbox.bytes) })}</dd>
        <dt>{t('conn.agentId')}</dt>
        <dd className="mono break">{snapshot.agent.agentId}</dd>
      </dl>
    </Panel>
  );
}
