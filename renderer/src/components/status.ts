import type { ConnectionPhase, TaskPhase } from '../../../main/core/api.js';
import type { DictKey } from '../i18n/index.js';

/** One palette for every status: ok green, active blue, waiting amber, bad red, neutral grey. */
export type Tone = 'ok' | 'active' | 'warn' | 'bad' | 'neutral';

export const connectionTone: Record<ConnectionPhase, Tone> = {
  unconfigured: 'neutral',
  starting: 'warn',
  connecting: 'warn',
  authenticating: 'warn',
  online: 'ok',
  reconnecting: 'warn',
  auth_failed: 'bad',
  stopping: 'warn',
  stopped: 'bad',
};

export const taskTone: Record<TaskPhase, Tone> = {
  queued: 'neutral',
  running: 'active',
  success: 'ok',
  failed: 'bad',
  error: 'bad',
  timeout: 'bad',
  cancelled: 'neutral',
};

export const phaseKey = (p: ConnectionPhase) => `phase.${p}` as DictKey;
export const taskPhaseKey = (p: TaskPhase) => `taskPhase.${p}` as DictKey;
