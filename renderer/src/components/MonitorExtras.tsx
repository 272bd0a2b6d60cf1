import type { AgentSnapshot, SystemInfo } from '../../../main/core/api.js';
import { useI18n } from '../i18n/index.js';

/** Heartbeat extras (load, I/O rates) and the monitor.scripts values, as rows of the metrics facts. */
export function MonitorExtras({ sys }: { sys: SystemInfo }) {
  const { t } = useI18n();
  const unknown = t('common.unknown');
  const rate = (bytesPerS: number) => `${(bytesPerS / 1024).toFixed(1)} KB/s`;
  const custom = Object.entries(sys.custom ?? {});
  return (
    <>
      {sys.load_average !== undefined ? (
        <>
          <dt>{t('metrics.load')}</dt>
          <dd data-testid="load-average">{sys.load_average === 'unknown' ? unknown : sys.load_average.join(' / ')}</dd>
        </>
      ) : null}
      {sys.network_io !== undefined ? (
        <>
          <dt>{t('metrics.networkIo')}</dt>
          <dd>
            {sys.network_io === 'unknown'
              ? unknown
              : `↓ ${rate(sys.network_io.rx_bytes_per_s)} ↑ ${rate(sys.network_io.tx_bytes_per_s)}`}
          </dd>
        </>
      ) : null}
      {sys.disk_io !== undefined ? (
        <>
          <dt>{t('metrics.diskIo')}</dt>
          <dd>
            {sys.disk_io === 'unknown'
              ? unknown
              : `${t('metrics.read')} ${rate(sys.disk_io.read_bytes_per_s)} ${t('metrics.written')} ${rate(sys.disk_io.write_bytes_per_s)}`}
          </dd>
        </>
      ) : null}
      {custom.map(([name, value]) => (
        <div key={name} className="custom-metric" data-testid={`custom-${name}`} style={{ display: 'contents' }}>
          <dt className="mono">{name}</dt>
          <dd className={value === 'unknown' ? 'muted' : undefined}>{value === 'unknown' ? unknown : String(value)}</dd>
        </div>
      ))}
    </>
  );
}

/** One banner while any monitor.alerts entry is firing. */
export function AlertBanner({ snapshot }: { snapshot: AgentSnapshot }) {
  const { t } = useI18n();
  const firing = (snapshot.alerts ?? []).filter((a) => a.state === 'firing');
  if (firing.length === 0) return null;
  return (
    <div className="banner banner-bad" role="alert" data-testid="alert-banner">
      {firing.map((a) => (
        <span key={a.name} className="alert-item">
          {t('alert.firing', {
            name: a.name,
            metric: a.metric,
            value: String(a.value),
            threshold: String(a.threshold),
          })}
        </span>
      ))}
    </div>
  );
}
