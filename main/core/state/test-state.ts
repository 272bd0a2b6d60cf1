/** Test fixture: the state of an online headless agent, for unit tests of the parts that report into it. */
import { AgentState } from './agent-state.js';

export function onlineAgentState(): AgentState {
  return new AgentState(
    { version: '1', agentId: 'a', mode: 'headless', hostname: 'h', pid: 1, startedAt: '', runningAsRoot: false },
    {
      phase: 'online',
      serverUrl: '',
      environmentId: null,
      workDir: '',
      connectedSince: null,
      nextAttemptAt: null,
      attempt: 0,
      lastError: null,
    },
  );
}
