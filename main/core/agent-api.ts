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
}

export function createAgentApi(agent: () => Agent, host: HostCapabilities): AgentApi {
  return {
    getSnapshot: async () => agent().state.snapshot(),
    subscribe: (listener) => agent().state.subscribe(listener),
    getTaskOutput: async (taskId) => agent().state.taskOutput(taskId),
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
  };
}
