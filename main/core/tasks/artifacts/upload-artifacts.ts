/**
 * A task's artifacts, after its command ended: each matched file is sent with
 * `PUT {upload_url}/{relative path, each segment URL-encoded}` (a query in upload_url stays at the
 * end), streamed from its open descriptor through its sha256, with Content-Length. A network error,
 * a 5xx, 408 or 429 is retried with exponential backoff; any other status is final. The outcome of
 * every file is an entry of task_result.artifacts; an upload that fails never changes the task's status.
 */
import { createHash } from 'node:crypto';
import { createReadStream, constants } from 'node:fs';
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArtifactEntry, ArtifactsField } from '../../protocol/transfer-fields.js';
import { urlForLog } from '../../protocol/transfer-fields.js';
import { collectArtifacts, type FoundArtifact } from './collect-artifacts.js';
import { transferred } from '../transfer/reclaim.js';
import {
  describe,
  retryableStatus,
  send,
  sizeAndRate,
  TransferError,
  type HttpSettings,
} from '../transfer/http-client.js';

export interface UploadContext {
  taskDir: string;
  http: HttpSettings;
  /** attempts after the first */
  retries: number;
  /** the first wait between attempts; doubled each time */
  backoffMs: number;
  signal: AbortSignal;
  progress: (line: string) => void;
}

export async function uploadArtifacts(spec: ArtifactsField, ctx: UploadContext): Promise<ArtifactEntry[]> {
  const found = await collectArtifacts(ctx.taskDir, spec.paths);
  ctx.progress(
    `artifacts: ${found.files.length} file(s) match ${spec.paths.join(' ')}${found.files.length ? `; uploading to ${urlForLog(spec.upload_url)}` : ''}`,
  );
  if (found.leftOut)
    ctx.progress(`artifacts: ${found.leftOut} more file(s) matched; only the first ${found.files.length} are uploaded`);
  const entries: ArtifactEntry[] = found.refused.map(({ rel, reason }) => ({
    path: rel,
    size: 0,
    sha256: '',
    uploaded: false,
    error: reason,
  }));
  for (const file of found.files) entries.push(await uploadOne(file, spec.upload_url, ctx));
  return entries;
}

export function uploadUrl(base: string, rel: string): URL {
  const url = new URL(base);
  const encoded = rel.split('/').map(encodeURIComponent).join('/');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encoded}`;
  return url;
}

async function uploadOne(file: FoundArtifact, base: string, ctx: UploadContext): Promise<ArtifactEntry> {
  const entry: ArtifactEntry = { path: file.rel, size: 0, sha256: '', uploaded: false };
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW and the inode check: the file opened is the one the walk found inside the work dir
    handle = await fs.open(file.abs, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    return { ...entry, error: `cannot open it: ${(err as Error).message}` };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.dev !== file.dev || st.ino !== file.ino)
      return { ...entry, error: 'it was replaced after it was found: not uploaded' };
    entry.size = st.size;
    const url = uploadUrl(base, file.rel);
    let lastError = '';
    for (let attempt = 0; attempt <= ctx.retries; attempt++) {
      if (ctx.signal.aborted)
        return { ...entry, sha256: await hashOf(handle), error: `not uploaded: ${stopWords(ctx.signal)}` };
      if (attempt > 0) {
        const wait = ctx.backoffMs * 2 ** (attempt - 1);
        ctx.progress(`artifacts: ${file.rel}: ${lastError}; attempt ${attempt + 1} in ${(wait / 1000).toFixed(1)} s`);
        try {
          await sleep(wait, undefined, { signal: ctx.signal });
        } catch {
          return {
            ...entry,
            sha256: await hashOf(handle),
            error: `${lastError}; not retried: ${stopWords(ctx.signal)}`,
          };
        }
      }
      const started = Date.now();
      const attemptHandle = st.size === 0 ? null : await reopen(file);
      if (st.size !== 0 && !attemptHandle)
        return { ...entry, error: 'it was replaced after it was found: not uploaded' };
      const hash = createHash('sha256');
      let streamed = false;
      try {
        const res = await send(
          {
            method: 'PUT',
            url,
            headers: { 'content-type': 'application/octet-stream' },
            length: st.size,
            body:
              st.size === 0
                ? undefined
                : () => {
                    streamed = true;
                    // its own descriptor, which the stream closes (also when destroyed early: an abort, a 4xx)
                    return createReadStream('', { fd: attemptHandle!, start: 0, end: st.size - 1 }).on(
                      'data',
                      (chunk) => {
                        hash.update(chunk as Buffer);
                        transferred(chunk.length);
                      },
                    );
                  },
            signal: ctx.signal,
          },
          ctx.http,
        );
        res.resume();
        await new Promise<void>((resolve) => res.once('end', resolve).once('error', () => resolve()));
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          entry.sha256 = hash.digest('hex');
          entry.uploaded = true;
          ctx.progress(`artifacts: ${file.rel} uploaded, ${sizeAndRate(st.size, Date.now() - started)}`);
          return entry;
        }
        lastError = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
        if (!retryableStatus(status)) break;
      } catch (err) {
        const e = describe(err, ctx.signal);
        if (ctx.signal.aborted)
          return { ...entry, sha256: await hashOf(handle), error: `not uploaded: ${stopWords(ctx.signal)}` };
        lastError = e.message;
        if (e instanceof TransferError && !e.retryable) break;
      } finally {
        if (attemptHandle && !streamed) await attemptHandle.close();
      }
    }
    ctx.progress(`artifacts: ${file.rel} not uploaded: ${lastError}`);
    return { ...entry, sha256: await hashOf(handle), error: lastError };
  } finally {
    await handle.close();
  }
}

/** The same file again, or null if what is at its path now is another one. */
async function reopen(file: FoundArtifact): Promise<fs.FileHandle | null> {
  const handle = await fs.open(file.abs, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)).catch(() => null);
  const st = await handle?.stat().catch(() => null);
  if (handle && st && st.dev === file.dev && st.ino === file.ino) return handle;
  await handle?.close();
  return null;
}

/** The hash of a file whose upload did not complete (the report still names its content). */
async function hashOf(handle: fs.FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  for (let at = 0; ;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
}

function stopWords(signal: AbortSignal): string {
  return signal.reason === 'shutdown' ? 'the agent is shutting down' : `the task was ${String(signal.reason)}`;
}
