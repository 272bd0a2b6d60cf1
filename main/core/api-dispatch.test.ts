import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentApi } from './api.js';
import { MAX_PATH, MAX_TASK_ID, MAX_TOKEN, MAX_URL, dispatchCall, parseCall } from './api-dispatch.js';

const huge = (n: number) => 'x'.repeat(n);
const ok = (method: unknown, args: unknown) => expect(parseCall(method, args)).toMatchObject({ ok: true });
const bad = (method: unknown, args: unknown, match?: RegExp) => {
  const r = parseCall(method, args);
  expect(r.ok).toBe(false);
  if (!r.ok && match) expect(r.error).toMatch(match);
};

describe('parseCall', () => {
  it('rejects unknown methods, prototype names and non-strings', () => {
    for (const m of [
      'subscribe',
      'shutdown',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '',
      huge(10_000),
    ])
      bad(m, [], /unknown method/);
    for (const m of [undefined, null, 1, {}, ['getSnapshot']]) bad(m, [], /unknown method/);
  });

  it('requires an argument array of the exact length', () => {
    bad('getSnapshot', undefined, /must be an array/);
    bad('getSnapshot', { 0: 'x', length: 1 }, /must be an array/);
    bad('getSnapshot', ['extra']);
    bad('getSettings', [undefined, undefined]);
    bad('cancelTask', []);
    bad('cancelTask', ['a', 'b']);
  });

  it('getSnapshot / getSettings take nothing', () => {
    ok('getSnapshot', []);
    ok('getSettings', []);
  });

  it('task ids: strings, bounded, no control characters', () => {
    for (const m of ['getTaskOutput', 'cancelTask']) {
      ok(m, ['task-1']);
      ok(m, [huge(MAX_TASK_ID)]);
      bad(m, [huge(MAX_TASK_ID + 1)]);
      bad(m, ['']);
      bad(m, ['a\nb']);
      bad(m, ['a\u0000b']);
      for (const wrong of [1, null, undefined, {}, ['a'], true, { toString: () => 'x' }]) bad(m, [wrong]);
    }
  });

  it('openPath takes only the known targets', () => {
    ok('openPath', ['work-dir']);
    ok('openPath', ['logs']);
    for (const wrong of ['/etc', '../logs', 'LOGS', '', 1, null, { target: 'logs' }]) bad('openPath', [wrong]);
  });

  describe('updateSettings', () => {
    const abs = path.resolve('/tmp/ats-work');
    it('accepts every key with a valid value, and an empty patch', () => {
      ok('updateSettings', [{}]);
      ok('updateSettings', [
        {
          serverUrl: 'wss://ats.example.com/ws/agent',
          token: 'tok-123',
          workDir: abs,
          logLevel: 'DEBUG',
          maxConcurrent: 4,
          keepTasks: 0,
          keepDays: 1.5,
          notifyOnFailure: false,
          startAtLogin: true,
        },
      ]);
    });

    it('rejects wrong types for every key', () => {
      const wrong: Record<string, unknown[]> = {
        serverUrl: [1, null, 'http://x', 'not a url', 'ws://', huge(MAX_URL)],
        token: [1, '', 'has space', 'tab\there', 'nul\u0000', 'ünïcode', huge(MAX_TOKEN + 1)],
        workDir: [1, '', 'relative/dir', 'a\u0000b', `/${huge(MAX_PATH)}`],
        logLevel: ['debug', 'TRACE', 1],
        maxConcurrent: [0, 65, 1.5, '2', NaN, Infinity],
        keepTasks: [-1, 1.5, '1'],
        keepDays: [-1, '1', Infinity],
        notifyOnFailure: ['true', 1, null],
        startAtLogin: ['yes', 0],
      };
      for (const [key, values] of Object.entries(wrong))
        for (const value of values) bad('updateSettings', [{ [key]: value }]);
    });

    it('rejects unknown keys, prototype-pollution keys and non-objects', () => {
      bad('updateSettings', [{ editable: false }], /Unrecognized key/);
      bad('updateSettings', [{ tokenStorage: 'keyring' }]);
      bad('updateSettings', [JSON.parse('{"__proto__": {"polluted": true}}')]);
      bad('updateSettings', [JSON.parse('{"constructor": {"prototype": {"polluted": true}}}')]);
      bad('updateSettings', [{ prototype: {} }]);
      for (const wrong of [null, undefined, 'x', 1, [], [{}]]) bad('updateSettings', [wrong]);
      bad('updateSettings', [{}, {}]);
    });

    it('returns a fresh object, never the caller’s', () => {
      const patch = { logLevel: 'INFO' };
      const r = parseCall('updateSettings', [patch]);
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(r.call.args[0]).toEqual(patch);
        expect(r.call.args[0]).not.toBe(patch);
      }
    });

    it('never echoes a rejected value (a token) in the error', () => {
      const r = parseCall('updateSettings', [{ token: 'secret token with spaces' }]);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).not.toContain('secret');
    });
  });
});

describe('dispatchCall', () => {
  const calls: string[] = [];
  const api: AgentApi = {
    getSnapshot: async () => {
      throw new Error('the agent is stopping');
    },
    subscribe: () => () => undefined,
    getTaskOutput: async () => [],
    cancelTask: async (taskId) => (calls.push(taskId), { ok: true }),
    getSettings: async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a non-Error throw becomes is the point
      throw 'not an Error';
    },
    updateSettings: async () => ({ ok: true }),
    openPath: async () => ({ ok: false, message: 'no folders here' }),
    pause: async () => (calls.push('pause'), { ok: true }),
    resume: async () => ({ ok: false, message: 'draining' }),
    quit: async () => (calls.push('quit'), { ok: true }),
    getTaskHistory: async () => ({ tasks: [], total: 0 }),
    readTaskLog: async () => {
      throw new Error('task t-1 has no log file');
    },
    searchTaskLog: async () => {
      throw new Error('task t-1 has no log file');
    },
    revealTaskLog: async () => ({ ok: false, message: 'not here' }),
  };

  it('runs a valid call and answers its result', async () => {
    expect(await dispatchCall(api, 'cancelTask', ['t-1'])).toEqual({ ok: true, result: { ok: true } });
    expect(await dispatchCall(api, 'openPath', ['logs'])).toEqual({
      ok: true,
      result: { ok: false, message: 'no folders here' },
    });
    expect(calls.splice(0)).toEqual(['t-1']);
  });

  it('pause, resume and quit take no argument and answer the api’s result', async () => {
    expect(await dispatchCall(api, 'pause', [])).toEqual({ ok: true, result: { ok: true } });
    expect(await dispatchCall(api, 'resume', [])).toEqual({ ok: true, result: { ok: false, message: 'draining' } });
    expect(await dispatchCall(api, 'pause', [true])).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^pause: invalid arguments/),
    });
    expect(await dispatchCall(api, 'quit', [{}])).toMatchObject({ ok: false });
    expect(calls.splice(0)).toEqual(['pause']);
  });

  it('never reaches the api with a refused call', async () => {
    expect(await dispatchCall(api, 'cancelTask', [42])).toMatchObject({ ok: false });
    expect(await dispatchCall(api, 'subscribe', [])).toEqual({ ok: false, error: 'unknown method "subscribe"' });
    expect(calls).toEqual([]);
  });

  it('turns a throwing method into an error answer', async () => {
    expect(await dispatchCall(api, 'getSnapshot', [])).toEqual({ ok: false, error: 'the agent is stopping' });
    expect(await dispatchCall(api, 'getSettings', [])).toEqual({ ok: false, error: 'not an Error' });
  });
});
