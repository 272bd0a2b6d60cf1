/**
 * Event forwarding to the windows is bounded like the dashboard's sockets: a page that stops reading
 * is sent at most MAX_EVENT_BACKLOG_BYTES, then nothing until its acks catch up, then a reset.
 * (Electron's ipcMain is replaced by an EventEmitter: this is forwarding logic only.)
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { AgentApi, AgentEvent } from '../core/api.js';
import { MAX_BUFFERED_BYTES } from '../core/dashboard/server.js';

const ipcMain = new EventEmitter();
vi.mock('electron', () => ({ ipcMain }));
const { forwardAgentEvents, MAX_EVENT_BACKLOG_BYTES } = await import('./ipc-handlers.js');
const { AGENT_EVENT_ACK_CHANNEL } = await import('./ipc-contract.js');

function fakeWindow() {
  const sent: AgentEvent[] = [];
  const webContents = Object.assign(new EventEmitter(), {
    isLoading: () => false,
    send: (_channel: string, event: AgentEvent) => sent.push(structuredClone(event)),
  });
  const win = { isDestroyed: () => false, isVisible: () => true, webContents };
  return { win, sent, ack: (n: number) => ipcMain.emit(AGENT_EVENT_ACK_CHANNEL, { sender: webContents }, n) };
}

function fakeApi() {
  const listeners = new Set<(e: AgentEvent) => void>();
  const api = { subscribe: (l: (e: AgentEvent) => void) => (listeners.add(l), () => listeners.delete(l)) };
  return { api: api as unknown as AgentApi, emit: (e: AgentEvent) => listeners.forEach((l) => l(e)) };
}

const chunk = (i: number): AgentEvent => ({
  type: 'task-output',
  taskId: 't',
  chunk: { stream: 'stdout', text: `${i} ${'x'.repeat(64 * 1024)}` } as never,
});

describe('forwardAgentEvents backpressure', () => {
  it('has the same cap as the dashboard', () => {
    expect(MAX_EVENT_BACKLOG_BYTES).toBe(MAX_BUFFERED_BYTES);
  });

  it('a page that never acks gets at most the cap, then nothing', () => {
    const { api, emit } = fakeApi();
    const w = fakeWindow();
    const stop = forwardAgentEvents(api, () => [w.win as never]);
    for (let i = 0; i < 200; i++) emit(chunk(i)); // ~13 MB
    const bytes = w.sent.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(bytes).toBeLessThanOrEqual(MAX_EVENT_BACKLOG_BYTES);
    expect(bytes).toBeGreaterThan(MAX_EVENT_BACKLOG_BYTES - 70 * 1024);
    expect(w.sent.length).toBeLessThan(64);
    stop();
  });

  it('once it catches up it gets a reset, then events again', () => {
    const { api, emit } = fakeApi();
    const w = fakeWindow();
    const stop = forwardAgentEvents(api, () => [w.win as never]);
    for (let i = 0; i < 200; i++) emit(chunk(i));
    const before = w.sent.length;
    w.ack(before);
    expect(w.sent.at(-1)).toEqual({ type: 'reset' });
    emit({ type: 'counters', counters: {} as never });
    expect(w.sent.at(-1)?.type).toBe('counters');
    stop();
  });

  it('a page that acks as it goes gets everything', () => {
    const { api, emit } = fakeApi();
    const w = fakeWindow();
    const stop = forwardAgentEvents(api, () => [w.win as never]);
    for (let i = 0; i < 200; i++) {
      emit(chunk(i));
      w.ack(1);
    }
    expect(w.sent).toHaveLength(200);
    expect(w.sent.some((e) => e.type === 'reset')).toBe(false);
    stop();
  });

  it('ignores acks that are not counts, or from a window it never sent to', () => {
    const { api, emit } = fakeApi();
    const w = fakeWindow();
    const stop = forwardAgentEvents(api, () => [w.win as never]);
    for (let i = 0; i < 200; i++) emit(chunk(i));
    for (const bogus of [-5, 0, 1.5, 'all', Number.MAX_VALUE, null]) w.ack(bogus as never);
    ipcMain.emit(AGENT_EVENT_ACK_CHANNEL, { sender: new EventEmitter() }, 1000);
    expect(w.sent.some((e) => e.type === 'reset')).toBe(false);
    stop();
  });
});
