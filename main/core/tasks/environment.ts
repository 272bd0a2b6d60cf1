/**
 * A task's environment: the agent's own minus its secrets, plus the task's `env_vars`, plus the
 * ATS_* variables. A task runs arbitrary commands, so the agent's token must never reach it, by
 * name or hidden in another variable (a URL with the token in its query, for instance).
 */
export interface TaskEnvOptions {
  base: NodeJS.ProcessEnv;
  /** variables never passed on, whatever their value (compared without case) */
  dropNames: string[];
  /** any variable whose value contains one of these is dropped */
  secretValues: string[];
  envVars?: Record<string, string> | null;
  taskId: string;
  taskDir: string;
  workDir: string;
  /** Windows names are case-insensitive: `Path` from a task replaces the agent's `PATH` */
  platform?: NodeJS.Platform;
}

export function buildTaskEnv(opts: TaskEnvOptions): Record<string, string> {
  const caseInsensitive = (opts.platform ?? process.platform) === 'win32';
  const dropped = new Set(opts.dropNames.map((name) => name.toUpperCase()));
  // an empty "secret" is contained in every value and would empty the environment
  const secrets = opts.secretValues.filter((value) => value !== '');
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.base)) {
    if (value === undefined || dropped.has(name.toUpperCase())) continue;
    if (secrets.some((secret) => value.includes(secret))) continue;
    env[name] = value;
  }
  const set = (name: string, value: string): void => {
    if (caseInsensitive) {
      for (const existing of Object.keys(env)) {
        if (existing !== name && existing.toUpperCase() === name.toUpperCase()) delete env[existing];
      }
    }
    env[name] = value;
  };
  for (const [name, value] of Object.entries(opts.envVars ?? {})) set(name, value);
  // last, so that a task cannot point the agent's cleanup (which finds processes by ATS_TASK_ID) elsewhere
  set('ATS_TASK_ID', opts.taskId);
  set('ATS_TASK_DIR', opts.taskDir);
  set('ATS_WORK_DIR', opts.workDir);
  return env;
}
