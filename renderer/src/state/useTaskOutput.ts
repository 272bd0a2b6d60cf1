import { useEffect, useState } from 'react';
import { OutputBuffer } from './output-buffer.js';
import { errorText } from './agent-store.js';
import { useAgentStore } from './useAgent.js';

export interface TaskOutputState {
  buffer: OutputBuffer;
  /** bumps (at most once per frame) when lines were added */
  version: number;
  status: 'loading' | 'ready' | 'error';
  error: string | null;
}

/**
 * A task's output: `getTaskOutput(taskId)`, then live `task-output` events (events that arrive
 * while the fetch is in flight are kept and replayed; chunks are de-duplicated by `seq`).
 */
export function useTaskOutput(taskId: string): TaskOutputState {
  const store = useAgentStore();
  const [state, setState] = useState<TaskOutputState>(() => ({
    buffer: new OutputBuffer(),
    version: 0,
    status: 'loading',
    error: null,
  }));

  useEffect(() => {
    let disposed = false;
    let buffer = new OutputBuffer();
    let frame: number | null = null;
    let status: TaskOutputState['status'] = 'loading';
    let error: string | null = null;
    let early: Parameters<OutputBuffer['append']>[0][] | null = [];
    let generation = 0;

    const publish = () => {
      frame = null;
      if (!disposed) setState({ buffer, version: buffer.version, status, error });
    };
    const schedule = () => {
      if (frame === null) frame = requestAnimationFrame(publish);
    };

    const load = () => {
      const gen = ++generation;
      buffer = new OutputBuffer();
      status = 'loading';
      error = null;
      early = [];
      publish();
      store.api.getTaskOutput(taskId).then(
        (chunks) => {
          if (disposed || gen !== generation) return;
          for (const c of chunks) buffer.append(c);
          for (const c of early ?? []) buffer.append(c);
          early = null;
          status = 'ready';
          publish();
        },
        (err: unknown) => {
          if (disposed || gen !== generation) return;
          status = 'error';
          error = errorText(err);
          early = null;
          publish();
        },
      );
    };

    const offOutput = store.onTaskOutput(taskId, (chunk) => {
      if (early) {
        early.push(chunk);
        return;
      }
      if (buffer.append(chunk)) schedule();
    });
    const offReset = store.onReset(load);
    load();
    return () => {
      disposed = true;
      offOutput();
      offReset();
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [store, taskId]);

  return state;
}
