/**
 * Validation of everything that crosses the IPC boundary into the main process: the sender's URL
 * and every call's arguments. Pure (zod + node:path/url, NO electron) so that it unit-tests in Node.
 *
 * The renderer is treated as hostile: a compromised page may invoke any channel with any
 * structured-clonable value, so arguments are parsed strictly (exact arity, no unknown keys, bounded
 * strings) before the AgentApi sees them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { AgentCall, PathTarget, SettingsPatch } from '../core/api.js';
import { LOG_LEVELS } from '../core/config/schema.js';
import { AGENT_METHODS, type AgentMethod } from './ipc-contract.js';

export const MAX_TASK_ID = 256;
export const MAX_URL = 2048;
export const MAX_TOKEN = 4096;
export const MAX_PATH = 4096;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const TaskId = z
  .string()
  .min(1, 'task id is empty')
  .max(MAX_TASK_ID, `task id is longer than ${MAX_TASK_ID}`)
  .refine((s) => !CONTROL_CHARS.test(s), 'task id contains control characters');

const ServerUrl = z
  .string()
  .max(MAX_URL, `server URL is longer than ${MAX_URL}`)
  .refine((u) => URL.canParse(u), 'server URL is not a URL')
  .refine((u) => /^wss?:\/\//i.test(u), 'server URL must start with ws:// or wss://');

/** sent as a Bearer header and a query parameter: visible ASCII only */
const Token = z
  .string()
  .min(1, 'token is empty')
  .max(MAX_TOKEN, `token is longer than ${MAX_TOKEN}`)
  .regex(/^[\x21-\x7e]+$/, 'token must be printable ASCII without spaces');

const WorkDir = z
  .string()
  .min(1, 'work dir is empty')
  .max(MAX_PATH, `work dir is longer than ${MAX_PATH}`)
  .refine((p) => !CONTROL_CHARS.test(p), 'work dir contains control characters')
  .refine((p) => path.isAbsolute(p), 'work dir must be an absolute path');

export const SettingsPatchSchema = z.strictObject({
  serverUrl: ServerUrl.optional(),
  token: Token.optional(),
  workDir: WorkDir.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  maxConcurrent: z.number().int().min(1).max(64).optional(),
  keepTasks: z.number().int().min(0).max(100_000).optional(),
  keepDays: z.number().min(0).max(36_500).optional(),
  notifyOnFailure: z.boolean().optional(),
  startAtLogin: z.boolean().optional(),
});

export const PathTargetSchema = z.enum(['work-dir', 'logs']);

// Each tuple has a fixed length: extra arguments are an error, not ignored.
const ARGS: { [M in AgentMethod]: z.ZodType<Extract<AgentCall, { method: M }>['args']> } = {
  getSnapshot: z.tuple([]),
  getTaskOutput: z.tuple([TaskId]),
  cancelTask: z.tuple([TaskId]),
  getSettings: z.tuple([]),
  updateSettings: z.tuple([SettingsPatchSchema]) as z.ZodType<[SettingsPatch]>,
  openPath: z.tuple([PathTargetSchema]) as z.ZodType<[PathTarget]>,
};

export type ValidatedCall = { ok: true; call: AgentCall } | { ok: false; error: string };

function isAgentMethod(method: unknown): method is AgentMethod {
  return typeof method === 'string' && (AGENT_METHODS as string[]).includes(method);
}

/** Parses one call; the error text is safe to send back to the renderer (it never echoes values). */
export function validateCall(method: unknown, args: unknown): ValidatedCall {
  if (!isAgentMethod(method))
    return {
      ok: false,
      error: `unknown method ${typeof method === 'string' ? JSON.stringify(method.slice(0, 64)) : typeof method}`,
    };
  if (!Array.isArray(args)) return { ok: false, error: `${method}: arguments must be an array` };
  const parsed = ARGS[method].safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` (${issue.path.map(String).join('.')})` : '';
    return { ok: false, error: `${method}: invalid arguments${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, call: { method, args: parsed.data } as AgentCall };
}

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
