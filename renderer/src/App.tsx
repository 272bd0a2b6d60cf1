import { useEffect, useState } from 'react';
import type { TaskView } from '../../main/core/api.js';
import { AlertBanner } from './components/MonitorExtras.js';
import { useI18n, type DictKey, type Lang } from './i18n/index.js';
import { useAgent } from './state/useAgent.js';
import { AccessDenied } from './components/AccessDenied.js';
import { AgentLog } from './components/AgentLog.js';
import { ConnectionPanel } from './components/ConnectionPanel.js';
import { MetricsPanel } from './components/MetricsPanel.js';
import { SettingsPanel } from './components/SettingsPanel.js';
import { SetupForm } from './components/SetupForm.js';
import { TaskLog } from './components/TaskLog.js';
import { TasksPanel } from './components/TasksPanel.js';
import { TaskFilters } from './components/TaskFilters.js';
import { NO_FILTER, useTaskHistory } from './state/useTaskHistory.js';
import { connectionTone, phaseKey } from './components/status.js';

const SECTIONS: Array<[id: string, key: DictKey]> = [
  ['connection', 'section.connection'],
  ['metrics', 'section.metrics'],
  ['tasks', 'section.tasks'],
  ['task-log', 'section.taskLog'],
  ['agent-log', 'section.agentLog'],
  ['settings', 'section.settings'],
];

const NO_TASKS: TaskView[] = [];

function LanguageSelect() {
  const { t, lang, setLang } = useI18n();
  return (
    <label className="lang">
      <span className="sr-only">{t('language')}</span>
      <select
        className="input input-small"
        data-testid="language"
        aria-label={t('language')}
        value={lang}
        onChange={(e) => setLang(e.target.value as Lang)}
      >
        <option value="en">{t('language.en')}</option>
        <option value="zh">{t('language.zh')}</option>
      </select>
    </label>
  );
}

export function App() {
  const { t } = useI18n();
  const { snapshot, loadError, transport, store } = useAgent();
  const [selected, setSelected] = useState<string | null>(null);
  const [resets, setResets] = useState(0);
  const [filter, setFilter] = useState(NO_FILTER);
  const history = useTaskHistory(snapshot?.tasks ?? NO_TASKS, filter);
  /** the task shown in the log stays shown while a filter hides its row */
  const [lastShown, setLastShown] = useState<TaskView | null>(null);

  useEffect(() => store.onReset(() => setResets((n) => n + 1)), [store]);
  // a refused page shows nothing of the agent it was talking to: it may be another one now
  const denied = transport === 'denied';

  // state set while rendering (React re-renders at once): the task picked on a refused agent means
  // nothing to the next one; otherwise show the running task's log until the user picks one
  if (denied && selected !== null) setSelected(null);
  const running = selected === null && !denied ? snapshot?.tasks.find((x) => x.phase === 'running') : undefined;
  if (running) setSelected(running.taskId);
  const shown = denied ? null : snapshot;
  const phase = shown?.connection.phase;
  const unconfigured = phase === 'unconfigured';

  let body;
  if (denied) {
    body = <AccessDenied onRetry={() => store.transport.retry()} />;
  } else if (!snapshot) {
    body = (
      <div className="center-state" role="status">
        {loadError ? (
          <>
            <p className="text-bad">{t('app.loadFailed', { message: loadError })}</p>
            <button type="button" className="btn" onClick={() => store.refresh()}>
              {t('app.retry')}
            </button>
          </>
        ) : (
          <p className="muted">{t('app.loading')}</p>
        )}
      </div>
    );
  } else if (unconfigured) {
    body = <SetupForm initialWorkDir={snapshot.connection.workDir} initialServerUrl={snapshot.connection.serverUrl} />;
  } else {
    const found = history.all.find((x) => x.taskId === selected);
    if (found && found !== lastShown) setLastShown(found);
    const task = found ?? (lastShown?.taskId === selected ? lastShown : null);
    body = (
      <div className="grid">
        <ConnectionPanel snapshot={snapshot} />
        <MetricsPanel snapshot={snapshot} />
        <TasksPanel
          tasks={history.shown}
          queue={snapshot.queue}
          held={snapshot.control?.paused ?? false}
          selected={selected}
          onSelect={setSelected}
          filtered={filter.status !== '' || filter.search.trim() !== ''}
          filters={<TaskFilters filter={filter} onChange={setFilter} total={history.total} />}
        />
        <TaskLog task={task} anyTasks={history.all.length > 0} />
        <AgentLog entries={snapshot.log} />
        <SettingsPanel desktop={snapshot.agent.mode === 'gui'} reloadKey={resets} />
      </div>
    );
  }

  const showNav = shown !== null && !unconfigured;
  const linkLost = transport === 'reconnecting' || (transport === 'connecting' && shown !== null);
  const asRoot = shown?.agent.runningAsRoot === true && !unconfigured;
  const logProblem = shown?.logFileProblem;

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <h1 className="brand-name">{t('app.title')}</h1>
          {shown ? (
            <span className="brand-sub muted" data-testid="agent-line">
              {t('app.agentLine', {
                hostname: shown.agent.hostname,
                version: shown.agent.version,
                mode: t(shown.agent.mode === 'gui' ? 'app.mode.gui' : 'app.mode.headless'),
              })}
            </span>
          ) : null}
        </div>
        {showNav ? (
          <nav className="sections" aria-label={t('nav.label')}>
            {/* labels are drawn from data-label so that a section's name appears once as page text (in its heading) */}
            {SECTIONS.map(([id, key]) => (
              <a key={id} href={`#${id}`} aria-label={t(key)} data-label={t(key)} />
            ))}
          </nav>
        ) : (
          <span className="spacer" />
        )}
        {phase && phase !== 'unconfigured' ? (
          <span
            className={`header-phase tone-${connectionTone[phase]}`}
            aria-hidden="true"
            data-label={t(phaseKey(phase))}
          >
            <span className="dot" />
          </span>
        ) : null}
        <LanguageSelect />
      </header>
      {/* the banners are part of the main content: axe's "region" rule wants all text in a landmark */}
      <main id="main">
        {linkLost || asRoot || logProblem ? (
          <div className="banners">
            {linkLost ? (
              <div className="banner banner-warn" role="status">
                {t('app.transportLost')}
              </div>
            ) : null}
            {asRoot ? (
              <div className="banner banner-bad" role="note">
                {t('app.rootWarning')}
              </div>
            ) : null}
            {logProblem ? (
              <div className="banner banner-warn" role="alert" data-testid="log-file-problem">
                {t('app.logFileProblem', { path: logProblem.path, message: logProblem.message })}
              </div>
            ) : null}
          </div>
        ) : null}
        {shown && !unconfigured ? <AlertBanner snapshot={shown} /> : null}
        {body}
      </main>
    </div>
  );
}
