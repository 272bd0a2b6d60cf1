import type { TaskUsage, TestReport } from '../../../main/core/api.js';
import { useI18n } from '../i18n/index.js';
import { formatDuration, formatMb } from '../format.js';

export function passedCount(r: TestReport): number {
  return Math.max(0, r.tests - r.failures - r.errors - r.skipped);
}

function mb(n: number): string {
  return n < 10 ? `${n.toFixed(1)} MB` : formatMb(n);
}

/** One line under a task in the list: what its tree used (task_result.usage). */
export function UsageLine({ usage }: { usage: TaskUsage }) {
  const { t } = useI18n();
  return (
    <span
      className="usage"
      data-testid="task-usage"
      title={t(usage.source === 'cgroup' ? 'tasks.usageCgroup' : 'tasks.usageSampled')}
    >
      {t('tasks.usage', {
        cpu: usage.cpu_seconds.toFixed(usage.cpu_seconds < 10 ? 2 : 0),
        rss: mb(usage.peak_rss_mb),
        read: mb(usage.read_mb),
        write: mb(usage.write_mb),
      })}
    </span>
  );
}

/** The test counts of a task in the list. */
export function TestCounts({ report }: { report: TestReport }) {
  const { t } = useI18n();
  const failed = report.failures + report.errors;
  return (
    <span className={failed ? 'text-bad' : undefined} data-testid="task-tests">
      {t('tasks.tests', { tests: report.tests, failed, skipped: report.skipped })}
    </span>
  );
}

/** A finished task's test report: counts, the failed cases, and what could not be read. */
export function TestReportView({ report }: { report: TestReport }) {
  const { t } = useI18n();
  const failed = report.failures + report.errors;
  return (
    <section
      className="test-report"
      data-testid="test-report"
      aria-labelledby="test-report-title"
      // it scrolls when long: reachable with the keyboard
      tabIndex={0}
    >
      <h3 id="test-report-title" className="test-report-title">
        {t('report.title')}
      </h3>
      <ul className="test-counts">
        <li className="badge tone-ok">{t('report.passed', { n: passedCount(report) })}</li>
        <li className={`badge ${failed ? 'tone-bad' : 'tone-neutral'}`}>{t('report.failed', { n: failed })}</li>
        <li className="badge tone-neutral">{t('report.skipped', { n: report.skipped })}</li>
        <li className="muted small">{t('report.total', { n: report.tests, time: formatDuration(report.time) })}</li>
      </ul>
      {report.failed.length ? (
        <ol className="failed-cases" aria-label={t('report.failedCases')}>
          {report.failed.map((c, i) => (
            <li key={i}>
              <span className="mono">
                {c.suite ? <span className="muted">{c.suite} › </span> : null}
                {c.name}
              </span>
              {c.message ? <pre className="case-message">{c.message}</pre> : null}
            </li>
          ))}
        </ol>
      ) : null}
      {report.notes?.length ? (
        <ul className="report-notes muted small" aria-label={t('report.notes')}>
          {report.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
