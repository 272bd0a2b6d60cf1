/**
 * AgentApi over a running agent: what every host hands to its transport. Host-specific parts
 * (settings storage, opening folders) come from the host; a headless agent has neither.
 */
import type { AgentApi, CommandResult, PathTarget, SettingsPatch, SettingsView } from './api.js';
import type { Agent } from './agent.js';

export interface HostCapabilities {
  settings: () => SettingsView;
  updateSettings?: (patch: SettingsPatch) => Promise<CommandResult>;
  openPath?: (target: PathTarget) => Promise<CommandResult>;
  /** the desktop app quits as a whole; a headless agent stops (its service manager decides what next) */
  quit?: () => Promise<CommandResult>;
  /** the desktop's file manager, showing this file */
  revealFile?: (file: string) => Promise<CommandResult>;
}

export function createAgentApi(agent: () => Agent, host: HostCapabilities): AgentApi {
  return {
    getSnapshot: async () => agent().state.snapshot(),
    subscribe: (listener) => agent().state.subscribe(listener),
    getTaskOutput: async (taskId) => agent().taskOutput(taskId),
    cancelTask: async (taskId) => agent().cancelTask(taskId),
    getSettings: async () => host.settings(),
    updateSettings: async (patch) =>
      host.updateSettings
        ? host.updateSettings(patch)
        : { ok: false, message: 'this agent takes its settings from its config file and command line' },
    openPath: async (target) =>
      host.openPath ? host.openPath(target) : { ok: false, message: 'folders open only in the desktop app' },
    pause: async () => agent().pause('the UI'),
    resume: async () => agent().resume('the UI'),
    quit: async () => {
      if (host.quit) return host.quit();
      agent()
        .shutdown()
        .catch(() => undefined); // the agent logs its own failures while stopping
      return { ok: true };
    },
    getTaskHistory: async (query) => agent().taskHistory(query),
    readTaskLog: async (taskId, fromLine, lineCount) => agent().taskLogs.page(taskId, fromLine, lineCount),
    searchTaskLog: async (taskId, query, fromLine) => agent().taskLogs.search(taskId, query, fromLine),
    revealTaskLog: async (taskId) => {
      if (!host.revealFile)
        return { ok: false, message: 'the file manager opens only in the desktop app; a dashboard downloads the log' };
      const file = await agent().taskLogs.existing(taskId);
      return file ? host.revealFile(file) : { ok: false, message: `task ${taskId} has no log file` };
    },
  };
}
