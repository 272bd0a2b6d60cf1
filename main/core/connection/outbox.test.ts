import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';

const drain = (box: Outbox, epoch: number) => [...box.takeUnsent(epoch)].map(String);
const b = (text: string) => Buffer.from(text);

describe('Outbox', () => {
  it('keeps frames until a pong for a later ping confirms them', () => {
    const box = new Outbox();
    box.push(b('a'));
    box.push(b('b'));
    expect(drain(box, 0)).toEqual(['a', 'b']);
    box.push(b('c'));
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
    ['1', '2', '3'].forEach((f) => box.push(b(f)));
    drain(box, 0);
    box.confirm(-1);
    box.push(b('4'));
    box.requeueUnconfirmed();
    expect(drain(box, 1)).toEqual(['1', '2', '3', '4']);
  });

  it('never confirms a frame that was not sent yet', () => {
    const box = new Outbox();
    box.push(b('x'));
    expect(box.confirm(100)).toBe(0);
    expect(drain(box, 5)).toEqual(['x']);
  });

  it('stays correct across many compactions', () => {
    const box = new Outbox();
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) box.push(b(String(round * 100 + i)));
      const sent = drain(box, round);
      expect(Number(sent[0])).toBe(expected);
      expected += 100;
      box.confirm(round);
    }
    expect(box.size).toBe(0);
  });
});

describe('Outbox spill', () => {
  const spillPath = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'ats-spill-')), 'outbox.spill');

  it('keeps memory under its limit during an outage and delivers everything in order', () => {
    const box = new Outbox({ spillPath: spillPath(), memoryLimit: 1000 });
    const confirmed: number[] = [];
    for (let i = 0; i < 500; i++)
      box.push(b(JSON.stringify({ i, pad: 'x'.repeat(40) })), i % 50 === 0 ? () => confirmed.push(i) : undefined);
    expect(box.pendingBytes).toBeLessThanOrEqual(1000);
    expect(box.spilledBytes).toBeGreaterThan(20_000);
    expect(box.size).toBe(500);
    const got: number[] = [];
    for (let epoch = 0; box.hasUnsent; epoch++) {
      for (const data of box.takeUnsent(epoch)) got.push(JSON.parse(String(data)).i);
      expect(box.pendingBytes).toBeLessThanOrEqual(1000 + 100);
      box.confirm(epoch);
    }
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(confirmed).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
    expect(box.size).toBe(0);
    expect(box.spilledBytes).toBe(0);
  });

  it('finds frames spilled by an earlier run and sends them first', () => {
    const file = spillPath();
    const before = new Outbox({ spillPath: file, memoryLimit: 41 });
    before.push(b('"kept in memory, lost with the process"'));
    before.push(b('"a"'));
    before.push(b('"b"'));
    const after = new Outbox({ spillPath: file, memoryLimit: 10 });
    expect(after.size).toBe(2);
    after.push(b('"c"'));
    const sent: string[] = [];
    for (let epoch = 0; after.hasUnsent; epoch++) {
      sent.push(...drain(after, epoch));
      after.confirm(epoch);
    }
    expect(sent).toEqual(['"a"', '"b"', '"c"']);
  });
});
