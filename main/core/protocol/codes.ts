/** Error codes of the spec's appendix B, plus the agent's own extensions (docs/protocol.md). */
export const ErrorCode = {
  AUTH_FAILED: 'AUTH_FAILED',
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  TASK_EXECUTION_FAILED: 'TASK_EXECUTION_FAILED',
  TASK_TIMEOUT: 'TASK_TIMEOUT',
  WORK_DIR_ERROR: 'WORK_DIR_ERROR',
  /** extensions */
  TASK_CANCELLED: 'TASK_CANCELLED',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  INVALID_TASK: 'INVALID_TASK',
  AGENT_RESTARTED: 'AGENT_RESTARTED',
  AGENT_SHUTDOWN: 'AGENT_SHUTDOWN',
  /** the command matched one of task.deny_patterns; nothing ran */
  TASK_DENIED: 'TASK_DENIED',
  /** a depends_on task ended other than `success`, never arrived, or closed a cycle; nothing ran */
  DEPENDENCY_FAILED: 'DEPENDENCY_FAILED',
  /** the operator's pre_task hook failed (exit, timeout, start); the command did not run */
  HOOK_FAILED: 'HOOK_FAILED',
  /** task.max_queued tasks wait already; nothing ran */
  QUEUE_FULL: 'QUEUE_FULL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Process exit codes, documented in the README. */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  AUTH_FAILED: 3,
  CONNECTION_FAILED: 4,
  WORK_DIR_ERROR: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the agent with a documented exit code and a message meant for a person. */
export class FatalError extends Error {
  constructor(
    readonly code: ErrorCode | 'USAGE',
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'FatalError';
  }
}
