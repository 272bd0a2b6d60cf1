/**
 * The two transfer steps of a task's life, as execution.ts calls them: its `files` before the
 * command (files/), its `artifacts` after it (artifacts/). Progress and failures become agent-stream
 * lines of the task log.
 */
import path from 'node:path';
import type { TaskFrame } from '../../protocol/frames.js';
import type { ArtifactEntry } from '../../protocol/transfer-fields.js';
import type { WorkLayout } from '../../workspace/layout.js';
import { uploadArtifacts } from '../artifacts/upload-artifacts.js';
import { FileCache } from '../files/file-cache.js';
import { downloadFiles } from '../files/download-files.js';
import type { HttpSettings } from './http-client.js';

export interface TransferOptions {
  http: HttpSettings;
  /** transfer.cache_max_mb in bytes; 0: no cache */
  cacheMaxBytes: number;
  /** transfer.upload_retries */
  uploadRetries: number;
  /** the first wait between two upload attempts (doubled each time) */
  backoffMs?: number;
}

export type Fetched = { ok: true } | { ok: false; message: string };

export async function fetchTaskFiles(
  frame: TaskFrame,
  taskDir: string,
  layout: WorkLayout,
  opts: TransferOptions,
  owner: { uid: number; gid: number } | null | undefined,
  signal: AbortSignal,
  progress: (line: string) => void,
): Promise<Fetched> {
  try {
    await downloadFiles(frame.files ?? [], {
      taskDir,
      http: opts.http,
      cache: new FileCache(path.join(layout.cacheDir, 'files'), opts.cacheMaxBytes),
      owner,
      signal,
      progress,
    });
    return { ok: true };
  } catch (err) {
    if (signal.aborted) throw err;
    return { ok: false, message: `${(err as Error).message}; the command was not run` };
  }
}

export function uploadTaskArtifacts(
  frame: TaskFrame,
  taskDir: string,
  opts: TransferOptions,
  signal: AbortSignal,
  progress: (line: string) => void,
): Promise<ArtifactEntry[]> {
  return uploadArtifacts(frame.artifacts!, {
    taskDir,
    http: opts.http,
    retries: opts.uploadRetries,
    backoffMs: opts.backoffMs ?? 1_000,
    signal,
    progress,
  });
}
