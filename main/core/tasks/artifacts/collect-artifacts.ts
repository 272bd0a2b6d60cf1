/**
 * Which files of a task's work dir its `artifacts.paths` globs match. The walk starts at each glob's
 * literal base, never follows a symlinked directory, and takes a symlinked file only when it leads to
 * a regular file inside the work dir; one that leads out is reported, not read. Each file found keeps
 * its device and inode, so the upload can prove it opened that same file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

export interface FoundArtifact {
  /** relative to the work dir, `/`-separated */
  rel: string;
  /** what to open: the file itself, or the in-tree target of a symlink */
  abs: string;
  dev: number;
  ino: number;
}

export interface Collected {
  files: FoundArtifact[];
  /** matched but not uploadable: a symlink out of the work dir */
  refused: Array<{ rel: string; reason: string }>;
  /** more files matched than are uploaded (MAX_ARTIFACTS) */
  leftOut: number;
}

export const MAX_ARTIFACTS = 1_000;
/** directory entries looked at, at most: a task's tree may be huge */
const MAX_VISITED = 200_000;

export async function collectArtifacts(taskDir: string, globs: string[]): Promise<Collected> {
  const root = await fs.realpath(taskDir);
  const patterns = globs.map((g) => g.replace(/\\/g, '/').replace(/^(\.\/)+/, ''));
  const isMatch = picomatch(patterns);
  const bases = literalBases(patterns);
  const out: Collected = { files: [], refused: [], leftOut: 0 };
  const seen = new Set<string>();
  let visited = 0;

  const consider = async (rel: string, abs: string, entry: { isFile(): boolean; isSymbolicLink(): boolean }) => {
    if (seen.has(rel) || !isMatch(rel)) return;
    seen.add(rel);
    if (out.files.length >= MAX_ARTIFACTS) {
      out.leftOut += 1;
      return;
    }
    if (entry.isFile()) {
      const st = await fs.lstat(abs).catch(() => null);
      if (st?.isFile()) out.files.push({ rel, abs, dev: st.dev, ino: st.ino });
      return;
    }
    if (!entry.isSymbolicLink()) return;
    const target = await fs.realpath(abs).catch(() => null);
    if (!target || !inside(root, target)) {
      out.refused.push({ rel, reason: 'a symbolic link that leads outside the task work dir: not followed' });
      return;
    }
    const st = await fs.stat(target).catch(() => null);
    if (st?.isFile()) out.files.push({ rel, abs: target, dev: st.dev, ino: st.ino });
  };

  const walk = async (relDir: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, relDir), { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (++visited > MAX_VISITED) return;
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else await consider(rel, path.join(root, rel), entry);
    }
  };

  for (const base of bases) {
    if (!base) {
      await walk('');
      continue;
    }
    // reached without a symlink: each parent must be a real directory of the tree
    const parent = path.posix.dirname(base);
    if (parent !== '.' && !(await realDirInside(root, parent))) continue;
    const st = await fs.lstat(path.join(root, base)).catch(() => null);
    if (st?.isDirectory()) await walk(base);
    else if (st) await consider(base, path.join(root, base), st);
  }
  out.files.sort((a, b) => (a.rel < b.rel ? -1 : 1));
  return out;
}

/** Each glob's leading literal directories, with bases inside another base dropped. */
function literalBases(patterns: string[]): string[] {
  const bases = patterns.map((p) => {
    const scanned = picomatch.scan(p);
    return scanned.isGlob ? scanned.base.replace(/\/+$/, '') : p.replace(/\/+$/, '');
  });
  const unique = [...new Set(bases)].sort((a, b) => a.length - b.length);
  return unique.filter((b, i) => !unique.slice(0, i).some((o) => o === '' || b === o || b.startsWith(`${o}/`)));
}

async function realDirInside(root: string, rel: string): Promise<boolean> {
  let dir = root;
  for (const part of rel.split('/')) {
    dir = path.join(dir, part);
    const st = await fs.lstat(dir).catch(() => null);
    if (!st?.isDirectory()) return false;
  }
  return true;
}

function inside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
