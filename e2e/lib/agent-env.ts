/** Where the built agent is, and the environment every test, fixture, demo and benchmark starts it with. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILT_CLI = path.join(REPO, 'dist-electron', 'cli.js');

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
