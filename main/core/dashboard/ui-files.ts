/**
 * Where the dashboard's UI comes from: vite's dist/ on disk (the npm-installed agent, the desktop app's
 * resources), or the assets built into the single-file agent. The server vets the URL path; a source
 * only looks a vetted path up.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

export interface UiFile {
  size: number;
  open(): Readable;
}

export interface UiFiles {
  /** the file at these path segments under the UI's root (none is empty, `.`, `..` or a dot file), or null */
  get(segments: readonly string[]): Promise<UiFile | null>;
  /** where the files are, for messages */
  readonly where: string;
}

/** A directory: no symlink may lead out of it. */
export function directoryUi(dir: string): UiFiles {
  const root = path.resolve(dir);
  return {
    where: root,
    async get(segments) {
      const candidate = path.resolve(root, ...segments);
      if (!candidate.startsWith(root + path.sep)) return null;
      try {
        const [real, realRoot] = await Promise.all([realpath(candidate), realpath(root)]);
        if (!real.startsWith(realRoot + path.sep)) return null;
        const info = await stat(real);
        return info.isFile() ? { size: info.size, open: () => createReadStream(real) } : null;
      } catch {
        return null;
      }
    },
  };
}

/** Assets keyed `<prefix>/<path>`, e.g. `ui/assets/index-1234.js` (node:sea's getAsset, which throws for a missing key). */
export function assetUi(getAsset: (key: string) => ArrayBuffer, prefix: string, where: string): UiFiles {
  return {
    where,
    get(segments) {
      let bytes: ArrayBuffer;
      try {
        bytes = getAsset([prefix, ...segments].join('/'));
      } catch {
        return Promise.resolve(null);
      }
      const body = Buffer.from(bytes);
      return Promise.resolve({ size: body.length, open: () => Readable.from([body]) });
    },
  };
}
