import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isSecretName,
  MASK,
  maskableSecrets,
  maskText,
  SecretMasker,
  secretEnvValues,
  secretForms,
} from './secret-masker.js';

/** What a whole-text masking gives: leftmost match, longest form first at one position, short ones as words. */
function reference(text: string, secrets: string[]): string {
  const forms = maskableSecrets(secrets)
    .flatMap(secretForms)
    .sort((a, b) => Buffer.byteLength(b.text) - Buffer.byteLength(a.text));
  if (forms.length === 0) return text;
  const alternatives = forms.map(({ text: t, wholeWord }) => {
    const escaped = t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return wholeWord ? `(?<![A-Za-z0-9_])${escaped}(?![A-Za-z0-9_])` : escaped;
  });
  return text.replace(new RegExp(alternatives.join('|'), 'g'), MASK);
}

/** Feed `text` cut at `cuts` (byte offsets) and collect what comes out, checking the holdback. */
function streamed(text: string, secrets: string[], cuts: number[]): string {
  const masker = new SecretMasker(secrets);
  const bytes = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(masker.push(bytes.subarray(start, cut)));
    expect(masker.held).toBeLessThanOrEqual(masker.maxHeld);
    start = cut;
  }
  out.push(masker.end());
  return Buffer.concat(out).toString('utf8');
}

describe('secret names', () => {
  it('recognises secret-looking names, case-insensitively', () => {
    for (const name of [
      'API_TOKEN',
      'token',
      'db_password',
      'MYSQL_PASSWD',
      'aws_secret_access_key',
      'SSH_KEY',
      'GOOGLE_CREDENTIALS',
      'x-Secret-y',
    ]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['PATH', 'HOME', 'USER', 'BUILD_NUMBER', 'PASSWORLD'.slice(0, 4)])
      expect(isSecretName(name), name).toBe(false);
  });

  it('takes values of secret names only, and not those shorter than 4 characters', () => {
    expect(secretEnvValues({ API_TOKEN: 'abcdef', PATH: '/usr/bin', DB_PASSWORD: 'pw' })).toEqual(['abcdef', 'pw']);
    expect(maskableSecrets(['abcdef', 'pw', '', 'abc', 'abcd'])).toEqual(['abcdef', 'abcd']);
  });
});

describe('SecretMasker', () => {
  const text = 'start abcdef middle abcdefabcdef x-abcde-x tail abcdef';
  const secrets = ['abcdef'];

  it('masks a short value (under 8 characters) only as a whole word', () => {
    expect(maskText(text, secrets)).toBe('start *** middle abcdefabcdef x-abcde-x tail ***');
    expect(maskText('ATS Agent, --token Tok1, Tok1x', ['Tok1'])).toBe('ATS Agent, --token ***, Tok1x');
  });

  it('masks a long value anywhere, and its base64 (three alignments), URL and JSON forms', () => {
    const secret = 'p@ss w0rd/"long"+ключ';
    const b64 = (prefix: string) => Buffer.from(prefix + secret + 'tail').toString('base64');
    const shown = [
      `raw:${secret}x`,
      `url:${encodeURIComponent(secret)}`,
      `url-lower:${encodeURIComponent(secret).toLowerCase()}`,
      `json:${JSON.stringify({ s: secret })}`,
      `b64-0:${b64('')}`,
      `b64-1:${b64('a')}`,
      `b64-2:${b64('ab')}`,
      `b64-alone:${Buffer.from(secret).toString('base64')}`,
    ].join('\n');
    const masked = maskText(shown, [secret]);
    expect(masked).not.toContain(secret);
    expect(masked).not.toContain(encodeURIComponent(secret));
    expect(masked).toContain('raw:***x');
    expect(masked).toContain('json:{"s":"***"}');
    expect(masked).toMatch(/b64-alone:\*\*\*$/);
    // at most the first 4 and last 4 characters of an embedded encoding stay (they mix in other bytes)
    for (const line of masked.split('\n'))
      expect(line.replace(/^[\w-]+:/, '').replace('***', '').length, line).toBeLessThanOrEqual(12);
    // a base64 line never decodes to the secret any more
    for (const p of ['', 'a', 'ab'])
      expect(Buffer.from(maskText(b64(p), [secret]), 'base64').toString()).not.toContain(secret);
  });

  it('masks the encoded forms across every chunk split', () => {
    const secret = 'S3cr3t-Value-42';
    const t = `x ${Buffer.from(`z${secret}`).toString('base64')} ${encodeURIComponent(secret)} ${secret}`;
    const expected = reference(t, [secret]);
    expect(expected).not.toContain(secret);
    for (let i = 0; i <= t.length; i++)
      for (let j = i; j <= t.length; j += 7) expect(streamed(t, [secret], [i, j])).toBe(expected);
  });

  it('gives the same output for a split at every position', () => {
    const expected = reference(text, secrets);
    for (let i = 0; i <= Buffer.byteLength(text); i++)
      expect(streamed(text, secrets, [i]), `cut at ${i}`).toBe(expected);
  });

  it('gives the same output for every pair of split positions, with overlapping secrets', () => {
    const t = 'xxabcdefgh-cdefg-abc-abcdefgh-defgh cdefg';
    const s = ['abcdefgh', 'cdefg', 'defgh', 'efg'].filter((v) => v.length >= 4);
    const expected = reference(t, s);
    for (let i = 0; i <= t.length; i++)
      for (let j = i; j <= t.length; j++) expect(streamed(t, s, [i, j]), `cuts ${i},${j}`).toBe(expected);
  });

  it('one byte at a time, multi-byte characters in secret and text', () => {
    const t = 'héllo ключ-секрет! 🔑ключ-секрет🔑 ключ-';
    const s = ['ключ-секрет'];
    const cuts = Array.from({ length: Buffer.byteLength(t) - 1 }, (_, i) => i + 1);
    expect(streamed(t, s, cuts)).toBe('héllo ***! 🔑***🔑 ключ-');
  });

  it('holds back a possible start of a secret until it knows, and releases it at the end', () => {
    const m = new SecretMasker(['abcdefgh']);
    expect(m.push(Buffer.from('output abc')).toString()).toBe('output ');
    expect(m.held).toBe(3);
    expect(m.push(Buffer.from('xyz')).toString()).toBe('abcxyz');
    expect(m.push(Buffer.from('ab')).toString()).toBe('');
    expect(m.end().toString()).toBe('ab');
  });

  it('passes output through untouched when there is nothing to mask', () => {
    const m = new SecretMasker(['ab', '']);
    const chunk = Buffer.from('abc');
    expect(m.active).toBe(false);
    expect(m.push(chunk)).toBe(chunk);
  });

  it('property: any text, any secrets, any chunking = whole-text masking', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', 'd', 'é', '\n');
    const str = (min: number, max: number) =>
      fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(''));
    fc.assert(
      // text made of noise and (pieces of) the secrets, so that matches and near-matches are common
      fc.property(
        fc.array(str(1, 7), { minLength: 1, maxLength: 4 }),
        fc.array(fc.oneof(str(0, 4), fc.nat(3), fc.tuple(fc.nat(3), fc.nat(6))), { maxLength: 14 }),
        fc.array(fc.nat(200), { maxLength: 8 }),
        (s, parts, rawCuts) => {
          const t = parts
            .map((p) =>
              typeof p === 'string' ? p : typeof p === 'number' ? s[p % s.length]! : s[p[0] % s.length]!.slice(0, p[1]),
            )
            .join('');
          const n = Buffer.byteLength(t);
          const cuts = [...new Set(rawCuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);
          expect(streamed(t, s, cuts)).toBe(reference(t, s));
        },
      ),
      { numRuns: 3000 },
    );
  });
  it('property: long secrets, their encoded forms (pieces, paddings, overlaps), any chunking = whole-text masking', () => {
    const alphabet = fc.constantFrom('a', 'b', 'Y', 'W', '=', '%', '2', 'é', '\n');
    const str = (min: number, max: number) =>
      fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.array(str(8, 12), { minLength: 1, maxLength: 2 }),
        fc.array(fc.oneof(str(0, 3), fc.tuple(fc.nat(20), fc.nat(40))), { maxLength: 10 }),
        fc.array(fc.nat(300), { maxLength: 8 }),
        (s, parts, rawCuts) => {
          const forms = s.flatMap((v) => secretForms(v).map((f) => f.text));
          // a first chunk full of the forms' first bytes: the searches start from a later byte
          const lead = `${forms.map((f) => f[0]!.repeat(40)).join('')}\n`;
          const body = parts.map((p) => (typeof p === 'string' ? p : forms[p[0] % forms.length]!.slice(0, p[1])));
          const t = lead + body.join('');
          const n = Buffer.byteLength(t);
          const first = Buffer.byteLength(lead);
          const cuts = [first, ...new Set(rawCuts.map((c) => first + (c % (n - first + 1))))].sort((a, b) => a - b);
          expect(streamed(t, s, cuts)).toBe(reference(t, s));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
