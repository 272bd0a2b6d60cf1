/**
 * Validation of what the platform sends. A bad frame is never fatal: the caller answers it with an
 * `error` frame (and a task it can name with an `error` result) and carries on.
 */
import { ErrorCode } from './codes.js';
import {
  AckFrame,
  CancelTaskFrame,
  ConfigUpdateFrame,
  DrainFrame,
  PauseFrame,
  ResumeFrame,
  TaskFrame,
  type InboundFrame,
} from './frames.js';
import { TRANSFER_FIELDS } from './transfer-fields.js';

export type Inbound =
  | { ok: true; frame: Exclude<InboundFrame, { type: 'auth_success' | 'auth_failed' }> }
  | { ok: false; code: ErrorCode; message: string; taskId?: string; rejectedTask?: boolean };

const SCHEMAS = {
  task: TaskFrame,
  cancel_task: CancelTaskFrame,
  config_update: ConfigUpdateFrame,
  ack: AckFrame,
  pause: PauseFrame,
  resume: ResumeFrame,
  drain: DrainFrame,
} as const;

export function parseInbound(frame: unknown): Inbound {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'a frame must be a JSON object' };
  }
  const type = (frame as { type?: unknown }).type;
  if (typeof type !== 'string')
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'the frame has no "type"' };
  // own keys only: "constructor" or "__proto__" must not find Object.prototype's members
  if (!Object.hasOwn(SCHEMAS, type))
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: `unknown frame type "${type.slice(0, 64)}"` };
  const parsed = SCHEMAS[type as keyof typeof SCHEMAS].safeParse(frame);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'frame';
  const rawId = (frame as { task_id?: unknown }).task_id;
  const taskId = typeof rawId === 'string' && rawId.length > 0 ? rawId.slice(0, 256) : undefined;
  return {
    ok: false,
    code:
      type !== 'task'
        ? ErrorCode.INVALID_MESSAGE
        : TRANSFER_FIELDS.includes(String(issue.path[0]))
          ? ErrorCode.FILE_TRANSFER_FAILED
          : ErrorCode.INVALID_TASK,
    message: `${type}: ${field}: ${issue.message}`,
    taskId,
    rejectedTask: type === 'task' && taskId !== undefined,
  };
}
