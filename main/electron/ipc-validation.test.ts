import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AGENT_CHANNELS, AGENT_EVENT_CHANNEL, AGENT_METHODS, methodOfChannel } from './ipc-contract.js';
import { isTrustedSenderUrl } from './ipc-validation.js';

const huge = (n: number) => 'x'.repeat(n);

describe('the channel contract', () => {
  it('has one agent:* channel per AgentApi call, plus the event channel', () => {
    expect(AGENT_METHODS.sort()).toEqual([
      'cancelTask',
      'getSettings',
      'getSnapshot',
      'getTaskHistory',
      'getTaskOutput',
      'openPath',
      'pause',
      'quit',
      'readTaskLog',
      'resume',
      'revealTaskLog',
      'searchTaskLog',
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
