import { useEffect, useState } from 'react';
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
import { connectionTone, phaseKey } from './components/status.js';

const SECTIONS: Array<[id: string, key: DictKey]> = [
  ['connection', 'section.connection'],
  ['metrics', 'section.metrics'],
  ['tasks', 'section.tasks'],
  ['task-log', 'section.taskLog'],
  ['agent-log', 'section.agentLog'],
  ['settings', 'section.settings'],
];

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

  useEffect(() => store.onReset(() => setResets((n) => n + 1)), [store]);

  // show the running task's log until the user picks one
  const tasks = snapshot?.tasks;
  useEffect(() => {
    if (selected !== null || !tasks) return;
    const running = tasks.find((x) => x.phase === 'running');
    if (running) setSelected(running.taskId);
  }, [tasks, selected]);

  const phase = snapshot?.connection.phase;
  const unconfigured = phase === 'unconfigured';

  let body;
  if (transport === 'denied') {
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
    const task = snapshot.tasks.find((x) => x.taskId === selected) ?? null;
    body = (
      <div className="grid">
        <ConnectionPanel snapshot={snapshot} />
        <MetricsPanel snapshot={snapshot} />
        <TasksPanel tasks={snapshot.tasks} selected={selected} onSelect={setSelected} />
        <TaskLog task={task} />
        <AgentLog entries={snapshot.log} />
        <SettingsPanel desktop={snapshot.agent.mode === 'gui'} reloadKey={resets} />
      </div>
    );
  }

  const showNav = snapshot !== null && !unconfigured && transport !== 'denied';

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-name">{t('app.title')}</span>
          {snapshot ? (
            <span className="brand-sub muted">
              {t('app.agentLine', {
                hostname: snapshot.agent.hostname,
                version: snapshot.agent.version,
                mode: t(snapshot.agent.mode === 'gui' ? 'app.mode.gui' : 'app.mode.headless'),
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
      {transport === 'reconnecting' || (transport === 'connecting' && snapshot) ? (
        <div className="banner banner-warn" role="status">
          {t('app.transportLost')}
        </div>
      ) : null}
      {snapshot?.agent.runningAsRoot && !unconfigured ? (
        <div className="banner banner-bad" role="note">
          {t('app.rootWarning')}
        </div>
      ) : null}
      {snapshot && !unconfigured ? <AlertBanner snapshot={snapshot} /> : null}
      <main id="main">{body}</main>
    </div>
  );
}
