/** Where the built agent is, and the environment every test, fixture, demo and benchmark starts it with. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILT_CLI = path.join(REPO, 'dist-electron', 'cli.js');

/**
 * The agent under test as a program and its leading arguments: the repo's build by default, or any
 * installed form of it (`ATS_AGENT_CMD=/usr/local/bin/ats-agent`, the single file...), so one suite
 * proves each way users get the agent.
 */
export function agentCommand(): { file: string; args: string[] } {
  const installed = process.env.ATS_AGENT_CMD;
  return installed ? { file: path.resolve(installed), args: [] } : { file: process.execPath, args: [BUILT_CLI] };
}

/** Agents start where users start them: never inside the repository, so nothing may rely on it. */
export const AGENT_CWD = '/';

/**
 * This process's environment without the developer's own ATS_AGENT_* settings (a token file, a
 * config, a server URL would change what the agent under test does), plus the given token.
 */
export function agentEnv(token: string | null, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('ATS_AGENT_')),
  );
  if (token !== null) env.ATS_AGENT_TOKEN = token;
  return { ...env, ...extra };
}
