import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles from 1 s to a 60 s ceiling, jittered between half and all of each step', () => {
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999999 });
    const lows = Array.from({ length: 9 }, () => low.next());
    const highs = Array.from({ length: 9 }, () => high.next());
    expect(highs).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    expect(lows).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('spreads a fleet: 1000 agents do not pick the same delay', () => {
    const delays = new Set(Array.from({ length: 1000 }, () => new Backoff().next()));
    expect(delays.size).toBeGreaterThan(300);
  });

  it('waits 3 s after a drop, then backs off from 1 s again; success resets', () => {
    const b = new Backoff({ random: () => 0 });
    b.next();
    b.next();
    b.afterDrop();
    expect(b.next()).toBe(3000);
    expect(b.next()).toBe(500);
    expect(b.attempts).toBe(1);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(500);
  });
});
