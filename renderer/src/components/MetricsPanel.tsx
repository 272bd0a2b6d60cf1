import type { AgentSnapshot, Counters, MetricsPoint } from '../../../main/core/api.js';
import { MonitorExtras } from './MonitorExtras.js';
import { useI18n, type DictKey } from '../i18n/index.js';
import { formatMb, formatNumber, formatPercent, formatRate, formatTime } from '../format.js';
import { useNow } from '../state/useNow.js';
import { LineChart, PERCENT_SCALE, autoScale, rateScale, type ChartScale } from './LineChart.js';
import { Panel } from './Panel.js';

/** charted script values at most, whatever names the window holds (a config change renames them) */
const CUSTOM_CHARTS_MAX = 8;

interface ChartSpec {
  /** the chart's test id and colour: chart-<key>, metric-<series> */
  key: string;
  series: string;
  name: string;
  value(point: MetricsPoint): number | null | undefined;
  scale: ChartScale;
  format(value: number): string;
  /** cpu, memory, disk: "… usage over …"; the others read "… over …" */
  usage: boolean;
}

const formatLoad = (v: number) => v.toFixed(2);
const formatValue = (v: number) => String(Number(v.toFixed(2)));

/** cpu, memory, disk always; load, network, disk I/O and script values when the window holds them */
function chartSpecs(points: MetricsPoint[], cores: number, t: (key: DictKey) => string): ChartSpec[] {
  const percent = (key: 'cpu' | 'memory' | 'disk'): ChartSpec => ({
    key,
    series: key,
    name: t(`metrics.${key}`),
    value: (p) => p[key],
    scale: PERCENT_SCALE,
    format: formatPercent,
    usage: true,
  });
  const specs = [percent('cpu'), percent('memory'), percent('disk')];
  const has = (field: 'load' | 'network' | 'diskIo') => points.some((p) => p[field] !== undefined);
  if (has('load'))
    specs.push({
      key: 'load',
      series: 'load',
      name: t('metrics.load1'),
      value: (p) => p.load,
      scale: autoScale(formatValue, cores),
      format: formatLoad,
      usage: false,
    });
  for (const field of ['network', 'diskIo'] as const)
    if (has(field))
      specs.push({
        key: field,
        series: field,
        name: t(field === 'network' ? 'metrics.networkIo' : 'metrics.diskIo'),
        value: (p) => p[field],
        scale: rateScale(formatRate),
        format: formatRate,
        usage: false,
      });
  const names = new Set<string>();
  for (const p of points) for (const name of Object.keys(p.custom ?? {})) names.add(name);
  for (const name of [...names].slice(0, CUSTOM_CHARTS_MAX))
    specs.push({
      key: `custom-${name}`,
      series: 'custom',
      name,
      value: (p) => p.custom?.[name],
      scale: autoScale(formatValue),
      format: formatValue,
      usage: false,
    });
  return specs;
}
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
  const cores = sys?.cpu.cores ?? 1;
  const specs = chartSpecs(points, cores, t);

  return (
    <Panel
      id="metrics"
      title={t('section.metrics')}
      actions={<span className="muted small">{t('metrics.window')}</span>}
    >
      <div className="charts">
        {specs.map((c) => {
          const name = c.name;
          const latest = last ? c.value(last) : undefined;
          const value = !last ? t('common.none') : typeof latest === 'number' ? c.format(latest) : unknown;
          return (
            <figure key={c.key} className={`chart-card metric-${c.series}`}>
              <figcaption>
                <span className="chart-name">{name}</span>
                <span className="chart-value">{value}</span>
              </figcaption>
              <LineChart
                points={points}
                series={c.series}
                value={c.value}
                scale={c.scale}
                end={end}
                testId={`chart-${c.key}`}
                label={t(c.usage ? 'metrics.chartLabel' : 'metrics.seriesLabel', { name, value })}
                describe={(at, v) => t('metrics.sample', { time: formatTime(at, locale), value: c.format(v) })}
                collecting={(count) => t('metrics.collecting', { count })}
              />
              {points.length === 0 ? (
                <p className="muted small">{t('metrics.noData')}</p>
              ) : points.every((p) => typeof c.value(p) !== 'number') ? (
                <p className="muted small">{t('metrics.noValue')}</p>
              ) : null}
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
