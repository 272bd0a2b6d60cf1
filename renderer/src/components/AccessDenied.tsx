import { useI18n } from '../i18n/index.js';

export function AccessDenied({ onRetry }: { onRetry(): void }) {
  const { t } = useI18n();
  return (
    <div className="setup">
      <div className="setup-card denied" data-testid="access-denied" role="alert">
        <svg className="denied-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
          <rect x="4.5" y="10.5" width="15" height="10" rx="2" />
          <path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" />
          <circle cx="12" cy="15.5" r="1.4" />
        </svg>
        <h2>{t('denied.title')}</h2>
        <p>{t('denied.body')}</p>
        <button type="button" className="btn" onClick={onRetry}>
          {t('denied.retry')}
        </button>
      </div>
    </div>
  );
}
