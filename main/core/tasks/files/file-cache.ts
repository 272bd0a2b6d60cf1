/**
 * The content cache of downloaded files: `{work_dir}/cache/files/<sha256>`, one file per verified
 * content. A hit is read back through the hash (a damaged entry is dropped, then downloaded again),
 * and its mtime is the least-recently-used clock. After each addition the oldest entries go until
 * the whole fits `transfer.cache_max_mb`. Entries are complete or absent: a download is written to a
 * `.part-*` file and renamed in only once its hash matched. The directory is the agent's alone (0700).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { transferred } from '../transfer/reclaim.js';

/** `.part-*` files older than this are leftovers of a stopped agent */
const STALE_PART_MS = 60 * 60 * 1000;

export class FileCache {
  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** Would a file of this size be kept at all? */
  fits(bytes: number): boolean {
    return this.enabled && bytes <= this.maxBytes;
  }

  async prepare(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(this.dir, 0o700);
  }

  /** A fresh name for a download in progress, in the cache's own directory (so the rename is atomic). */
  partFile(): string {
    return path.join(this.dir, `.part-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  entry(sha256: string): string {
    return path.join(this.dir, sha256);
  }

  /**
   * Copies the entry to `dest` (created, never overwritten) if there is one whose content still has
   * this hash; false when there is none. A damaged entry is removed and `dest` with it.
   */
  async copyOut(sha256: string, dest: string, signal: AbortSignal): Promise<boolean> {
    const file = this.entry(sha256);
    const hash = createHash('sha256');
    try {
      await pipeline(
        createReadStream(file),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            transferred(chunk.length);
            yield chunk;
          }
        },
        createWriteStream(dest, { flags: 'wx', mode: 0o600 }),
        { signal },
      );
    } catch (err) {
      await fs.rm(dest, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !signal.aborted) return false;
      throw err;
    }
    if (hash.digest('hex') !== sha256) {
      await Promise.all([fs.rm(file, { force: true }), fs.rm(dest, { force: true })]);
      return false;
    }
    const now = new Date();
    await fs.utimes(file, now, now).catch(() => undefined);
    return true;
  }

  /** A verified download becomes the entry for its hash. */
  async adopt(part: string, sha256: string): Promise<string> {
    const file = this.entry(sha256);
    await fs.rename(part, file);
    return file;
  }

  /** Least recently used first, until the cache fits its cap; returns what was removed. */
  async evict(): Promise<string[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const entries: Array<{ name: string; size: number; used: number }> = [];
    const now = Date.now();
    for (const name of names) {
      const st = await fs.lstat(path.join(this.dir, name)).catch(() => null);
      if (!st?.isFile()) continue;
      if (name.startsWith('.part-')) {
        if (now - st.mtimeMs > STALE_PART_MS) await fs.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      entries.push({ name, size: st.size, used: st.mtimeMs });
    }
    entries.sort((a, b) => a.used - b.used);
    let total = entries.reduce((n, e) => n + e.size, 0);
    const removed: string[] = [];
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      // an entry being copied out stays readable through its open descriptor (POSIX)
      await fs.rm(path.join(this.dir, e.name), { force: true });
      total -= e.size;
      removed.push(e.name);
    }
    return removed;
  }
}
