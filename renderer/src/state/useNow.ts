import { useSyncExternalStore } from 'react';

/** One shared 1 s clock: components that show countdowns or live durations re-render each second. */
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === null) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const l of [...listeners]) l();
    }, 1000);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}

const read = () => now;
const idle = () => () => undefined;

/** the current time, ticking each second while `active` */
export function useNow(active = true): number {
  return useSyncExternalStore(active ? subscribe : idle, read);
}
