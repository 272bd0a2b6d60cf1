import type { AgentSnapshot, Counters } from '../../../main/core/api.js';
import { MonitorExtras } from './MonitorExtras.js';
import { useI18n, type DictKey } from '../i18n/index.js';
import { formatMb, formatNumber, formatPercent, formatTime } from '../format.js';
import { useNow } from '../state/useNow.js';
import { LineChart, type MetricKey } from './LineChart.js';
import { Panel } from './Panel.js';

const METRICS: MetricKey[] = ['cpu', 'memory', 'disk'];
const COUNTERS: Array<keyof Counters> = [
  'tasksReceived',
  'tasksSucceeded',
  'tasksFailed',
  'tasksErrored',
  'tasksTimedOut',
  'tasksCancelled',
  'heartbeatsSent',
  'reconnects',
  'invalidFrames',
];

export function MetricsPanel({ snapshot }: { snapshot: AgentSnapshot }) {
  const { t, locale } = useI18n();
  const points = snapshot.metrics;
  const last = points[points.length - 1];
  // no heartbeat yet: an empty chart ending now (the shared clock, not ticking for this)
  const idleNow = useNow(false);
  const end = last ? Date.parse(last.at) : idleNow;
  const sys = snapshot.system;
  const unknown = t('common.unknown');

  return (
    <Panel
      id="metrics"
      title={t('section.metrics')}
      actions={<span className="muted small">{t('metrics.window')}</span>}
    >
      <div className="charts">
        {METRICS.map((m) => {
          const name = t(`metrics.${m}` as DictKey);
          const value = last ? formatPercent(last[m]) : t('common.none');
          return (
            <figure key={m} className={`chart-card metric-${m}`}>
              <figcaption>
                <span className="chart-name">{name}</span>
                <span className="chart-value">{value}</span>
              </figcaption>
              <LineChart
                points={points}
                metric={m}
                end={end}
                testId={`chart-${m}`}
                label={t('metrics.chartLabel', { name, value })}
                describe={(at, v) => t('metrics.sample', { time: formatTime(at, locale), value: formatPercent(v) })}
                collecting={(count) => t('metrics.collecting', { count })}
              />
              {points.length === 0 ? <p className="muted small">{t('metrics.noData')}</p> : null}
            </figure>
          );
        })}
      </div>
      {sys ? (
        <dl className="facts facts-wide">
          <dt>{t('metrics.host')}</dt>
          <dd className="mono">{sys.network.hostname || unknown}</dd>
          <dt>{t('metrics.ip')}</dt>
          <dd className="mono">{sys.network.ip || unknown}</dd>
          <dt>{t('metrics.os')}</dt>
          <dd>
            {sys.os.type} {sys.os.version} <span className="muted">{sys.os.kernel}</span>
          </dd>
          <dt>{t('metrics.cpuModel')}</dt>
          <dd>
            {sys.cpu.model || unknown} {sys.cpu.frequency ? <span className="muted">{sys.cpu.frequency}</span> : null}
          </dd>
          <dt>{t('metrics.cores')}</dt>
          <dd>{sys.cpu.cores}</dd>
          <dt>{t('metrics.memoryTotal')}</dt>
          <dd>{t('metrics.ofTotal', { used: formatMb(sys.memory.used), total: formatMb(sys.memory.total) })}</dd>
          <dt>{t('metrics.diskTotal')}</dt>
          <dd>
            {t('metrics.ofTotal', { used: formatMb(sys.disk.used), total: formatMb(sys.disk.total) })}
            {sys.disk.path ? <span className="muted mono"> {sys.disk.path}</span> : null}
          </dd>
          <MonitorExtras sys={sys} />
        </dl>
      ) : null}
      <h3 className="subhead">{t('conn.counters')}</h3>
      <dl className="counters">
        {COUNTERS.map((k) => (
          <div
            key={k}
            className={`counter${(k === 'tasksFailed' || k === 'tasksErrored' || k === 'tasksTimedOut' || k === 'invalidFrames') && snapshot.counters[k] > 0 ? ' counter-bad' : ''}`}
          >
            <dt title={t(`counter.${k}` as DictKey)}>{t(`counter.${k}` as DictKey)}</dt>
            <dd>{formatNumber(snapshot.counters[k], locale)}</dd>
          </div>
        ))}
      </dl>
    </Panel>
  );
}
