import { describe, expect, it } from 'vitest';
import { bypassed, noProxyList, parseProxyUrl, proxyFor, redactProxy } from './proxy.js';

const P = 'http://proxy.corp:3128';

describe('proxyFor', () => {
  it('HTTPS_PROXY for wss://, HTTP_PROXY for ws://, lower case first', () => {
    const env = { HTTPS_PROXY: 'http://s:1', HTTP_PROXY: 'http://h:2', NO_PROXY: '' };
    expect(proxyFor('wss://platform.example/ws', { env })?.host).toBe('s:1');
    expect(proxyFor('ws://platform.example/ws', { env })?.host).toBe('h:2');
    expect(proxyFor('wss://platform.example/ws', { env: { ...env, https_proxy: 'http://lower:3' } })?.host).toBe(
      'lower:3',
    );
    expect(proxyFor('wss://platform.example/ws', { env: { HTTP_PROXY: 'http://h:2' } })).toBeNull();
  });

  it('server.proxy wins over the environment; server.no_proxy over NO_PROXY', () => {
    const env = { HTTPS_PROXY: 'http://env:1', NO_PROXY: 'platform.example' };
    expect(proxyFor('wss://platform.example/ws', { proxy: P, env })).toBeNull();
    expect(proxyFor('wss://platform.example/ws', { proxy: P, noProxy: [], env })?.href).toBe(`${P}/`);
  });

  it('loopback bypasses by default, but not when NO_PROXY is set (even empty)', () => {
    expect(proxyFor('ws://127.0.0.1:8000/ws', { env: { HTTP_PROXY: P } })).toBeNull();
    expect(proxyFor('ws://localhost:8000/ws', { env: { HTTP_PROXY: P } })).toBeNull();
    expect(proxyFor('ws://[::1]:8000/ws', { env: { HTTP_PROXY: P } })).toBeNull();
    expect(proxyFor('ws://127.0.0.1:8000/ws', { env: { HTTP_PROXY: P, NO_PROXY: '' } })?.href).toBe(`${P}/`);
    expect(noProxyList({ env: {} })).toContain('127.0.0.0/8');
  });

  it('a bare host:port proxy means http; other schemes are refused; passwords are hidden', () => {
    expect(parseProxyUrl('proxy:3128').href).toBe('http://proxy:3128/');
    expect(() => parseProxyUrl('socks5://proxy:1080')).toThrow(/http:\/\/ or https:\/\//);
    expect(redactProxy('http://user:s3cret@proxy:1/')).toBe('http://user:***@proxy:1/');
    expect(redactProxy('http://tokenonly@proxy:1/')).toBe('http://***@proxy:1/');
  });
});

describe('NO_PROXY matching', () => {
  const cases: Array<[string, number, string, boolean]> = [
    ['api.example.com', 443, 'example.com', true],
    ['example.com', 443, '.example.com', true],
    ['api.example.com', 443, '*.example.com', true],
    ['notexample.com', 443, 'example.com', false],
    ['example.com.evil', 443, 'example.com', false],
    ['anything', 1, '*', true],
    ['10.1.2.3', 443, '10.0.0.0/8', true],
    ['11.1.2.3', 443, '10.0.0.0/8', false],
    ['10.1.2.3', 443, '10.1.2.3', true],
    ['10.1.2.3', 443, '10.1.2.4', false],
    ['platform', 8443, 'platform:8443', true],
    ['platform', 443, 'platform:8443', false],
    ['::1', 80, '::1', true],
    ['::1', 80, '[::1]:80', true],
    ['Platform.Example.', 443, 'platform.example', true],
  ];
  for (const [host, port, entry, expected] of cases) {
    it(`${host}:${port} vs ${entry} → ${expected ? 'bypass' : 'proxy'}`, () => {
      expect(bypassed(host, port, [entry.toLowerCase()])).toBe(expected);
    });
  }
});
