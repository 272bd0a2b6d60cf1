/**
 * The one dispatcher of the AgentApi: parses a call (method + arguments) from any transport and runs
 * it. The dashboard socket (headless) and the IPC handlers (desktop) both hand their raw input here,
 * so the two can never disagree on what is a valid call or on the answer to it.
 *
 * The caller is treated as hostile: a compromised page may send any JSON or structured-clonable
 * value, so arguments are parsed strictly (exact arity, no unknown keys, bounded strings) before the
 * AgentApi sees them, and an error text never echoes the rejected value (it may be a token).
 */
import path from 'node:path';
import { z } from 'zod';
import type { AgentApi, AgentCall, PathTarget, SettingsPatch, TaskHistoryQuery } from './api.js';
import { LOG_LEVELS } from './config/schema.js';
import { TASK_ID_PATTERN } from './protocol/frames.js';
import { MAX_HISTORY_PAGE, MAX_HISTORY_SEARCH } from './tasks/task-history.js';
import { MAX_PAGE_LINES, MAX_QUERY_CHARS } from './tasks/task-log-reader.js';

export const MAX_TASK_ID = 256;
export const MAX_URL = 2048;
export const MAX_TOKEN = 4096;
export const MAX_PATH = 4096;

// eslint-disable-next-line no-control-regex -- the point is to find control characters
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
  registrationToken: Token.optional(),
  workDir: WorkDir.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  maxConcurrent: z.number().int().min(1).max(64).optional(),
  keepTasks: z.number().int().min(0).max(100_000).optional(),
  keepDays: z.number().min(0).max(36_500).optional(),
  notifyOnFailure: z.boolean().optional(),
  startAtLogin: z.boolean().optional(),
});

export const PathTargetSchema = z.enum(['work-dir', 'logs']);

/** the log's task id becomes a file name: only the protocol's id characters, so never a path */
const LogTaskId = z.string().regex(TASK_ID_PATTERN, 'not a task id (letters, digits, ".", "_", "-"; no path)');
const LineNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const TaskHistoryQuerySchema = z.strictObject({
  status: z.enum(['queued', 'running', 'success', 'failed', 'error', 'timeout', 'cancelled']).optional(),
  search: z.string().max(MAX_HISTORY_SEARCH, `search is longer than ${MAX_HISTORY_SEARCH}`).optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_PAGE).optional(),
});

export type AgentMethod = AgentCall['method'];

// Each tuple has a fixed length: extra arguments are an error, not ignored.
const ARGS: { [M in AgentMethod]: z.ZodType<Extract<AgentCall, { method: M }>['args']> } = {
  getSnapshot: z.tuple([]),
  getTaskOutput: z.tuple([TaskId]),
  cancelTask: z.tuple([TaskId]),
  getSettings: z.tuple([]),
  updateSettings: z.tuple([SettingsPatchSchema]) as z.ZodType<[SettingsPatch]>,
  openPath: z.tuple([PathTargetSchema]) as z.ZodType<[PathTarget]>,
  pause: z.tuple([]),
  resume: z.tuple([]),
  quit: z.tuple([]),
  getTaskHistory: z.tuple([TaskHistoryQuerySchema]) as z.ZodType<[TaskHistoryQuery]>,
  readTaskLog: z.tuple([LogTaskId, LineNumber, z.number().int().min(0).max(MAX_PAGE_LINES)]),
  searchTaskLog: z.tuple([
    LogTaskId,
    z.string().min(1, 'search text is empty').max(MAX_QUERY_CHARS, `search text is longer than ${MAX_QUERY_CHARS}`),
    LineNumber,
  ]),
  revealTaskLog: z.tuple([LogTaskId]),
};

function isAgentMethod(method: unknown): method is AgentMethod {
  return typeof method === 'string' && Object.hasOwn(ARGS, method);
}

export type ParsedCall = { ok: true; call: AgentCall } | { ok: false; error: string };

/** Parses one call; the error text is safe to send back to the caller (it never echoes values). */
export function parseCall(method: unknown, args: unknown): ParsedCall {
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

/** Runs a parsed call; the switch is exhaustive over AgentCall. */
function invoke(api: AgentApi, call: AgentCall): Promise<unknown> {
  switch (call.method) {
    case 'getSnapshot':
      return api.getSnapshot();
    case 'getTaskOutput':
      return api.getTaskOutput(...call.args);
    case 'cancelTask':
      return api.cancelTask(...call.args);
    case 'getSettings':
      return api.getSettings();
    case 'updateSettings':
      return api.updateSettings(...call.args);
    case 'openPath':
      return api.openPath(...call.args);
    case 'pause':
      return api.pause();
    case 'resume':
      return api.resume();
    case 'quit':
      return api.quit();
    case 'getTaskHistory':
      return api.getTaskHistory(...call.args);
    case 'readTaskLog':
      return api.readTaskLog(...call.args);
    case 'searchTaskLog':
      return api.searchTaskLog(...call.args);
    case 'revealTaskLog':
      return api.revealTaskLog(...call.args);
  }
}

export type CallAnswer = { ok: true; result: unknown } | { ok: false; error: string };

/** Parses and runs one call from a transport; never throws: a refused or failed call is an answer. */
export async function dispatchCall(api: AgentApi, method: unknown, args: unknown): Promise<CallAnswer> {
  const parsed = parseCall(method, args);
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, result: await invoke(api, parsed.call) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
