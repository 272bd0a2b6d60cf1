/**
 * The task frame's `files` and `artifacts` (PROTOCOL.md second round), checked before the task is
 * queued: a path that would leave the task's work dir, a URL that is not http(s), a malformed hash or
 * mode never reach the disk or the network. A problem here is answered FILE_TRANSFER_FAILED
 * (inbound.ts) with the entry's index and value in the message.
 */
import { z } from 'zod';

export const MAX_FILES = 256;
export const MAX_ARTIFACT_GLOBS = 64;

/** A URL for a log or an error: its query (a presigned signature) and user info left out. */
export function urlForLog(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return JSON.stringify(raw.slice(0, 200));
  }
}

const httpUrl = z
  .string()
  .max(8192)
  .superRefine((raw, ctx) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${urlForLog(raw)} is not a URL` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      ctx.addIssue({ code: 'custom', message: `${urlForLog(raw)} is not an http:// or https:// URL` });
  });

/** Why a relative path (with / or \ separators) could leave the directory it is read in, or null. */
export function relativePathProblem(p: string): string | null {
  if (p.includes('\0')) return 'contains a NUL character';
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return 'is absolute';
  if (p.split(/[/\\]/).includes('..')) return 'has a ".." segment';
  return null;
}

const relativeFilePath = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((p, ctx) => {
    const problem = relativePathProblem(p) ?? (/[/\\]$/.test(p) ? 'names a directory' : null);
    if (problem)
      ctx.addIssue({
        code: 'custom',
        message: `path ${JSON.stringify(p.slice(0, 200))} ${problem}: it must be relative and stay inside the task's work dir`,
      });
  });

/** 0–0o777 as a number (420 = 0o644) or an octal string ("644", "0755"); no setuid, setgid or sticky bits. */
const fileMode = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  const mode =
    typeof raw === 'number' ? raw : /^0?o?[0-7]{1,4}$/.test(raw) ? parseInt(raw.replace(/^0?o?/, ''), 8) : NaN;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    ctx.addIssue({
      code: 'custom',
      message: `mode ${JSON.stringify(raw)} must be a permission between 0 and 0o777 (a number, or an octal string like "0755")`,
    });
    return z.NEVER;
  }
  return mode;
});

export const FileField = z.object({
  url: httpUrl,
  path: relativeFilePath,
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hexadecimal digits')
    .transform((h) => h.toLowerCase())
    .nullish(),
  mode: fileMode.nullish(),
});

export const FilesField = z
  .array(FileField)
  .max(MAX_FILES, `at most ${MAX_FILES} files per task`)
  .superRefine((files, ctx) => {
    const seen = new Map<string, number>();
    files.forEach((f, i) => {
      const key = f.path
        .replace(/\\/g, '/')
        .replace(/\/+/g, '/')
        .replace(/^(\.\/)+/, '');
      const first = seen.get(key);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'path'],
          message: `path ${JSON.stringify(f.path)} is also the path of file ${first}`,
        });
      else seen.set(key, i);
    });
  });

const artifactGlob = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((g, ctx) => {
    const problem = relativePathProblem(g);
    if (problem)
      ctx.addIssue({
        code: 'custom',
        message: `glob ${JSON.stringify(g.slice(0, 200))} ${problem}: artifacts are found inside the task's work dir only`,
      });
  });

export const ArtifactsField = z.object({
  paths: z.array(artifactGlob).min(1).max(MAX_ARTIFACT_GLOBS),
  upload_url: httpUrl,
});

export type FileField = z.infer<typeof FileField>;
export type ArtifactsField = z.infer<typeof ArtifactsField>;

/** The frame fields whose problems are FILE_TRANSFER_FAILED rather than INVALID_TASK. */
export const TRANSFER_FIELDS: readonly string[] = ['files', 'artifacts'];

/** task_result.artifacts: one entry per file found. */
export interface ArtifactEntry {
  path: string;
  size: number;
  sha256: string;
  uploaded: boolean;
  error?: string;
}
