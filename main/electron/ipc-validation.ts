/**
 * Who may call over IPC: the sender's URL must be our own page. Pure (node:path/url, NO electron) so
 * that it unit-tests in Node. The calls' arguments are the dispatcher's to parse (core/api-dispatch.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TrustedOrigins {
  /** absolute path of the renderer's dist/index.html (loaded with loadFile) */
  indexHtml: string;
  /** VITE_DEV_SERVER_URL in development, else null */
  devServerUrl: string | null;
}

/**
 * Security checklist #17: the frame that sent a message must show our own page: the packaged
 * index.html (file://, any query or hash) or, in development, a page of the dev server's origin.
 */
export function isTrustedSenderUrl(frameUrl: unknown, trusted: TrustedOrigins): boolean {
  if (typeof frameUrl !== 'string' || frameUrl.length === 0 || frameUrl.length > 8192) return false;
  let url: URL;
  try {
    url = new URL(frameUrl);
  } catch {
    return false;
  }
  if (url.protocol === 'file:') {
    if (url.host !== '' && url.host !== 'localhost') return false;
    try {
      return samePath(fileURLToPath(url), trusted.indexHtml);
    } catch {
      return false;
    }
  }
  if (trusted.devServerUrl && (url.protocol === 'http:' || url.protocol === 'https:')) {
    try {
      return url.origin === new URL(trusted.devServerUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}

function samePath(a: string, b: string): boolean {
  const na = path.resolve(a);
  const nb = path.resolve(b);
  return process.platform === 'win32' || process.platform === 'darwin'
    ? na.toLowerCase() === nb.toLowerCase()
    : na === nb;
}
