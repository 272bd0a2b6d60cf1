/**
 * The agent's settings: the spec's YAML keys (3.4.2) with its defaults, plus documented extensions.
 * One schema serves the YAML file, the CLI, the environment and the GUI's settings store.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { denyPatternProblem } from '../tasks/deny-patterns.js';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_WORK_DIR = path.join(os.homedir(), '.ats-agent', 'work');

const wsUrl = z
  .string()
  .url()
  .refine((u) => /^wss?:\/\//i.test(u), 'must start with ws:// or wss://');

/** Letters, digits and `_ . : = / -`: safe in a URL, a label selector and a log line. */
export const TAG_PATTERN = /^[A-Za-z0-9_.:=/-]{1,64}$/;

export function tagProblem(tag: string): string | null {
  return TAG_PATTERN.test(tag)
    ? null
    : `tag ${JSON.stringify(tag)} is not allowed: 1 to 64 letters, digits or _ . : = / -`;
}

const tagSchema = z.string().superRefine((tag, ctx) => {
  const problem = tagProblem(tag);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const scriptSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits and _ only (it names a metric)'),
    command: z.string().min(1),
    /** seconds between the starts of two runs */
    interval: z.number().min(1).max(86400).default(60),
    /** seconds before a run is killed (its whole process group) */
    timeout: z.number().min(0.1).max(3600).default(10),
  })
  .strict();

export const ALERT_METRICS = ['cpu.usage_percent', 'memory.usage_percent', 'disk.usage_percent'] as const;

const alertSchema = z
  .object({
    name: z.string().min(1).max(128),
    metric: z
      .string()
      .refine(
        (m) => (ALERT_METRICS as readonly string[]).includes(m) || /^custom\.[A-Za-z0-9_]{1,64}$/.test(m),
        `must be one of ${ALERT_METRICS.join(', ')} or custom.NAME`,
      ),
    above: z.number(),
    /** seconds the condition must hold before the state changes */
    for: z.number().min(0).default(0),
  })
  .strict();

function checkMonitor(
  m: { scripts: Array<{ name: string }>; alerts: Array<{ name: string; metric: string }> },
  ctx: z.RefinementCtx,
): void {
  const scripts = new Set<string>();
  m.scripts.forEach((s, i) => {
    if (scripts.has(s.name))
      ctx.addIssue({ code: 'custom', path: ['scripts', i, 'name'], message: `duplicate script name ${s.name}` });
    scripts.add(s.name);
  });
  const alerts = new Set<string>();
  m.alerts.forEach((a, i) => {
    if (alerts.has(a.name))
      ctx.addIssue({ code: 'custom', path: ['alerts', i, 'name'], message: `duplicate alert name ${a.name}` });
    alerts.add(a.name);
    if (a.metric.startsWith('custom.') && !scripts.has(a.metric.slice(7)))
      ctx.addIssue({
        code: 'custom',
        path: ['alerts', i, 'metric'],
        message: `no monitor.scripts entry is named ${a.metric.slice(7)}`,
      });
  });
}

export const ConfigSchema = z
  .object({
    /** extension (PROTOCOL.md, second round): labels the platform routes work by */
    agent: z
      .object({ tags: z.array(tagSchema).default([]) })
      .strict()
      .default({ tags: [] }),
    server: z
      .object({
        url: wsUrl.default('ws://localhost:8000/ws/agent'),
        /** extension: extra CA (PEM) trusted for wss:// */
        ca_file: z.string().optional(),
        /**
         * extension: HTTP CONNECT proxy URL for the WebSocket (http://[user:pass@]host:port); wins over
         * HTTPS_PROXY (wss://) and HTTP_PROXY (ws://). See connection/proxy.ts.
         */
        proxy: z
          .string()
          .min(1)
          .refine((u) => {
            try {
              return ['http:', 'https:'].includes(
                new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? u : `http://${u}`).protocol,
              );
            } catch {
              return false;
            }
          }, 'must be an http:// or https:// proxy URL (an HTTP CONNECT proxy)')
          .optional(),
        /** extension: hosts that bypass the proxy (NO_PROXY syntax); wins over NO_PROXY */
        no_proxy: z.array(z.string()).optional(),
        /** extension: give up after this many failed connection attempts in a row (0 = never) */
        max_retries: z.number().int().min(0).default(0),
      })
      .strict()
      .default({ url: 'ws://localhost:8000/ws/agent', max_retries: 0 }),
    logging: z
      .object({
        level: z.enum(LOG_LEVELS).default('INFO'),
        max_size: z
          .number()
          .int()
          .min(1024)
          .default(10 * 1024 * 1024),
        backup_count: z.number().int().min(0).max(100).default(5),
      })
      .strict()
      .default({ level: 'INFO', max_size: 10 * 1024 * 1024, backup_count: 5 }),
    task: z
      .object({
        max_concurrent: z.number().int().min(1).max(64).default(1),
        timeout: z.number().positive().default(3600),
        /** extension: seconds between SIGTERM and SIGKILL when a task is stopped */
        kill_grace: z.number().min(0).default(10),
        /** extension: bytes of stdout / stderr kept in a task_result (the tail) */
        result_max_bytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024),
        /** extension: shell argv prefix; the command is appended */
        shell: z.array(z.string()).min(1).optional(),
        /**
         * extension: when the agent runs as root, tasks run as this user (a name or a uid) with its
         * HOME, USER and LOGNAME; when it does not, tasks are refused while this is set.
         */
        run_as: z.union([z.string().min(1), z.number().int().min(0)]).optional(),
        /**
         * extension: RE2 regular expressions (linear time: no backreferences, no lookaround); a task whose command matches one is refused
         * (TASK_DENIED) and nothing runs. A guardrail against mistakes, not a sandbox.
         */
        deny_patterns: z
          .array(
            z
              .string()
              .min(1)
              .superRefine((pattern, ctx) => {
                const problem = denyPatternProblem(pattern);
                if (problem) ctx.addIssue({ code: 'custom', message: problem });
              }),
          )
          .default([]),
        /**
         * extension: absolute directories besides the work root where a task's work_dir may be (a
         * shared checkout); never the root itself, nor one that holds the agent's own files.
         */
        allowed_work_dirs: z
          .array(
            z
              .string()
              .min(1)
              .refine((p) => path.isAbsolute(p), 'must be an absolute path'),
          )
          .default([]),
        /** extension: tasks that may wait (queued, or for their depends_on) at once; more are refused QUEUE_FULL */
        max_queued: z.number().int().min(1).max(1_000_000).default(10_000),
        /** extension: seconds a task waits for a depends_on task that has not arrived on this agent */
        dependency_timeout: z
          .number()
          .positive()
          .max(7 * 86400)
          .default(3600),
        cleanup: z
          .object({
            keep_tasks: z.number().int().min(0).default(10),
            keep_days: z.number().min(0).default(7),
            /**
             * extension: also remove a task's work_dir that existed before the task (a platform's
             * shared checkout); by default only directories the agent created for a task go
             */
            remove_existing_dirs: z.boolean().default(false),
          })
          .strict()
          .default({ keep_tasks: 10, keep_days: 7, remove_existing_dirs: false }),
      })
      .strict()
      .default({
        max_concurrent: 1,
        timeout: 3600,
        kill_grace: 10,
        result_max_bytes: 64 * 1024,
        max_queued: 10_000,
        dependency_timeout: 3600,
        deny_patterns: [],
        allowed_work_dirs: [],
        cleanup: { keep_tasks: 10, keep_days: 7, remove_existing_dirs: false },
      }),
    monitor: z
      .object({
        interval: z.number().min(0.5).max(3600).default(5),
        /** extension: the operator's probes, each on its own schedule (monitor/scripts.ts) */
        scripts: z.array(scriptSchema).default([]),
        /** extension: thresholds on a metric, held for `for` seconds (monitor/alerts.ts) */
        alerts: z.array(alertSchema).default([]),
      })
      .strict()
      .superRefine(checkMonitor)
      .default({ interval: 5, scripts: [], alerts: [] }),
    /**
     * extension (PROTOCOL.md second round): the operator's commands around every task, run with the
     * task's shell, dir, env and user (tasks/hooks.ts). Never set by the platform: a task frame has
     * no such field.
     */
    hooks: z
      .object({
        /** before the command; failing (non-zero exit, timeout) = `error` / HOOK_FAILED, the command does not run */
        pre_task: z.string().trim().min(1, 'must be a command (leave the key out for none)').optional(),
        /** after every end (success, failure, timeout, cancel, a failed pre_task); ATS_TASK_STATUS says which */
        post_task: z.string().trim().min(1, 'must be a command (leave the key out for none)').optional(),
        /** seconds each hook may run before its process tree is ended */
        timeout: z.number().positive('must be a number of seconds above 0').max(86400).default(60),
      })
      .strict()
      .default({ timeout: 60 }),
    /** extension: where the agent works until the platform names its work_dir */
    work_dir: z.string().min(1).default(DEFAULT_WORK_DIR),
  })
  .strict();

export type AgentConfig = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
