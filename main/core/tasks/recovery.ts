/**
 * Recovery at start, from the journal and the outbox together: tasks the journal says were queued
 * or running are ended and reported AGENT_RESTARTED, unless the outbox already holds their result;
 * a result the platform never confirmed goes out once (from the outbox if it is there, from the
 * journal if the crash came before the outbox had it); every task id seen before stays known.
 */
import type { Logger } from '../logging/logger.js';
import { ErrorCode } from '../protocol/codes.js';
import type { OnConfirmed, TaskResultFrame, TaskLogFrame } from '../protocol/frames.js';
import type { JournalEntry, TaskJournal } from './journal.js';
import { processStartTime, stopTree } from './process-tree.js';
import { treeKey } from './tree-key.js';
import { unrun, type TaskReporting } from './reporting.js';
import type { TaskTable } from './task-table.js';

/** The outbox's knowledge of results, as recovery needs it (connection/outbox.ts). */
export interface DeliveryLedger {
  pendingResult(taskId: string): TaskResultFrame | undefined;
  resultConfirmed(taskId: string): boolean;
  /** the frame of a confirmed result, when the outbox file still holds it */
  confirmedResult(taskId: string): TaskResultFrame | undefined;
  whenResultConfirmed(taskId: string, cb: OnConfirmed): boolean;
  keepConfirmedUntil(taskId: string, recorded: Promise<unknown>): void;
}

export interface RecoveryOptions {
  table: TaskTable;
  journal: TaskJournal;
  reporting: TaskReporting;
  delivery: DeliveryLedger;
  deliver: (frame: TaskLogFrame | TaskResultFrame, onConfirmed?: OnConfirmed) => void;
  killGraceS: number;
  log: Logger;
  /** this agent's id: with the task's, it marks the task's processes (tree-key.ts) */
  agentId?: string;
}

export async function recoverTasks(entries: JournalEntry[], opts: RecoveryOptions): Promise<void> {
  const { table, journal, delivery, log } = opts;
  for (const entry of entries) table.markSeen(entry.task_id);
  for (const entry of entries) {
    const id = entry.task_id;
    const delivered = (finished: JournalEntry) => () => journal.write({ ...finished, delivered: true });
    // confirmed in an earlier run: the outbox file keeps saying so until the journal does
    const confirmedBefore = (finished: JournalEntry) => delivery.keepConfirmedUntil(id, delivered(finished)());
    if (entry.phase === 'finished' && entry.result) {
      table.rememberResult(entry.result);
      if (entry.delivered) continue;
      if (delivery.resultConfirmed(id)) confirmedBefore(entry);
      else if (!delivery.whenResultConfirmed(id, delivered(entry))) {
        log.info(`task ${id}: sending its unconfirmed result again`);
        opts.deliver(entry.result, delivered(entry));
      }
      continue;
    }
    // the outbox has a result the journal did not record (its write failed or was cut short)
    const confirmed = delivery.resultConfirmed(id);
    const result = delivery.pendingResult(id) ?? (confirmed ? delivery.confirmedResult(id) : undefined);
    if (result || confirmed) {
      const finished: JournalEntry = { ...entry, phase: 'finished', ...(result ? { result } : {}), delivered: false };
      if (result) table.rememberResult(result);
      journal.record(finished);
      if (!delivery.whenResultConfirmed(id, delivered(finished))) confirmedBefore(finished);
      continue;
    }
    // a pid is trusted only while it still names the same process
    const trusted =
      entry.pid !== undefined && entry.pid_start !== undefined && processStartTime(entry.pid) === entry.pid_start;
    await stopTree(
      trusted ? entry.pid : undefined,
      treeKey(opts.agentId, id),
      opts.killGraceS * 1000,
      trusted ? { start: entry.pid_start } : undefined,
    );
    log.warn(
      `task ${id} was ${entry.phase} when the agent stopped unexpectedly; its processes are ended and it is reported as an error`,
    );
    opts.reporting.recovered(entry);
    const error = `the agent restarted while the task was ${entry.phase}; its processes were ended`;
    opts.reporting.finish(
      { type: 'task', task_id: id, command: entry.command },
      unrun('error', ErrorCode.AGENT_RESTARTED, error, new Date(entry.received_at)),
    );
  }
}
