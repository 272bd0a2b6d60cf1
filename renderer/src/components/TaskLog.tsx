import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { TaskView } from '../../../main/core/api.js';
import { useI18n, type DictKey } from '../i18n/index.js';
import { formatNumber } from '../format.js';
import { OutputSearch, type OutputLine } from '../state/output-buffer.js';
import { useTaskOutput } from '../state/useTaskOutput.js';
import { AnsiLines, highlight, type Segment } from './ansi.js';
import { FullLogButton } from './FullLog.js';
import { Panel } from './Panel.js';
import { TestReportView } from './TaskReport.js';
import { taskPhaseKey, taskTone } from './status.js';

/** every line has the same height: no measuring, 100,000 lines scroll like 100 */
export const ROW_HEIGHT = 18;

/** `anyTasks`: whether the list has any task, to say "none yet" rather than "pick one" */
export function TaskLog({ task, anyTasks }: { task: TaskView | null; anyTasks: boolean }) {
  const { t } = useI18n();
  return (
    <Panel
      id="task-log"
      title={t('section.taskLog')}
      testId="task-log"
      className="panel-log"
      extra={{ 'data-task-id': task?.taskId ?? '' }}
    >
      {task?.testReport ? <TestReportView report={task.testReport} /> : null}
      {task ? (
        <TaskLogView key={task.taskId} task={task} />
      ) : (
        <p className="empty" data-testid="task-log-empty">
          {t(anyTasks ? 'log.noTask' : 'log.noTasks')}
        </p>
      )}
    </Panel>
  );
}

const LogRow = memo(function LogRow(props: {
  line: OutputLine;
  /** parsed with the colour state the line starts in (cached: same array while the line is unchanged) */
  segments: Segment[];
  index: number;
  start: number;
  query: string;
  currentOcc: number;
  marker: string;
  markerTitle: string;
}) {
  const { line, index, start, query, currentOcc } = props;
  const pieces = highlight(props.segments, query, currentOcc);
  return (
    <div
      data-testid="log-line"
      data-stream={line.stream}
      data-index={index}
      className={`log-line s-${line.stream}`}
      style={{ transform: `translateY(${start}px)` }}
    >
      <span className="ln" data-ln={index + 1} aria-hidden="true" />
      <span className="mk" data-mk={props.marker} title={props.markerTitle || undefined} />
      <span className="tx">
        {pieces.map((p, i) =>
          p.match ? (
            <mark
              key={i}
              className={`${p.className ?? ''} ${p.match === 'current' ? 'hit hit-current' : 'hit'}`}
              style={p.style}
            >
              {p.text}
            </mark>
          ) : p.className || p.style ? (
            <span key={i} className={p.className} style={p.style}>
              {p.text}
            </span>
          ) : (
            p.text
          ),
        )}
      </span>
    </div>
  );
});

function TaskLogView({ task }: { task: TaskView }) {
  const { t, locale } = useI18n();
  const { buffer, version, status, error } = useTaskOutput(task.taskId);
  const scrollRef = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const [follow, setFollow] = useState(true);
  const followRef = useRef(follow);
  followRef.current = follow;
  const [input, setInput] = useState('');
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);

  useEffect(() => {
    const id = setTimeout(() => setQuery(input.trim().toLowerCase()), 120);
    return () => clearTimeout(id);
  }, [input]);

  const search = useMemo(() => new OutputSearch(buffer), [buffer]);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- a fresh colour-state cache for each task's buffer
  const ansi = useMemo(() => new AnsiLines(), [buffer]);
  // scan only what changed since the last render (new lines, a grown open line)
  const matchCount = useMemo(() => {
    search.update(query, buffer.takeDirty());
    return search.count;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `version` is the buffer's change counter: the buffer mutates in place
  }, [search, buffer, version, query]);

  const lines = buffer.lines;
  // eslint-disable-next-line react-hooks/incompatible-library -- a notice that the React Compiler would skip this component; the build does not use the compiler
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 25,
  });

  // follow: stay at the bottom as output arrives, and as the rows' measured height grows
  const totalSize = virtualizer.getTotalSize();
  const lastTop = useRef(0);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [version, follow, status, totalSize]);

  // only a scroll up (the reader's) stops following: a scroll event that arrives after the output
  // grew again is not at the bottom either, and turned following off by itself during fast output
  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    const movedUp = el.scrollTop < lastTop.current - 1;
    lastTop.current = el.scrollTop;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 1.5;
    if (atBottom && !followRef.current) setFollow(true);
    else if (!atBottom && movedUp && followRef.current) setFollow(false);
  }, []);

  const jumpTo = useCallback(
    (i: number) => {
      if (search.count === 0) return;
      const n = ((i % search.count) + search.count) % search.count;
      setCurrent(n);
      setFollow(false);
      virtualizer.scrollToIndex(search.lineOf[n]!, { align: 'center' });
    },
    [search, virtualizer],
  );

  // a new query jumps to its first match
  useEffect(() => {
    setCurrent(0);
    if (query && search.count > 0) jumpTo(0);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a new query jumps: new output for the same query must not move the view
  }, [query]);

  const cur = matchCount > 0 ? Math.min(current, matchCount - 1) : -1;
  const currentLine = cur >= 0 ? search.lineOf[cur]! : -1;
  const currentOcc = cur >= 0 ? search.occOf[cur]! : -1;

  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      // what was typed is searched now, from its first match; the wait for typing to pause would
      // otherwise apply it after this Enter, and take the view back to the first match
      const typed = input.trim().toLowerCase();
      if (typed !== query) setQuery(typed);
      else jumpTo(e.shiftKey ? cur - 1 : cur + 1);
    } else if (e.key === 'Escape') {
      setInput('');
    }
  };

  const onViewKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
      e.preventDefault();
      searchRef.current?.focus();
      searchRef.current?.select();
    } else if (e.key === 'End' && !e.shiftKey) {
      setFollow(true);
    }
  };

  const markers: Record<string, [string, string]> = {
    stdout: ['', ''],
    stderr: [t('log.stream.stderr'), t('log.stream.stderrLong')],
    agent: [t('log.stream.agent'), t('log.stream.agentLong')],
  };

  return (
    <div className="log-wrap" onKeyDown={onViewKey}>
      <div className="log-toolbar">
        <div className="log-task">
          <span className={`badge tone-${taskTone[task.phase]}`}>{t(taskPhaseKey(task.phase) as DictKey)}</span>
          <code className="log-cmd" title={task.command}>
            {task.command}
          </code>
          <span className="muted small nowrap">{t('log.lines', { count: formatNumber(lines.length, locale) })}</span>
        </div>
        <div className="log-controls" role="search">
          <input
            ref={searchRef}
            type="search"
            className="input input-small"
            placeholder={t('log.searchPlaceholder')}
            aria-label={t('log.search')}
            value={input}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={onSearchKey}
          />
          <span className="muted small nowrap match-count" aria-live="polite">
            {query
              ? matchCount > 0
                ? t('log.matches', { current: cur + 1, total: formatNumber(matchCount, locale) })
                : t('log.noMatches')
              : ''}
          </span>
          <button
            type="button"
            className="btn btn-small"
            aria-label={t('log.prev')}
            title={t('log.prev')}
            disabled={matchCount === 0}
            onClick={() => jumpTo(cur - 1)}
          >
            ↑
          </button>
          <button
            type="button"
            className="btn btn-small"
            aria-label={t('log.next')}
            title={t('log.next')}
            disabled={matchCount === 0}
            onClick={() => jumpTo(cur + 1)}
          >
            ↓
          </button>
          <button
            type="button"
            className={`btn btn-small ${follow ? 'btn-on' : ''}`}
            aria-pressed={follow}
            title={t('log.followLabel')}
            onClick={() => setFollow((f) => !f)}
          >
            {t('log.follow')}
          </button>
          <FullLogButton task={task} />
        </div>
      </div>
      <div className="log-view-frame">
        <div
          ref={scrollRef}
          className="log-view"
          role="region"
          aria-label={t('log.viewLabel', { id: task.taskId })}
          tabIndex={0}
          onScroll={onScroll}
        >
          {status === 'loading' ? <p className="log-status">{t('log.loading')}</p> : null}
          {status === 'error' ? (
            <p className="log-status text-bad">{t('log.loadFailed', { message: error ?? '' })}</p>
          ) : null}
          {status === 'ready' && lines.length === 0 ? (
            <p className="log-status">
              {t(task.phase === 'running' || task.phase === 'queued' ? 'log.empty' : 'log.emptyFinished')}
            </p>
          ) : null}
          {buffer.olderInLogFile ? (
            <p className="log-status log-older" data-testid="log-older">
              {t('log.olderInFile', { file: `logs/tasks/${task.taskId}.log` })}
            </p>
          ) : null}
          <div className="log-rows" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const line = lines[item.index]!;
              const [marker, markerTitle] = markers[line.stream] ?? ['', ''];
              return (
                <LogRow
                  key={item.index}
                  line={line}
                  segments={ansi.segments(lines, item.index)}
                  index={item.index}
                  start={item.start}
                  query={query}
                  currentOcc={item.index === currentLine ? currentOcc : -1}
                  marker={marker}
                  markerTitle={markerTitle}
                />
              );
            })}
          </div>
        </div>
        {!follow ? (
          <button type="button" className="btn btn-small resume" onClick={() => setFollow(true)}>
            ↓ {t('log.followPaused')}
          </button>
        ) : null}
      </div>
    </div>
  );
}
