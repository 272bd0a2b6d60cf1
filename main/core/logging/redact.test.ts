import { describe, expect, it } from 'vitest';
import { Redactor, redactUrl } from './redact.js';

describe('Redactor', () => {
  it('replaces every occurrence of a registered secret', () => {
    const r = new Redactor();
    r.add('s3cr3t-long');
    expect(r.redact('a s3cr3t-long b s3cr3t-longs3cr3t-long')).toBe('a *** b ******');
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
    r.add('abcdefgh');
    r.add('abcdefghijkl');
    expect(r.redact('xabcdefghijklx abcdefgh')).toBe('x***x ***');
  });

  it('a token too short to mask safely only as a whole word: `--token T` leaves "ATS Agent" alone', () => {
    const r = new Redactor();
    expect(r.add('T')).toBe(true);
    expect(r.add('T')).toBe(false);
    expect(r.redact('ATS Agent 1.0.0 starting; token T, ?token=T&x')).toBe(
      'ATS Agent 1.0.0 starting; token ***, ?token=***&x',
    );
  });

  it("masks a long token's base64 forms (a Basic auth header, a logged payload)", () => {
    const r = new Redactor();
    const token = 'tok-SECRET-4f9a2c7e1b';
    r.add(token);
    const basic = Buffer.from(`user:${token}`).toString('base64');
    expect(Buffer.from(r.redact(basic), 'base64').toString()).not.toContain(token);
    expect(r.redact(Buffer.from(token).toString('base64'))).toBe('***');
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
