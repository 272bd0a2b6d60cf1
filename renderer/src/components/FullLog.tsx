/**
 * A task's whole log file in a dialog: read from the agent page by page as it scrolls (never the
 * whole file: a 1 M-line log holds a few pages in memory), searched by the agent across the whole
 * file, downloaded (dashboard) or shown in the file manager (desktop). The task log panel keeps its
 * 256 K live tail for following a running task; this is for everything before it.
 */
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { TaskLogSearch, TaskView } from '../../../main/core/api.js';
import { getAgentConnection } from '../api/index.js';
import { taskLogDownloadUrl } from '../api/dashboard-client.js';
import { useI18n } from '../i18n/index.js';
import { formatBytes, formatNumber } from '../format.js';
import { errorText } from '../state/agent-store.js';
import { plainText } from '../state/output-buffer.js';
import { useAgentStore } from '../state/useAgent.js';
import { parseAnsi, type AnsiState, type Segment } from './ansi.js';

const ROW = 18;
export const PAGE_LINES = 500;
const PAGES_KEPT = 24;
/** Chromium draws no element taller than ~33 M px: past this the scroll position is scaled to the lines */
const MAX_SCROLL_PX = 8_000_000;
const GROWING_POLL_MS = 2000;

export function FullLogButton({ task }: { task: TaskView }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="btn btn-small"
        data-testid="open-full-log"
        title={t('fullLog.openLabel')}
        onClick={() => setOpen(true)}
      >
        {t('fullLog.open')}
      </button>
      {open ? <FullLogDialog task={task} onClose={() => setOpen(false)} /> : null}
    </>
  );
}

/**
 * A page's lines parsed once (colours carried from line to line, and from the page before when it
 * was held), and the log's line count when it was read: the last page of a growing log goes stale.
 */
type Pages = ReadonlyMap<number, { lines: Segment[][]; end: AnsiState | null; total: number }>;

function parsePage(lines: string[], start: AnsiState | null): { lines: Segment[][]; end: AnsiState | null } {
  let state = start;
  const parsed = lines.map((line) => {
    const p = parseAnsi(line, state);
    state = p.end;
    return p.segments;
  });
  return { lines: parsed, end: state };
}

function FullLogDialog({ task, onClose }: { task: TaskView; onClose(): void }) {
  const { t, locale } = useI18n();
  const store = useAgentStore();
  const dialog = useRef<HTMLDialogElement>(null);
  const [info, setInfo] = useState<{ totalLines: number; bytes: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [jump, setJump] = useState<{ line: number; n: number } | null>(null);
  const growing = task.phase === 'running' || task.phase === 'queued';

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);

  // the line count and size; again every few seconds while the task writes its log
  useEffect(() => {
    let current = true;
    const probe = () =>
      store.api.readTaskLog(task.taskId, 0, 0).then(
        (first) => {
          if (!current) return;
          setInfo({ totalLines: first.totalLines, bytes: first.bytes });
          setProblem(null);
        },
        (err: unknown) => current && setProblem(errorText(err)),
      );
    void probe();
    const id = growing ? setInterval(() => void probe(), GROWING_POLL_MS) : null;
    return () => {
      current = false;
      if (id !== null) clearInterval(id);
    };
  }, [store, task.taskId, growing]);

  const kind = getAgentConnection().kind;
  const [revealed, setRevealed] = useState<string | null>(null);
  const reveal = async () => {
    try {
      const r = await store.api.revealTaskLog(task.taskId);
      setRevealed(r.ok ? null : (r.message ?? t('common.error')));
    } catch (err) {
      setRevealed(errorText(err));
    }
  };

  return (
    <dialog
      ref={dialog}
      className="full-log"
      data-testid="full-log"
      aria-labelledby="full-log-title"
      onClose={onClose}
      onCancel={onClose}
    >
      <div className="full-log-head">
        <h2 id="full-log-title">{t('fullLog.title', { id: task.taskId })}</h2>
        <span className="muted small nowrap" data-testid="full-log-size">
          {info
            ? t('fullLog.size', { lines: formatNumber(info.totalLines, locale), size: formatBytes(info.bytes) })
            : ''}
        </span>
        <span className="spacer" />
        {kind === 'dashboard' ? (
          <a
            className="btn btn-small"
            data-testid="full-log-download"
            href={taskLogDownloadUrl(task.taskId)}
            download={`${task.taskId}.log`}
            rel="noreferrer"
          >
            {t('fullLog.download')}
          </a>
        ) : (
          <button type="button" className="btn btn-small" data-testid="full-log-reveal" onClick={() => void reveal()}>
            {t('fullLog.reveal')}
          </button>
        )}
        <button type="button" className="btn btn-small" data-testid="full-log-close" onClick={onClose}>
          {t('fullLog.close')}
        </button>
      </div>
      {revealed ? (
        <p className="notice notice-bad" role="alert">
          {revealed}
        </p>
      ) : null}
      <LogSearch taskId={task.taskId} onJump={(line) => setJump((j) => ({ line, n: (j?.n ?? 0) + 1 }))} />
      {problem ? (
        <p className="notice notice-bad" role="alert" data-testid="full-log-problem">
          {t('fullLog.failed', { message: problem })}
        </p>
      ) : info ? (
        <PagedLines taskId={task.taskId} total={info.totalLines} jump={jump} />
      ) : (
        <p className="muted">{t('log.loading')}</p>
      )}
    </dialog>
  );
}

function LogSearch({ taskId, onJump }: { taskId: string; onJump(line: number): void }) {
  const { t, locale } = useI18n();
  const store = useAgentStore();
  const [input, setInput] = useState('');
  const [result, setResult] = useState<TaskLogSearch | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const run = async (fromLine: number) => {
    const query = input.trim();
    if (!query) return;
    setBusy(true);
    setProblem(null);
    try {
      const found = await store.api.searchTaskLog(taskId, query, fromLine);
      setResult((prev) =>
        fromLine > 0 && prev?.query === found.query
          ? { ...found, matches: [...prev.matches, ...found.matches] }
          : found,
      );
      if (fromLine === 0 && found.matches[0]) onJump(found.matches[0].line);
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void run(0);
    }
  };

  return (
    <div className="full-log-search">
      <div className="log-controls" role="search">
        <input
          type="search"
          className="input input-small"
          data-testid="full-log-search"
          placeholder={t('fullLog.searchPlaceholder')}
          aria-label={t('fullLog.search')}
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={onKey}
        />
        <button type="button" className="btn btn-small" disabled={busy || !input.trim()} onClick={() => void run(0)}>
          {t('fullLog.searchButton')}
        </button>
        <span className="muted small nowrap" aria-live="polite" data-testid="full-log-matches">
          {busy
            ? t('fullLog.searching')
            : result
              ? t(result.nextLine !== null ? 'fullLog.matchesMore' : 'fullLog.matchesAll', {
                  count: formatNumber(result.matches.length, locale),
                })
              : ''}
        </span>
      </div>
      {problem ? (
        <p className="notice notice-bad" role="alert">
          {problem}
        </p>
      ) : null}
      {result && result.matches.length > 0 ? (
        <ol className="full-log-hits" aria-label={t('fullLog.hitsLabel')} data-testid="full-log-hits">
          {result.matches.map((m) => (
            <li key={m.line}>
              <button type="button" className="link-button mono" onClick={() => onJump(m.line)}>
                <span className="hit-ln">{m.line + 1}</span> {plainText(m.text)}
              </button>
            </li>
          ))}
          {result.nextLine !== null ? (
            <li>
              <button
                type="button"
                className="btn btn-small"
                disabled={busy}
                onClick={() => void run(result.nextLine!)}
              >
                {t('fullLog.moreMatches')}
              </button>
            </li>
          ) : null}
        </ol>
      ) : null}
    </div>
  );
}

/** Fixed-height rows over a scroll area of at most MAX_SCROLL_PX; only the visible lines' pages are fetched. */
function PagedLines({
  taskId,
  total,
  jump,
}: {
  taskId: string;
  total: number;
  jump: { line: number; n: number } | null;
}) {
  const { t } = useI18n();
  const store = useAgentStore();
  const view = useRef<HTMLDivElement>(null);
  const [pages, setPages] = useState<Pages>(new Map());
  const loading = useRef(new Set<number>());
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const [failed, setFailed] = useState<string | null>(null);

  const contentPx = total * ROW;
  const spacerPx = Math.min(contentPx, MAX_SCROLL_PX);
  const scaled = spacerPx < contentPx;
  const toContent = (top: number) =>
    scaled ? (top / Math.max(1, spacerPx - height)) * Math.max(0, contentPx - height) : top;
  const toScroll = (px: number) => (scaled ? (px / Math.max(1, contentPx - height)) * (spacerPx - height) : px);
  const topPx = toContent(scrollTop);
  const first = Math.max(0, Math.floor(topPx / ROW));
  const visible = Math.ceil(height / ROW) + 1;
  const last = Math.min(total, first + visible);

  useLayoutEffect(() => {
    const el = view.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    setHeight(el.clientHeight);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    for (let p = Math.floor(first / PAGE_LINES); p <= Math.floor(Math.max(first, last - 1) / PAGE_LINES); p++) {
      const held = pages.get(p);
      // a page that was the log's last is read again once the log has grown past it
      const stale = held && held.lines.length < PAGE_LINES && held.total < total;
      if ((held && !stale) || loading.current.has(p)) continue;
      loading.current.add(p);
      store.api.readTaskLog(taskId, p * PAGE_LINES, PAGE_LINES).then(
        (page) => {
          loading.current.delete(p);
          setPages((before) => {
            const parsed = parsePage(page.lines, before.get(p - 1)?.end ?? null);
            const next = new Map(before).set(p, { ...parsed, total: page.totalLines });
            // the farthest pages go first: memory stays a few pages whatever the log's length
            const far = [...next.keys()].sort((a, b) => Math.abs(b - p) - Math.abs(a - p));
            for (const k of far.slice(0, Math.max(0, next.size - PAGES_KEPT))) next.delete(k);
            return next;
          });
        },
        (err: unknown) => {
          loading.current.delete(p);
          setFailed(errorText(err));
        },
      );
    }
  }, [store, taskId, first, last, total, pages]);

  const [target, setTarget] = useState<number | null>(null);
  useEffect(() => {
    const el = view.current;
    if (!jump || !el) return;
    const top = toScroll(Math.max(0, jump.line * ROW - el.clientHeight / 2 + ROW / 2));
    el.scrollTop = top;
    setScrollTop(el.scrollTop);
    setTarget(jump.line);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a new jump moves the view
  }, [jump]);

  const rows = [];
  for (let i = first; i < last; i++) {
    const segments = pages.get(Math.floor(i / PAGE_LINES))?.lines[i % PAGE_LINES];
    rows.push(
      <div
        key={i}
        className={`log-line full-log-line${i === target ? ' full-log-target' : ''}`}
        data-testid="full-log-line"
        data-line={i}
        style={{ transform: `translateY(${(i - first) * ROW}px)` }}
      >
        <span className="ln" data-ln={i + 1} aria-hidden="true" />
        <span className="tx">
          {segments === undefined ? (
            <span className="muted">…</span>
          ) : (
            segments.map((s, k) =>
              s.className || s.style ? (
                <span key={k} className={s.className} style={s.style}>
                  {s.text}
                </span>
              ) : (
                s.text
              ),
            )
          )}
        </span>
      </div>,
    );
  }

  return (
    <div className="log-view-frame">
      {failed ? (
        <p className="notice notice-bad" role="alert">
          {t('fullLog.failed', { message: failed })}
        </p>
      ) : null}
      <div
        ref={view}
        className="log-view full-log-view"
        data-testid="full-log-view"
        role="region"
        aria-label={t('fullLog.viewLabel', { id: taskId })}
        tabIndex={0}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div className="log-rows" style={{ height: spacerPx }}>
          <div className="full-log-window" style={{ transform: `translateY(${scrollTop - (topPx - first * ROW)}px)` }}>
            {rows}
          </div>
        </div>
        {total === 0 ? <p className="log-status">{t('log.emptyFinished')}</p> : null}
      </div>
    </div>
  );
}
