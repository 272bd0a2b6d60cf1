/** Formatting helpers; the locale comes from the i18n context. */

export function formatTime(iso: string | null, locale: string, now = Date.now()): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
    : d.toLocaleString(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

export function formatDateTime(iso: string | null, locale: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

/** 3.2 s, 4 m 05 s, 2 h 03 m, 3 d 4 h */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** a rate in KB/s below 1 MB/s, else MB/s, at most one decimal: "0.3 KB/s", "250 KB/s", "1.5 MB/s" */
export function formatRate(bytesPerS: number): string {
  const mb = bytesPerS >= 1024 * 1024;
  const n = bytesPerS / (mb ? 1024 * 1024 : 1024);
  return `${Number(n.toFixed(1))} ${mb ? 'MB/s' : 'KB/s'}`;
}

export function formatMb(mb: number | 'unknown'): string {
  if (mb === 'unknown') return '?';
  if (mb >= 1024 * 1024) return `${(mb / 1024 / 1024).toFixed(1)} TB`;
  if (mb >= 1024) return `${(mb / 1024).toFixed(1)} GB`;
  return `${Math.round(mb)} MB`;
}

export function formatPercent(v: number | null | 'unknown' | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)}%` : '—';
}

export function formatNumber(n: number, locale: string): string {
  return n.toLocaleString(locale);
}
