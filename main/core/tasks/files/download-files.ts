/**
 * A task's `files`, fetched into its work dir before the command runs, one after the other, each
 * streamed to disk through its sha256. With a hash the content cache (file-cache.ts) is asked first
 * and fed after; without one the file is fetched every time. Each file is written to a `.part` name
 * beside its place and renamed there when complete, so a task never sees half a file. Any failure
 * names the file and ends the step: the command does not run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { urlForLog, type FileField } from '../../protocol/transfer-fields.js';
import type { FileCache } from './file-cache.js';
import { transferred } from '../transfer/reclaim.js';
import { describe, send, sizeAndRate, TransferError, type HttpSettings } from '../transfer/http-client.js';

export interface DownloadContext {
  /** the task's work dir, as confined (its real path) */
  taskDir: string;
  http: HttpSettings;
  cache: FileCache;
  /** the user the task runs as: what it is given must be its own */
  owner?: { uid: number; gid: number } | null;
  signal: AbortSignal;
  /** one agent-stream line of the task log */
  progress: (line: string) => void;
}

/** A file that could not be fetched; its message names the file. */
export class FileTransferFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileTransferFailed';
  }
}

const PROGRESS_EVERY_MS = 1_000;
const MB = 1024 * 1024;

export async function downloadFiles(files: FileField[], ctx: DownloadContext): Promise<void> {
  if (ctx.cache.enabled) await ctx.cache.prepare();
  ctx.progress(`files: ${files.length} to fetch into ${ctx.taskDir}`);
  for (const [i, file] of files.entries()) {
    const name = `file ${i} (${file.path})`;
    try {
      await downloadOne(file, ctx);
    } catch (err) {
      throw new FileTransferFailed(`${name} from ${urlForLog(file.url)}: ${(err as Error).message}`);
    }
  }
  if (ctx.cache.enabled) {
    const removed = await ctx.cache.evict().catch(() => []);
    if (removed.length) ctx.progress(`files: the cache dropped ${removed.length} least recently used file(s)`);
  }
}

async function downloadOne(file: FileField, ctx: DownloadContext): Promise<void> {
  const dest = await destination(ctx.taskDir, file.path, ctx.owner);
  const part = path.join(path.dirname(dest), `.${path.basename(dest)}.part-${randomBytes(4).toString('hex')}`);
  try {
    if (file.sha256 && ctx.cache.enabled && (await ctx.cache.copyOut(file.sha256, part, ctx.signal))) {
      await place(part, dest, file, ctx.owner);
      ctx.progress(`files: ${file.path} from the cache (sha256 ${file.sha256.slice(0, 12)}…), nothing downloaded`);
      return;
    }
    const started = Date.now();
    const res = await send({ method: 'GET', url: new URL(file.url), signal: ctx.signal }, ctx.http);
    if (res.statusCode !== 200) {
      res.resume();
      throw new TransferError(`HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, false);
    }
    const length = Number(res.headers['content-length'] ?? NaN);
    const total = Number.isFinite(length) ? length : null;
    const cached = file.sha256 && (total === null ? ctx.cache.enabled : ctx.cache.fits(total));
    const target = cached ? ctx.cache.partFile() : part;
    ctx.progress(`files: ${file.path} ← ${urlForLog(file.url)}${total === null ? '' : ` (${sizeAndRate(total)})`}`);
    const hash = createHash('sha256');
    let received = 0;
    let reported = Date.now();
    try {
      await pipeline(
        res,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            received += chunk.length;
            transferred(chunk.length);
            if (Date.now() - reported >= PROGRESS_EVERY_MS) {
              reported = Date.now();
              ctx.progress(`files: ${file.path} ${progressOf(received, total)}`);
            }
            yield chunk;
          }
        },
        createWriteStream(target, { flags: 'wx', mode: 0o600 }),
        { signal: ctx.signal },
      );
      if (total !== null && received !== total)
        throw new TransferError(`the body ended after ${received} of ${total} bytes`, true);
      const digest = hash.digest('hex');
      if (file.sha256 && digest !== file.sha256)
        throw new TransferError(`sha256 mismatch: expected ${file.sha256}, got ${digest}`, false);
      if (cached) {
        const entry = await ctx.cache.adopt(target, digest);
        await fs.copyFile(entry, part, fs.constants.COPYFILE_EXCL);
      }
    } catch (err) {
      if (cached) await fs.rm(target, { force: true });
      throw diskProblem(err) ?? describe(err, ctx.signal);
    }
    await place(part, dest, file, ctx.owner);
    ctx.progress(
      `files: ${file.path} done, ${sizeAndRate(received, Date.now() - started)}${file.sha256 ? ', sha256 verified' : ''}`,
    );
  } finally {
    await fs.rm(part, { force: true });
  }
}

function progressOf(received: number, total: number | null): string {
  const mb = (received / MB).toFixed(1);
  return total ? `${mb} of ${(total / MB).toFixed(1)} MB (${Math.floor((received / total) * 100)} %)` : `${mb} MB`;
}

/** A full disk or a quota in plain words (the rest is the transfer's own failure). */
function diskProblem(err: unknown): Error | null {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return new TransferError('no space left on the disk (ENOSPC)', false);
  if (code === 'EDQUOT') return new TransferError('the disk quota is exhausted (EDQUOT)', false);
  return null;
}

/**
 * Where `rel` goes inside the task's dir: its parents are created (owned by the task's user) and
 * must lead no further than the dir itself, whatever symlinks an earlier task left there.
 */
async function destination(taskDir: string, rel: string, owner: DownloadContext['owner']): Promise<string> {
  const parts = rel.split(/[/\\]+/).filter((p) => p && p !== '.');
  const base = await fs.realpath(taskDir);
  let dir = base;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    const st = await fs.lstat(dir).catch(() => null);
    if (st?.isSymbolicLink())
      throw new TransferError(`${path.relative(base, dir)} is a symbolic link: not followed`, false);
    if (st && !st.isDirectory())
      throw new TransferError(`${path.relative(base, dir)} exists and is not a directory`, false);
    if (!st) {
      await fs.mkdir(dir, { mode: 0o755 });
      if (owner) await fs.chown(dir, owner.uid, owner.gid);
    }
  }
  const dest = path.join(dir, parts.at(-1)!);
  const st = await fs.lstat(dest).catch(() => null);
  if (st?.isDirectory()) throw new TransferError(`${rel} exists and is a directory`, false);
  return dest;
}

async function place(part: string, dest: string, file: FileField, owner: DownloadContext['owner']): Promise<void> {
  await fs.chmod(part, file.mode ?? 0o644);
  if (owner) await fs.chown(part, owner.uid, owner.gid);
  // rename replaces a symlink at `dest` itself, never what it points to
  await fs.rename(part, dest);
}
