/**
 * The agent's settings: the spec's YAML keys (3.4.2) with its defaults, plus documented extensions.
 * One schema serves the YAML file, the CLI, the environment and the GUI's settings store.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_WORK_DIR = path.join(os.homedir(), '.ats-agent', 'work');

const wsUrl = z
  .string()
  .url()
  .refine((u) => /^wss?:\/\//i.test(u), 'must start with ws:// or wss://');

export const ConfigSchema = z
  .object({
    server: z
      .object({
        url: wsUrl.default('ws://localhost:8000/ws/agent'),
        /** extension: extra CA (PEM) trusted for wss:// */
        ca_file: z.string().optional(),
        /** extension: give up after this many failed connection attempts in a row (0 = never) */
        max_retries: z.number().int().min(0).default(0),
      })
      .strict()
      .default({ url: 'ws://localhost:8000/ws/agent', max_retries: 0 }),
    logging: z
      .object({
        level: z.enum(LOG_LEVELS).default('INFO'),
        max_size: z.number().int().min(1024).default(10 * 1024 * 1024),
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
        result_max_bytes: z.number().int().min(1024).default(64 * 1024),
        /** extension: shell argv prefix; the command is appended */
        shell: z.array(z.string()).min(1).optional(),
        cleanup: z
          .object({
            keep_tasks: z.number().int().min(0).default(10),
            keep_days: z.number().min(0).default(7),
          })
          .strict()
          .default({ keep_tasks: 10, keep_days: 7 }),
      })
      .strict()
      .default({ max_concurrent: 1, timeout: 3600, kill_grace: 10, result_max_bytes: 64 * 1024, cleanup: { keep_tasks: 10, keep_days: 7 } }),
    monitor: z
      .object({ interval: z.number().min(0.5).max(3600).default(5) })
      .strict()
      .default({ interval: 5 }),
    /** extension: where the agent works until the platform names its work_dir */
    work_dir: z.string().min(1).default(DEFAULT_WORK_DIR),
  })
  .strict();

export type AgentConfig = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export function defaultConfig(): AgentConfig {
  return ConfigSchema.parse({});
}
