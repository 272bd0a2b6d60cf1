import { describe, expect, it } from 'vitest';
import { uploadUrl } from '../artifacts/upload-artifacts.js';
import { retryableStatus, sizeAndRate, tokenGoesTo } from './http-client.js';

describe('the token rule', () => {
  it.each([
    ['ws://ats.example:8000/ws/agent', 'http://ats.example:8000/files/a', true],
    ['ws://ats.example:8000/ws/agent', 'https://ats.example:8000/files/a', true],
    ['ws://ATS.example:8000/ws/agent', 'http://ats.example.:8000/files/a', true],
    ['wss://ats.example/ws/agent', 'https://ats.example:443/files/a', true],
    ['ws://ats.example/ws/agent', 'http://ats.example:80/files/a', true],
    // another host, another port, a weaker transport
    ['ws://ats.example:8000/ws/agent', 'http://storage.example:8000/a', false],
    ['ws://ats.example:8000/ws/agent', 'http://evil.ats.example:8000/a', false],
    ['ws://ats.example:8000/ws/agent', 'http://ats.example.evil:8000/a', false],
    ['ws://ats.example:8000/ws/agent', 'http://ats.example:8001/a', false],
    ['wss://ats.example/ws/agent', 'http://ats.example:443/a', false],
    ['wss://ats.example/ws/agent', 'http://ats.example/a', false],
    ['ws://127.0.0.1:8000/ws/agent', 'http://localhost:8000/a', false],
    ['not a url', 'http://ats.example/a', false],
  ])('server %s, target %s: %s', (server, target, expected) => {
    expect(tokenGoesTo(new URL(target), server)).toBe(expected);
  });
});

describe('upload URLs', () => {
  it.each([
    ['https://ats.example/up/t-1', 'out/a b#1.txt', 'https://ats.example/up/t-1/out/a%20b%231.txt'],
    ['https://ats.example/up/t-1/', 'x', 'https://ats.example/up/t-1/x'],
    ['https://s3.example/b?sig=abc', 'r/x.xml', 'https://s3.example/b/r/x.xml?sig=abc'],
    ['https://ats.example/up', 'd/%2F?.txt', 'https://ats.example/up/d/%252F%3F.txt'],
  ])('%s + %s', (base, rel, expected) => {
    expect(uploadUrl(base, rel).href).toBe(expected);
  });
});

describe('transfer helpers', () => {
  it('retries 5xx, 408 and 429 only', () => {
    expect([500, 503, 408, 429, 400, 401, 404, 413].map(retryableStatus)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('sizes a progress line', () => {
    expect(sizeAndRate(12)).toBe('12 B');
    expect(sizeAndRate(2048)).toBe('2.0 KB');
    expect(sizeAndRate(100 * 1024 * 1024, 2000)).toBe('100.0 MB in 2.0 s (50.0 MB/s)');
  });
});
