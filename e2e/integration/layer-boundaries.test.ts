/**
 * The layer boundaries of eslint.config.js, proven: each import a layer must not make is linted as
 * if it were a file of that layer (ESLint's Node API, the repository's own config) and must fail,
 * and the imports the layer lives on must pass. A rule that silently stopped matching fails here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** no-restricted-imports for import/export statements, no-restricted-syntax for import() */
const RULES = new Set(['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax']);

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({
    cwd: root,
    // the fixtures are not files on disk, so no TypeScript program has them: the type-aware rules are
    // off here (npm run lint runs them), the import rules need no types
    overrideConfig: [{ files: ['**/*.ts', '**/*.tsx'], ...tseslint.configs.disableTypeChecked }],
  });
});

/** The import-rule messages for `code` linted as the file `file` (relative to the repository). */
async function importErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = 1;\n`, { filePath: path.join(root, file) });
  const messages = result?.messages ?? [];
  const fatal = messages.filter((m) => m.fatal);
  if (fatal.length) throw new Error(`${file}: ${fatal.map((m) => m.message).join('; ')}`);
  return messages.filter((m) => m.ruleId !== null && RULES.has(m.ruleId)).map((m) => m.message);
}

function layer(file: string, refused: string[], allowed: string[]): void {
  describe(file, () => {
    it.each(refused)('refuses %s', async (code) => {
      expect(await importErrors(file, code)).toHaveLength(1);
    });
    it.each(allowed)('allows %s', async (code) => {
      expect(await importErrors(file, code)).toEqual([]);
    });
  });
}

layer(
  'main/core/tasks/fixture.ts',
  [
    "import { app } from 'electron';",
    "import { ipcMain } from 'electron/main';",
    "import Store from 'electron-store';",
    "import log from 'electron-log/main';",
    "import log from 'electron-log';",
    "import { registerAgentIpc } from '../../electron/ipc-handlers.js';",
    "import type { AgentMethod } from '../../electron/ipc-contract.js';",
    "export { registerAgentIpc } from '../../electron/ipc-handlers.js';",
    "import { parseOptions } from '../../cli/options.js';",
    "import '../../cli.js';",
    "import { formatBytes } from '../../../renderer/src/format.js';",
    "const m = await import('../../electron/main.js');",
  ],
  [
    "import log from 'electron-log/node';",
    "import { z } from 'zod';",
    "import { WebSocket } from 'ws';",
    "import path from 'node:path';",
    "import type { TaskFrame } from '../protocol/frames.js';",
    "import { createAgentApi } from '../agent-api.js';",
  ],
);

layer(
  'main/core/fixture.ts',
  ["import { registerAgentIpc } from './../electron/ipc-handlers.js';", "import '../cli.js';"],
  ["import type { AgentApi } from './api.js';"],
);

layer(
  'main/cli/fixture.ts',
  [
    "import { app } from 'electron';",
    "import Store from 'electron-store';",
    "import { createTray } from '../electron/tray.js';",
    "import '../../renderer/src/main.js';",
  ],
  ["import { Agent } from '../core/agent.js';", "import { Command } from 'commander';"],
);

layer(
  'main/electron/fixture.ts',
  ["import { parseOptions } from '../cli/options.js';", "import '../../renderer/src/App.js';"],
  [
    "import { app } from 'electron';",
    "import Store from 'electron-store';",
    "import { Agent } from '../core/agent.js';",
  ],
);

layer(
  'main/electron/ipc-contract.ts',
  ["import { z } from 'zod';", "import { AgentApi } from '../core/api.js';", "import path from 'node:path';"],
  ["import type { AgentApi, AgentCall } from '../core/api.js';"],
);

layer(
  'preload/index.ts',
  [
    "import fs from 'node:fs';",
    "import { z } from 'zod';",
    "import { dispatchCall } from '../main/core/api-dispatch.js';",
    "import { AgentApi } from '../main/core/api.js';",
    "import { registerAgentIpc } from '../main/electron/ipc-handlers.js';",
    "import './helpers.js';",
  ],
  [
    "import { contextBridge, ipcRenderer } from 'electron';",
    "import type { AgentApi } from '../main/core/api.js';",
    "import { AGENT_CHANNELS, type RequestResponseChannels } from '../main/electron/ipc-contract.js';",
  ],
);

layer(
  'renderer/src/components/Fixture.tsx',
  [
    "import { createAgentApi } from '../../../main/core/agent-api.js';",
    "import type { Agent } from '../../../main/core/agent.js';",
    "import type { TaskFrame } from '../../../main/core/protocol/frames.js';",
    "import { AGENT_CHANNELS } from '../../../main/electron/ipc-contract.js';",
    "import { AgentSnapshot } from '../../../main/core/api.js';",
    "import { ipcRenderer } from 'electron';",
    "import fs from 'node:fs';",
    "import '../../../preload/index.js';",
  ],
  [
    "import type { AgentSnapshot, TaskView } from '../../../main/core/api.js';",
    "import { useState } from 'react';",
    "import { useAgent } from '../state/useAgent.js';",
  ],
);
