/**
 * The mark every process of a task carries in its environment, so that the agent finds the ones
 * that left its process group: the agent's id with the task's. ATS_TASK_ID alone was not enough:
 * two agents on one machine (one per work dir) running tasks with the same task_id ended each
 * other's processes at a task's end.
 */
export const TREE_KEY_VAR = 'ATS_AGENT_TASK';

/** `agentId` absent: the task id alone (tests, tools that run the runner without an agent). */
export function treeKey(agentId: string | undefined, taskId: string): string {
  return agentId ? `${agentId}/${taskId}` : taskId;
}

/** The bytes that mark a process of the task with `key` in /proc/<pid>/environ. */
export function treeCookie(key: string): Buffer {
  return Buffer.from(`${TREE_KEY_VAR}=${key}\0`);
}
