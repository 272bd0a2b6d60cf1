/**
 * The connection's delivery rules against an in-process WebSocket server on loopback (no agent
 * process): what confirms a frame with and without `ack`, hostile acks, resending after a reconnect
 * and a restart, and the one backpressure signal.
 */
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logging/logger.js';
import type { TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import { Backoff } from './backoff.js';
import { OUTBOX_HIGH_WATER, OUTBOX_LOW_WATER, PlatformConnection } from './platform-connection.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const log = (task: string, seq: number, message = `line ${seq}`): TaskLogFrame => ({
  type: 'task_log',
  task_id: task,
  level: 'info',
  message,
  timestamp: 't',
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
  duration: 0,
  timestamp: 't',
});

/** a frame as the platform read it */
type Received = { type: string; task_id?: string; seq?: number; [field: string]: unknown };

interface Platform {
  url: string;
  received: Received[];
  sockets: WebSocket[];
  /** answer pings (ws does by default); false = a platform that reads but never pongs */
  pongs: boolean;
  send(frame: object): void;
  waitFor(check: () => boolean, what: string): Promise<void>;
}

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function platform(features?: string[]): Promise<Platform> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const waiters = new Set<() => void>();
  const p: Platform = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/agent`,
    received: [],
    sockets: [],
    pongs: true,
    send: (frame) => p.sockets.at(-1)!.send(JSON.stringify(frame)),
    waitFor: (check, what) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`timed out waiting for ${what}`));
        }, 3_000);
        // on every frame, and every few ms for what a frame does not announce (a pong's effect)
        const poll = setInterval(() => attempt(), 5);
        const attempt = () => {
          if (!check()) return;
          clearTimeout(timer);
          clearInterval(poll);
          waiters.delete(attempt);
          resolve();
        };
        waiters.add(attempt);
        attempt();
      }),
  };
  wss.on('connection', (ws) => {
    p.sockets.push(ws);
    ws.on('ping', (data) => {
      if (p.pongs) ws.pong(data);
    });
    ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString('utf8')) as Received;
      if (frame.type === 'auth')
        ws.send(JSON.stringify({ type: 'auth_success', environment_id: 'e', ...(features ? { features } : {}) }));
      else p.received.push(frame);
      waiters.forEach((w) => w());
    });
  });
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  cleanups.push(() => p.sockets.forEach((s) => s.terminate()));
  return p;
}

function connect(
  p: Platform,
  outboxFile?: string,
  timing: { pingIntervalMs?: number; pongTimeoutMs?: number } = {},
): PlatformConnection {
  const c = new PlatformConnection({
    url: p.url,
    token: () => 'tok',
    agentInfo: {
      version: '1',
      platform: 'linux',
      node_version: '20',
      hostname: 'h',
      agent_id: 'a',
      mode: 'headless',
      features: ['ack'],
    },
    outboxFile,
    ...timing,
    maxRetries: 0,
    backoff: new Backoff({ initialMs: 10, maxMs: 20, afterDropMs: 10 }),
    log: quiet,
  });
  cleanups.push(() => c.close(0));
  return c;
}

const online = (c: PlatformConnection) => new Promise<void>((r) => c.once('authenticated', () => r()));
const ids = (frames: Received[]) => frames.map((f) => `${f.task_id}:${f.type === 'task_log' ? f.seq : 'result'}`);

describe('PlatformConnection delivery', () => {
  it('without ack, a pong confirms what was sent before the ping', async () => {
    const p = await platform();
    const c = connect(p);
    c.start();
    await online(c);
    expect(c.acknowledging).toBe(false);
    c.sendReliable(log('a', 1));
    c.sendReliable(result('a'));
    await p.waitFor(() => p.received.length === 2 && c.outbox.size === 0, 'the pong to confirm both');
  });

  it('with ack, a pong is not enough: only the ack takes a frame out, and an unacked one is resent after a drop', async () => {
    const p = await platform(['ack']);
    const c = connect(p);
    c.start();
    await online(c);
    expect(c.acknowledging).toBe(true);
    c.sendReliable(log('a', 1));
    c.sendReliable(log('a', 2));
    c.sendReliable(result('a'));
    await p.waitFor(() => p.received.length === 3, 'the frames');
    p.sockets.at(-1)!.ping(); // liveness pings still run; their pongs confirm nothing
    await new Promise((r) => setTimeout(r, 50));
    expect(c.outbox.size).toBe(3);
    c.acknowledge({ type: 'ack', task_id: 'a', seq: 1 });
    c.acknowledge({ type: 'ack', task_id: 'a', result: true });
    expect(c.outbox.size).toBe(1);
    const again = online(c);
    p.sockets.at(-1)!.terminate(); // the ack for seq 2 was lost
    await again;
    await p.waitFor(() => p.received.length === 4, 'the resend');
    expect(ids(p.received.slice(3))).toEqual(['a:2']);
  });

  it('hostile acks (unknown task, beyond what was sent, out of order, duplicate) never crash or drop unsent frames', async () => {
    const p = await platform(['ack']);
    p.pongs = false;
    const c = connect(p);
    c.start();
    await online(c);
    c.sendReliable(log('a', 1));
    await p.waitFor(() => p.received.length === 1, 'the first frame');
    c.acknowledge({ type: 'ack', task_id: 'nobody', seq: 1 });
    c.acknowledge({ type: 'ack', task_id: 'a', seq: 99 }); // confirms seq 1, the only one sent
    c.acknowledge({ type: 'ack', task_id: 'a', seq: 99 });
    c.acknowledge({ type: 'ack', task_id: 'a', seq: 0 });
    c.acknowledge({ type: 'ack', task_id: 'a', result: true });
    expect(c.outbox.size).toBe(0);
    c.sendReliable(log('a', 2));
    c.sendReliable(result('a'));
    expect(c.outbox.size).toBe(2);
    await p.waitFor(() => p.received.length === 3, 'the later frames');
  });

  it('an ack from a platform that did not announce ack is ignored', async () => {
    const p = await platform();
    p.pongs = false;
    const c = connect(p);
    c.start();
    await online(c);
    c.sendReliable(log('a', 1));
    await p.waitFor(() => p.received.length === 1, 'the frame');
    c.acknowledge({ type: 'ack', task_id: 'a', seq: 1 });
    expect(c.outbox.size).toBe(1);
  });

  it('a restart with pending frames sends them first, in order, with their original seq', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ats-conn-')), 'outbox.log');
    const p = await platform(['ack']);
    p.pongs = false;
    const first = connect(p, file);
    // offline: never started, like an agent whose platform is down
    [1, 2, 3].forEach((n) => first.sendReliable(log('a', n)));
    first.sendReliable(result('a'));
    const second = connect(p, file); // kill -9: the first never closed its file
    second.start();
    await online(second);
    second.sendReliable(log('b', 1));
    await p.waitFor(() => p.received.length === 5, 'every frame');
    expect(ids(p.received)).toEqual(['a:1', 'a:2', 'a:3', 'a:result', 'b:1']);
  });

  it('backpressure: one "behind" when unconfirmed bytes pass the high mark online, one "caught up" below the low mark', async () => {
    const p = await platform(['ack']);
    p.pongs = false;
    const c = connect(p);
    const signals: boolean[] = [];
    c.on('behind', (b) => signals.push(b));
    // offline, output goes to the file: nobody is told to stop
    c.sendReliable(log('a', 1, 'x'.repeat(OUTBOX_HIGH_WATER + 1)));
    expect(signals).toEqual([]);
    c.start();
    await online(c);
    c.sendReliable(log('a', 2, 'small'));
    expect(signals).toEqual([true]);
    await p.waitFor(() => p.received.length === 2, 'both frames');
    c.acknowledge({ type: 'ack', task_id: 'a', seq: 1 });
    expect(c.outbox.pendingBytes).toBeLessThan(OUTBOX_LOW_WATER);
    expect(signals).toEqual([true, false]);
  });

  it('backpressure also while output waits for the outbox file, online or not: a disk slower than the tasks fills no memory', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ats-conn-')), 'outbox.log');
    const p = await platform(['ack']);
    const c = connect(p, file);
    const signals: boolean[] = [];
    c.on('behind', (b) => signals.push(b));
    // offline, never started: the frame waits for its write (off the main thread), then for the platform
    c.sendReliable(log('a', 1, 'x'.repeat(OUTBOX_HIGH_WATER + 1)));
    expect(c.outbox.unwrittenBytes).toBeGreaterThan(OUTBOX_HIGH_WATER);
    expect(signals).toEqual([true]);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (c.outbox.unwrittenBytes > 0) return;
        clearInterval(poll);
        resolve();
      }, 2);
    });
    expect(signals).toEqual([true, false]);
    expect(statSync(file).size).toBeGreaterThan(OUTBOX_HIGH_WATER);
  });

  it("an upgrade takes over the previous version's outbox.spill: its frames are sent, the file goes", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ats-conn-'));
    const spill = path.join(dir, 'outbox.spill');
    writeFileSync(spill, `${JSON.stringify(log('old', 1))}\n${JSON.stringify(result('old'))}\n{"type":"task_lo`);
    const p = await platform();
    const c = connect(p, path.join(dir, 'outbox.log'));
    expect(existsSync(spill)).toBe(false);
    c.start();
    await p.waitFor(() => p.received.length === 2, 'the old frames');
    expect(ids(p.received)).toEqual(['old:1', 'old:result']);
  });

  it('no pong in time ends the link, unless frames keep arriving (a pong late behind them is not a dead link)', async () => {
    const p = await platform();
    p.pongs = false;
    const c = connect(p, undefined, { pingIntervalMs: 20, pongTimeoutMs: 150 });
    let drops = 0;
    c.on('phase', (phase) => {
      if (phase === 'reconnecting') drops += 1;
    });
    c.start();
    await online(c);
    for (const end = Date.now() + 400; Date.now() < end; await new Promise((r) => setTimeout(r, 30)))
      p.send({ type: 'config_update' });
    expect(drops).toBe(0);
    await p.waitFor(() => drops === 1, 'the dead link found once frames stop');
  });
});
