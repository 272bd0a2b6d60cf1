/**
 * `--dashboard [PORT]` of the headless agent: the UI, /healthz and /metrics on 127.0.0.1.
 * The UI is the renderer vite built into dist/, next to dist-electron/ where this file is bundled,
 * or, in the single-file agent, the same files built into the executable as assets.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from '../core/agent.js';
import { createAgentApi } from '../core/agent-api.js';
import type { TokenStorage } from '../core/api.js';
import { DashboardMetrics } from '../core/dashboard/metrics.js';
import { startDashboard } from '../core/dashboard/server.js';
import { assetUi, directoryUi, type UiFiles } from '../core/dashboard/ui-files.js';

/** The single file's assets hold dist/ under this prefix (scripts/build-sea.mjs). */
export const SEA_UI_PREFIX = 'ui';

/**
 * dist/ relative to the running file: `dist-electron/cli.js` → `dist/`. Run from the sources
 * (`main/cli/dashboard.ts` through tsx) it is two levels up instead; the first one with an
 * index.html wins.
 */
export function uiDir(moduleUrl: string = import.meta.url): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const candidates = [path.resolve(here, '..', 'dist'), path.resolve(here, '..', '..', 'dist')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates[0]!;
}

function uiFiles(): UiFiles {
  // not `import`: the single file's CommonJS main cannot import(), and Electron-as-Node may lack node:sea
  const sea = process.getBuiltinModule('node:sea') as typeof import('node:sea') | undefined;
  if (sea?.isSea()) return assetUi((key) => sea.getAsset(key), SEA_UI_PREFIX, `${process.execPath} (built in)`);
  return directoryUi(uiDir());
}

export async function startHeadlessDashboard(
  agent: Agent,
  port: number,
  tokenStorage: TokenStorage,
): Promise<{ url: string; close(): Promise<void> }> {
  const api = createAgentApi(() => agent, { settings: () => agent.settingsView(tokenStorage) });
  const metrics = new DashboardMetrics(agent.state);
  // the agent's own log: agent.log, the console (stderr) and the UI, redacted like every line
  const log = agent.logger('dashboard');
  const ui = uiFiles();
  if (!(await ui.get(['index.html'])))
    log.warn(
      `dashboard: the UI is not built (no index.html in ${ui.where}); /healthz, /metrics and the API still work`,
    );
  let dashboard;
  try {
    dashboard = await startDashboard({
      api,
      port,
      ui,
      metrics,
      log,
      taskLogFile: (taskId) => agent.taskLogs.existing(taskId),
    });
  } catch (err) {
    metrics.close();
    throw err;
  }
  return {
    url: dashboard.url,
    close: async () => {
      await dashboard.close();
      metrics.close();
    },
  };
}
