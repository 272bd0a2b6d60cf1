import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';

const drain = (box: Outbox, epoch: number) => [...box.takeUnsent(epoch)];

describe('Outbox', () => {
  it('keeps frames until a pong for a later ping confirms them', () => {
    const box = new Outbox();
    box.push('a');
    box.push('b');
    expect(drain(box, 0)).toEqual(['a', 'b']);
    box.push('c');
    expect(drain(box, 1)).toEqual(['c']);
    expect(box.confirm(0)).toBe(2);
    expect(box.size).toBe(1);
    expect(box.awaitingConfirmation).toBe(true);
    expect(box.confirm(1)).toBe(1);
    expect(box.size).toBe(0);
    expect(box.pendingBytes).toBe(0);
  });

  it('sends everything unconfirmed again, in order, after a reconnect', () => {
    const box = new Outbox();
    ['1', '2', '3'].forEach((f) => box.push(f));
    drain(box, 0);
    box.confirm(-1);
    box.push('4');
    box.requeueUnconfirmed();
    expect(drain(box, 1)).toEqual(['1', '2', '3', '4']);
  });

  it('never confirms a frame that was not sent yet', () => {
    const box = new Outbox();
    box.push('x');
    expect(box.confirm(100)).toBe(0);
    expect(drain(box, 5)).toEqual(['x']);
  });

  it('stays correct across many compactions', () => {
    const box = new Outbox();
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) box.push(String(round * 100 + i));
      const sent = drain(box, round);
      expect(Number(sent[0])).toBe(expected);
      expected += 100;
      box.confirm(round);
    }
    expect(box.size).toBe(0);
  });
});
