import { describe, expect, it } from 'vitest';
import { Redactor, redactUrl } from './redact.js';

describe('Redactor', () => {
  it('replaces every occurrence of a registered secret', () => {
    const r = new Redactor();
    r.add('s3cr3t');
    expect(r.redact('a s3cr3t b s3cr3ts3cr3t')).toBe('a *** b ******');
  });

  it('leaves text alone when nothing is registered, and ignores empty secrets', () => {
    const r = new Redactor();
    expect(r.redact('plain text')).toBe('plain text');
    r.add('');
    expect(r.redact('plain text')).toBe('plain text');
  });

  it('also replaces the URL-encoded form of a secret', () => {
    const r = new Redactor();
    const token = 'ab+c/d=e f&g';
    r.add(token);
    const url = `ws://h/ws/agent?token=${encodeURIComponent(token)}`;
    expect(url).toContain('ab%2Bc%2Fd%3De%20f%26g');
    expect(r.redact(url)).toBe('ws://h/ws/agent?token=***');
    expect(r.redact(`raw ${token}`)).toBe('raw ***');
  });

  it('also replaces the JSON-escaped form, as in a logged auth frame', () => {
    const r = new Redactor();
    const token = 'q"uo\\te';
    r.add(token);
    expect(r.redact(JSON.stringify({ type: 'auth', token }))).toBe('{"type":"auth","token":"***"}');
  });

  it('treats regex metacharacters literally', () => {
    const r = new Redactor();
    r.add('a.c*');
    expect(r.redact('abc a.c* abcc')).toBe('abc *** abcc');
  });

  it('matches the longest secret first so no tail of it survives', () => {
    const r = new Redactor();
    r.add('abc');
    r.add('abcdef');
    expect(r.redact('xabcdefx abc')).toBe('x***x ***');
  });
});

describe('redactUrl', () => {
  it('hides the token value and keeps the rest', () => {
    expect(redactUrl('wss://p.example/ws/agent?a=1&token=abc%2Fdef&b=2#frag')).toBe(
      'wss://p.example/ws/agent?a=1&token=***&b=2#frag',
    );
    expect(redactUrl('ws://localhost:8000/ws/agent?token=xyz')).toBe('ws://localhost:8000/ws/agent?token=***');
  });

  it('leaves URLs without a token and look-alike parameters untouched', () => {
    expect(redactUrl('ws://h/ws?x=1')).toBe('ws://h/ws?x=1');
    expect(redactUrl('ws://h/ws?mytoken=1&token_type=bearer')).toBe('ws://h/ws?mytoken=1&token_type=bearer');
  });
});
