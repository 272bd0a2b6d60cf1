import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import { Outbox } from './outbox.js';

const log = (task: string, seq: number, message = `line ${seq}`): TaskLogFrame => ({
  type: 'task_log',
  task_id: task,
  level: 'info',
  message,
  timestamp: '2026-01-01T00:00:00.000Z',
  stream: 'stdout',
  seq,
});
const result = (task: string): TaskResultFrame => ({
  type: 'task_result',
  task_id: task,
  status: 'success',
  exit_code: 0,
  output: '',
  error: '',
  duration: 0.1,
  timestamp: '2026-01-01T00:00:01.000Z',
});
/** what went to the socket, as `task:seq` or `task:result` */
const send = (box: Outbox, epoch = 0) =>
  [...box.takeUnsent(epoch)].map((b) => {
    const f = JSON.parse(b.toString()) as TaskLogFrame | TaskResultFrame;
    return `${f.task_id}:${f.type === 'task_log' ? f.seq : 'result'}`;
  });
const fileIn = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'ats-outbox-')), 'state', 'outbox.log');
/** a frame big enough to wait for the turn's grouped write */
const big = (task: string, seq: number) => log(task, seq, `${seq} `.padEnd(20_000, 'b'));
/** one turn of the event loop: what the outbox gathered in the last one is on the file */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** an outbox whose `written` resolves at its next onWritten */
function watched(opts: { file: string; memoryLimit?: number; onWriteError?: (err: Error) => void }) {
  let waiters: Array<() => void> = [];
  let writes = 0;
  const box = new Outbox({
    ...opts,
    onWritten: () => {
      writes += 1;
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    },
  });
  return {
    box,
    written: () => new Promise<void>((resolve) => waiters.push(resolve)),
    get writes() {
      return writes;
    },
  };
}

describe('Outbox without ack (ping/pong confirms)', () => {
  it('keeps frames until a pong for a later ping confirms them', () => {
    const box = new Outbox();
    box.push(log('a', 1));
    box.push(log('a', 2));
    expect(send(box, 0)).toEqual(['a:1', 'a:2']);
    box.push(log('a', 3));
    expect(send(box, 1)).toEqual(['a:3']);
    expect(box.confirm(0)).toBe(2);
    expect(box.size).toBe(1);
    expect(box.awaitingConfirmation).toBe(true);
    expect(box.confirm(1)).toBe(1);
    expect(box.size).toBe(0);
    expect(box.pendingBytes).toBe(0);
  });

  it('sends everything unconfirmed again, in order, after a reconnect', () => {
    const box = new Outbox();
    [1, 2, 3].forEach((n) => box.push(log('a', n)));
    send(box, 0);
    box.push(log('a', 4));
    box.requeueUnconfirmed();
    expect(send(box, 1)).toEqual(['a:1', 'a:2', 'a:3', 'a:4']);
  });

  it('never confirms a frame that was not sent yet', () => {
    const box = new Outbox();
    box.push(log('a', 1));
    expect(box.confirm(100)).toBe(0);
    expect(send(box, 5)).toEqual(['a:1']);
    expect(box.confirm(4)).toBe(0);
    expect(box.confirm(5)).toBe(1);
  });

  it('calls onConfirmed once, when the frame is confirmed', () => {
    const box = new Outbox();
    let calls = 0;
    box.push(result('a'), () => (calls += 1));
    send(box, 0);
    expect(calls).toBe(0);
    box.confirm(0);
    box.confirm(0);
    expect(calls).toBe(1);
  });

  it('queues a second result of a task once: the pending one goes out and both callbacks wait for it', () => {
    const box = new Outbox();
    const calls: string[] = [];
    box.push(result('a'), () => calls.push('first'));
    box.push(result('a'), () => calls.push('second'));
    expect(send(box)).toEqual(['a:result']);
    box.confirm(0);
    expect(calls).toEqual(['first', 'second']);
    // once confirmed, a redelivered task's result goes out again (the platform asked)
    box.push(result('a'));
    expect(send(box, 1)).toEqual(['a:result']);
  });
});

describe('Outbox with ack', () => {
  it('confirms a task frames up to the acked seq, and its result separately', () => {
    const box = new Outbox();
    [1, 2, 3].forEach((n) => box.push(log('a', n)));
    box.push(result('a'));
    send(box);
    expect(box.ack('a', { seq: 2 })).toEqual({ confirmed: 2 });
    expect(box.size).toBe(2);
    expect(box.ack('a', { result: true })).toEqual({ confirmed: 1 });
    expect(box.size).toBe(1);
    box.requeueUnconfirmed();
    expect(send(box)).toEqual(['a:3']);
  });

  it('ack lost: what was not acked is sent again after a reconnect; what was acked never again', () => {
    const box = new Outbox();
    [1, 2, 3, 4].forEach((n) => box.push(log('a', n)));
    send(box);
    box.ack('a', { seq: 2 });
    box.requeueUnconfirmed(); // the ack for 3 and 4 never came
    expect(send(box, 1)).toEqual(['a:3', 'a:4']);
  });

  it('out of order and duplicate acks change nothing and drop nothing', () => {
    const box = new Outbox();
    [1, 2, 3].forEach((n) => box.push(log('a', n)));
    send(box);
    expect(box.ack('a', { seq: 2 }).confirmed).toBe(2);
    expect(box.ack('a', { seq: 1 })).toMatchObject({ confirmed: 0 });
    expect(box.ack('a', { seq: 2 })).toMatchObject({ confirmed: 0 });
    expect(box.size).toBe(1);
  });

  it('hostile acks: unknown task, seq beyond what was sent, a result not sent: no unsent frame is dropped', () => {
    const box = new Outbox();
    box.push(log('a', 1));
    send(box);
    box.push(log('a', 2));
    box.push(result('a'));
    expect(box.ack('nope', { seq: 9 })).toEqual({ confirmed: 0, ignored: 'unknown task' });
    expect(box.ack('a', { seq: 1_000_000 })).toEqual({ confirmed: 1 });
    expect(box.ack('a', { result: true })).toEqual({ confirmed: 0, ignored: 'result not sent' });
    expect(box.size).toBe(2);
    expect(send(box)).toEqual(['a:2', 'a:result']);
  });

  it('confirms out of order across tasks and still sends the rest in order', () => {
    const box = new Outbox();
    box.push(log('a', 1));
    box.push(log('b', 1));
    box.push(log('a', 2));
    send(box);
    box.ack('b', { seq: 1 });
    box.requeueUnconfirmed();
    expect(send(box)).toEqual(['a:1', 'a:2']);
  });
});

describe('Outbox write-ahead file', () => {
  it('every frame is on disk before push returns, and a restart resends the unconfirmed ones in order', async () => {
    const file = fileIn();
    const first = new Outbox({ file });
    [1, 2, 3].forEach((n) => first.push(log('a', n)));
    first.push(result('a'));
    expect(readFileSync(file, 'utf8')).toContain('"seq":3');
    send(first);
    first.ack('a', { seq: 1 });
    await turn(); // the turn's log confirmations are recorded at its end
    // kill -9: nothing is closed
    const second = new Outbox({ file });
    expect(second.size).toBe(3);
    expect(send(second)).toEqual(['a:2', 'a:3', 'a:result']);
    expect(second.pendingResult('a')).toMatchObject({ status: 'success' });
  });

  it('cuts a torn last record at start, and the next frame is not glued to it', async () => {
    const file = fileIn();
    const first = new Outbox({ file });
    first.push(log('a', 1));
    first.close();
    appendFileSync(file, '{"type":"task_log","task_id":"a","seq":2,"mess'); // a crash mid-write
    const notices: string[] = [];
    const second = new Outbox({ file, onNotice: (m) => notices.push(m) });
    expect(notices.join('\n')).toMatch(/torn/);
    second.push(log('a', 2));
    second.close();
    const third = new Outbox({ file });
    expect(send(third)).toEqual(['a:1', 'a:2']);
  });

  it('a pong-confirmed frame is recorded and not resent after a restart; an empty outbox empties its file', async () => {
    const file = fileIn();
    const first = new Outbox({ file });
    first.push(log('a', 1));
    first.push(log('a', 2));
    send(first, 0);
    first.push(log('a', 3));
    first.confirm(0);
    await turn();
    expect(send(new Outbox({ file }))).toEqual(['a:3']);
    send(first, 1);
    first.confirm(1);
    expect(statSync(file).size).toBe(0);
    expect(new Outbox({ file }).size).toBe(0);
  });

  it('remembers a result confirmed just before a crash, so the journal does not send it again', () => {
    const file = fileIn();
    const first = new Outbox({ file });
    first.push(result('a'));
    send(first);
    first.ack('a', { result: true });
    const second = new Outbox({ file });
    expect(second.size).toBe(0);
    expect(second.resultConfirmed('a')).toBe(true);
    expect(second.pendingResult('a')).toBeUndefined();
  });

  it('keeps a confirmed result on file through later start-overs until its onConfirmed settles (the journal write)', async () => {
    const file = fileIn();
    const first = new Outbox({ file });
    let journaled!: () => void;
    first.push(result('a'), () => new Promise<void>((resolve) => (journaled = resolve)));
    send(first);
    first.ack('a', { result: true });
    // more work comes and is confirmed: each time nothing is pending, the file starts over
    for (let n = 1; n <= 3; n++) {
      first.push(log('b', n));
      send(first);
      first.ack('b', { seq: n });
      await turn();
    }
    first.push(result('b'));
    send(first);
    first.ack('b', { result: true });
    // kill -9 while a's journal write is still under way: the next start knows a was confirmed, and has it
    const restarted = new Outbox({ file });
    expect(restarted.resultConfirmed('a')).toBe(true);
    expect(restarted.confirmedResult('a')).toMatchObject({ task_id: 'a', status: 'success' });
    expect(restarted.pendingResult('a')).toBeUndefined();
    expect(send(restarted)).toEqual([]);
    journaled();
    await turn();
    first.push(log('c', 1));
    send(first);
    first.ack('c', { seq: 1 });
    await turn();
    expect(new Outbox({ file }).resultConfirmed('a')).toBe(false); // the journal says it now
  });

  it('memory caches only the tail: frames past the limit are read back from the file', () => {
    const file = fileIn();
    const box = new Outbox({ file, memoryLimit: 300 });
    for (let n = 1; n <= 20; n++) box.push(log('a', n, 'x'.repeat(100)));
    expect(send(box)).toEqual(Array.from({ length: 20 }, (_, i) => `a:${i + 1}`));
  });

  it('at the cap, the oldest unsent output of the chattiest task is summarised; results are kept', () => {
    const file = fileIn();
    const notices: string[] = [];
    const box = new Outbox({ file, diskCap: 64 * 1024, onNotice: (m) => notices.push(m) });
    box.push(log('quiet', 1, 'hello'));
    box.push(result('quiet'));
    for (let n = 1; n <= 200; n++) box.push(log('loud', n, `${'y'.repeat(999)}\n${'z'.repeat(999)}`));
    box.push(result('loud'));
    expect(statSync(file).size).toBeLessThanOrEqual(64 * 1024);
    const sent = [...box.takeUnsent(0)].map((b) => JSON.parse(b.toString()) as TaskLogFrame | TaskResultFrame);
    const ids = sent.map((f) => `${f.task_id}:${f.type === 'task_log' ? f.seq : 'result'}`);
    expect(ids.slice(0, 2)).toEqual(['quiet:1', 'quiet:result']);
    expect(ids).toContain('loud:result');
    expect(ids.at(-2)).toBe('loud:200'); // the newest output is kept
    const summary = sent.find((f) => f.type === 'task_log' && f.stream === 'agent') as TaskLogFrame;
    expect(summary.message).toMatch(/lines .* were left out here/);
    const seqs = sent.filter((f) => f.task_id === 'loud' && f.type === 'task_log').map((f) => (f as TaskLogFrame).seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(notices.join('\n')).toMatch(/loud/);
    // the same after a restart
    const again = send(new Outbox({ file }));
    expect(again).toEqual(ids);
  });

  it('skips a record that is not JSON in the middle of the file rather than losing the rest', async () => {
    const file = fileIn();
    const first = new Outbox({ file });
    first.push(log('a', 1));
    first.close();
    appendFileSync(file, 'garbage\n');
    writeFileSync(file, readFileSync(file, 'utf8') + JSON.stringify(log('a', 2)) + '\n');
    expect(send(new Outbox({ file }))).toEqual(['a:1', 'a:2']);
  });
});

describe('Outbox write-ahead file, grouped writes', () => {
  it('a big frame is sent only once the file has it; what is pushed in the same turn goes in one write', async () => {
    const file = fileIn();
    const w = watched({ file });
    [1, 2, 3].forEach((n) => w.box.push(big('a', n)));
    expect(send(w.box)).toEqual([]); // not on disk yet: not sendable
    expect(statSync(file).size).toBe(0);
    expect(w.box.unwrittenBytes).toBeGreaterThan(60_000);
    await w.written();
    expect(w.writes).toBe(1);
    expect(w.box.unwrittenBytes).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    expect(send(w.box)).toEqual(['a:1', 'a:2', 'a:3']);
  });

  it("keeps the order when small frames come while a big one waits for the turn's write", async () => {
    const file = fileIn();
    const w = watched({ file });
    w.box.push(big('a', 1));
    w.box.push(log('a', 2));
    w.box.push(result('a'));
    expect(send(w.box)).toEqual([]);
    while (w.box.unwrittenBytes > 0) await w.written();
    expect(send(w.box)).toEqual(['a:1', 'a:2', 'a:result']);
    expect(send(new Outbox({ file }))).toEqual(['a:1', 'a:2', 'a:result']); // kill -9 now
  });

  it('acks between writes: once all is acked the file starts over, and a restart sends nothing', async () => {
    const file = fileIn();
    const w = watched({ file });
    for (let n = 1; n <= 6; n++) {
      w.box.push(big('a', n));
      await w.written();
      send(w.box, n);
      w.box.push(big('a', n + 100)); // being written while the ack comes
      w.box.ack('a', { seq: n + 100 }); // nothing sent beyond n: only up to n is confirmed
      expect(w.box.size).toBe(1);
      await w.written();
      send(w.box, n);
      w.box.ack('a', { seq: 1000 });
    }
    w.box.push(result('a'));
    send(w.box);
    w.box.ack('a', { result: true });
    expect(w.box.size).toBe(0);
    while (w.box.unwrittenBytes > 0) await w.written();
    const again = new Outbox({ file });
    expect(again.size).toBe(0);
    expect(again.resultConfirmed('a')).toBe(true);
    expect(statSync(file).size).toBeLessThan(100); // only the record of the confirmed result
  });

  it('the acks of one turn are one confirmation record; a kill -9 before the turn ends only resends them', async () => {
    const file = fileIn();
    const first = new Outbox({ file });
    for (let n = 1; n <= 50; n++) first.push(log(n % 2 ? 'a' : 'b', n));
    send(first);
    for (let n = 1; n <= 40; n++) first.ack(n % 2 ? 'a' : 'b', { seq: n });
    const records = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"_confirmed"'));
    expect(records()).toHaveLength(0);
    // kill -9 within the turn: the acked frames come again (at least once), nothing is lost
    expect(send(new Outbox({ file }))).toHaveLength(50);
    await turn();
    expect(records()).toHaveLength(1);
    expect(JSON.parse(records()[0]!).logs).toEqual({ a: 39, b: 40 });
    const restarted = send(new Outbox({ file }));
    expect(restarted).toEqual(Array.from({ length: 10 }, (_, i) => `${(41 + i) % 2 ? 'a' : 'b'}:${41 + i}`));
  });

  it('close writes what is queued: a restart has every frame', async () => {
    const file = fileIn();
    const w = watched({ file });
    w.box.push(big('a', 1));
    await w.written();
    w.box.push(big('a', 2));
    w.box.push(result('a'));
    w.box.close();
    expect(send(new Outbox({ file }))).toEqual(['a:1', 'a:2', 'a:result']);
  });

  it('a write that fails (disk full) keeps its frames in memory, sendable, and says so once per failure', async () => {
    const errors: Error[] = [];
    const w = watched({ file: '/dev/full', onWriteError: (err) => errors.push(err) });
    w.box.push(big('a', 1));
    w.box.push(big('a', 2));
    await w.written();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC']);
    expect(send(w.box)).toEqual(['a:1', 'a:2']);
    w.box.requeueUnconfirmed();
    expect(send(w.box)).toEqual(['a:1', 'a:2']); // from memory: no file holds them
    w.box.close();
  });
});

describe('Outbox write-ahead file, idle', () => {
  it('an outbox with nothing written keeps no timer (an idle agent wakes for nothing); a write arms one fdatasync', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const box = new Outbox({ file: fileIn() });
      expect(vi.getTimerCount()).toBe(0);
      box.push(log('a', 1));
      box.push(log('a', 2));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(1_000);
      expect(vi.getTimerCount()).toBe(0);
      box.push(log('a', 3));
      box.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
