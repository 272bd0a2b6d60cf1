import { useLayoutEffect, useRef, useState } from 'react';
import type { AgentLogEntry, AgentLogLevel } from '../../../main/core/api.js';
import { useI18n, type DictKey } from '../i18n/index.js';
import { formatDateTime, formatTime } from '../format.js';
import { Panel } from './Panel.js';

const LEVELS: AgentLogLevel[] = ['debug', 'info', 'warn', 'error'];
const RANK: Record<AgentLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function AgentLog({ entries }: { entries: AgentLogEntry[] }) {
  const { t, locale } = useI18n();
  const [minLevel, setMinLevel] = useState<AgentLogLevel>('debug');
  const listRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const shown = entries.filter((e) => RANK[e.level] >= RANK[minLevel]);

  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown.length, entries]);

  return (
    <Panel
      id="agent-log"
      title={t('section.agentLog')}
      testId="agent-log"
      actions={
        <label className="inline-label small">
          {t('agentLog.minLevel')}
          <select
            className="input input-small"
            value={minLevel}
            onChange={(e) => setMinLevel(e.target.value as AgentLogLevel)}
          >
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {t(`level.${l}` as DictKey)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <div
        ref={listRef}
        className="agent-log"
        tabIndex={0}
        role="log"
        aria-live="off"
        aria-labelledby="agent-log-title"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {shown.length === 0 ? (
          <p className="empty">{t(entries.length === 0 ? 'agentLog.empty' : 'agentLog.emptyFiltered')}</p>
        ) : null}
        {shown.map((e, i) => (
          <div key={`${e.at}-${i}`} className={`agent-entry lvl-${e.level}`}>
            <time dateTime={e.at} title={formatDateTime(e.at, locale)}>
              {formatTime(e.at, locale)}
            </time>
            <span className={`lvl lvl-${e.level}`}>{t(`level.${e.level}` as DictKey)}</span>
            <span className="scope">{e.scope}</span>
            <span className="msg">{e.message}</span>
          </div>
        ))}
      </div>
    </Panel>
  );
}
