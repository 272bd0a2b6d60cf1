import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AGENT_CHANNELS, AGENT_EVENT_CHANNEL, AGENT_METHODS, methodOfChannel } from './ipc-contract.js';
import { MAX_PATH, MAX_TASK_ID, MAX_TOKEN, MAX_URL, isTrustedSenderUrl, validateCall } from './ipc-validation.js';

const huge = (n: number) => 'x'.repeat(n);
const ok = (method: unknown, args: unknown) => expect(validateCall(method, args)).toMatchObject({ ok: true });
const bad = (method: unknown, args: unknown, match?: RegExp) => {
  const r = validateCall(method, args);
  expect(r.ok).toBe(false);
  if (!r.ok && match) expect(r.error).toMatch(match);
};

describe('the channel contract', () => {
  it('has one agent:* channel per AgentApi call, plus the event channel', () => {
    expect(AGENT_METHODS.sort()).toEqual([
      'cancelTask',
      'getSettings',
      'getSnapshot',
      'getTaskOutput',
      'openPath',
      'updateSettings',
    ]);
    for (const m of AGENT_METHODS) {
      expect(AGENT_CHANNELS[m]).toBe(`agent:${m}`);
      expect(methodOfChannel(AGENT_CHANNELS[m])).toBe(m);
    }
    expect(AGENT_EVENT_CHANNEL).toBe('agent:event');
    expect(methodOfChannel('agent:subscribe')).toBeUndefined();
  });
});

describe('validateCall', () => {
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
      const r = validateCall('updateSettings', [patch]);
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(r.call.args[0]).toEqual(patch);
        expect(r.call.args[0]).not.toBe(patch);
      }
    });

    it('never echoes a rejected value (a token) in the error', () => {
      const r = validateCall('updateSettings', [{ token: 'secret token with spaces' }]);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).not.toContain('secret');
    });
  });
});

describe('isTrustedSenderUrl', () => {
  const indexHtml = path.resolve('/opt/ats/resources/app.asar/dist/index.html');
  const file = pathToFileURL(indexHtml).href;
  const prod = { indexHtml, devServerUrl: null };
  const dev = { indexHtml, devServerUrl: 'http://localhost:5173/' };

  it('trusts our index.html, with any query or hash', () => {
    expect(isTrustedSenderUrl(file, prod)).toBe(true);
    expect(isTrustedSenderUrl(`${file}#/settings`, prod)).toBe(true);
    expect(isTrustedSenderUrl(`${file}?x=1`, prod)).toBe(true);
  });

  it('refuses any other file, traversal tricks, hosts and schemes', () => {
    expect(isTrustedSenderUrl(pathToFileURL(path.resolve('/tmp/evil.html')).href, prod)).toBe(false);
    expect(
      isTrustedSenderUrl(pathToFileURL(path.resolve('/opt/ats/resources/app.asar/dist/other.html')).href, prod),
    ).toBe(false);
    expect(isTrustedSenderUrl(file.replace('file://', 'file://evil.example.com'), prod)).toBe(false);
    expect(isTrustedSenderUrl('https://evil.example.com/', prod)).toBe(false);
    expect(isTrustedSenderUrl('http://localhost:5173/', prod)).toBe(false);
    expect(isTrustedSenderUrl('about:blank', prod)).toBe(false);
    expect(isTrustedSenderUrl('data:text/html,<script>1</script>', prod)).toBe(false);
    expect(isTrustedSenderUrl('devtools://devtools/bundled/index.html', prod)).toBe(false);
    for (const junk of ['', 'not a url', null, undefined, 42, {}, huge(10_000)])
      expect(isTrustedSenderUrl(junk, prod)).toBe(false);
  });

  it('trusts the dev server origin only in development, and only that origin', () => {
    expect(isTrustedSenderUrl('http://localhost:5173/', dev)).toBe(true);
    expect(isTrustedSenderUrl('http://localhost:5173/src/main.tsx?x', dev)).toBe(true);
    expect(isTrustedSenderUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isTrustedSenderUrl('https://localhost:5173/', dev)).toBe(false);
    expect(isTrustedSenderUrl('http://localhost.evil.com:5173/', dev)).toBe(false);
    expect(isTrustedSenderUrl('http://user@localhost:5173@evil.com/', dev)).toBe(false);
  });
});
