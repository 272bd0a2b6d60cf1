/**
 * Secrets out of a task's output: every occurrence of a secret value in a byte stream becomes `***`,
 * also when the value arrives split over several chunks, and also in the encoded forms a task is
 * likely to print (GitHub's runner masks those too): base64 at each of the three alignments,
 * URL-encoding and JSON-escaping. At a chunk's end the masker holds back the bytes that could still
 * be the start of a secret (at most the longest form's length) until the next chunk, or the end,
 * tells. There is no time-based release: a task that prints half a secret and waits would otherwise
 * leak it.
 *
 * A value shorter than SAFE_SECRET_LENGTH is masked only where it stands as a whole word: masking
 * `T` everywhere would turn "ATS Agent" into "A***S Agent", and would tell a reader the secret.
 *
 * Matching is leftmost first, and the longest form at a position wins.
 */

export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);
const EMPTY = Buffer.alloc(0);
/** values shorter than this are not masked: "1", "yes" or "on" would mask half of any output */
export const MIN_SECRET_LENGTH = 4;
/** shorter values are masked only as whole words, and without their encoded forms */
export const SAFE_SECRET_LENGTH = 8;
/**
 * Longer values are not masked: holding back that much output would stall the stream (a 16 MB
 * "key" is data, not a credential).
 */
export const MAX_SECRET_BYTES = 64 * 1024;

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL/i;

/** Does an env var's name say that its value is a secret? */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The values of a task's env_vars whose names look secret, long enough to be worth masking. */
export function secretEnvValues(envVars: Record<string, string> | null | undefined): string[] {
  return Object.entries(envVars ?? {})
    .filter(([name, value]) => isSecretName(name) && typeof value === 'string')
    .map(([, value]) => value);
}

/** Secrets usable by a masker: deduplicated, long enough, not too long. */
export function maskableSecrets(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) continue;
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES) continue;
    out.add(value);
  }
  return [...out];
}

/** Too short to be masked anywhere but as a whole word: worth a warning. */
export function tooShortToMask(value: string): boolean {
  return value.length > 0 && value.length < SAFE_SECRET_LENGTH;
}

/** What to tell about a secret-looking env var whose value is too short to mask safely, or null. */
export function shortSecretWarning(name: string, value: string): string | null {
  if (!isSecretName(name) || typeof value !== 'string' || !tooShortToMask(value)) return null;
  const how = value.length < MIN_SECRET_LENGTH ? 'it is not masked at all' : 'it is masked only as a whole word';
  return `env var ${name} looks secret but its value is ${value.length} characters, too short to mask safely (${SAFE_SECRET_LENGTH} or more): ${how}`;
}

/** One text to look for, and whether it counts only as a whole word. */
export interface SecretForm {
  text: string;
  wholeWord: boolean;
}

/**
 * What a secret may look like in output: itself, URL-encoded (upper- and lower-case hex), JSON-escaped,
 * and base64. Base64 of a secret inside longer data depends on where it starts modulo 3: for each
 * alignment, the characters that encode only the secret's own bytes (and the whole encoding, padding
 * included, for data that is the secret alone). A short secret has no base64 forms, and each of its
 * forms counts only as a whole word.
 */
export function secretForms(value: string): SecretForm[] {
  const url = encodeURIComponent(value);
  const texts = new Set([
    value,
    url,
    url.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    JSON.stringify(value).slice(1, -1),
  ]);
  if (tooShortToMask(value)) return [...texts].map((text) => ({ text, wholeWord: true }));
  const bytes = Buffer.from(value, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const aligned = bytes.subarray(shift);
    texts.add(aligned.toString('base64'));
    const whole = aligned.subarray(0, aligned.length - (aligned.length % 3)).toString('base64');
    if (whole.length >= SAFE_SECRET_LENGTH) texts.add(whole);
  }
  return [...texts]
    .filter((t) => t.length >= SAFE_SECRET_LENGTH || t === value)
    .map((text) => ({ text, wholeWord: false }));
}

interface Needle {
  bytes: Buffer;
  wholeWord: boolean;
}

/**
 * One search through the output: a needle, and the longer needles that begin with it (a base64
 * form with its padding begins with the same form without it). Each search is a pass over every
 * chunk, so forms that share a start share the pass; at a match the longest of them that fits wins.
 */
interface Search {
  root: Needle;
  /** longest first */
  longer: Needle[];
  /**
   * Where in the root the search starts: at its byte the output has had least of. A search for a
   * byte that is rare in the data skips ahead at memchr speed; one for a common byte stops at each
   * (measured over 64 KB of this repo's Markdown, 3 000 times: 32–40 ms for a token or its base64
   * from its first byte, 2.3–2.7 ms from its rarest).
   */
  anchor: number;
  /** the root from its anchor on */
  tail: Buffer;
}

function searchesOf(needles: Needle[]): Search[] {
  const searches: Search[] = [];
  for (const needle of [...needles].sort((a, b) => a.bytes.length - b.bytes.length)) {
    const within = needle.wholeWord
      ? undefined
      : searches.find((s) => !s.root.wholeWord && needle.bytes.subarray(0, s.root.bytes.length).equals(s.root.bytes));
    if (within) within.longer.unshift(needle);
    else searches.push({ root: needle, longer: [], anchor: 0, tail: needle.bytes });
  }
  return searches;
}

/** How often each byte value came in the output, from samples: what the anchors are chosen by. */
class ByteCounts {
  private readonly counts = new Uint32Array(256);
  private sinceSample = Infinity;

  /** Samples `chunk` now and then; true when the counts changed enough to choose anchors again. */
  see(chunk: Buffer): boolean {
    this.sinceSample += chunk.length;
    if (this.sinceSample < RESAMPLE_EVERY_BYTES) return false;
    this.sinceSample = 0;
    // the old counts fade: output changes its character over a task's life
    for (let b = 0; b < 256; b++) this.counts[b]! >>>= 1;
    const end = Math.min(chunk.length, SAMPLE_BYTES);
    for (let i = 0; i < end; i++) this.counts[chunk[i]!]! += 1;
    return true;
  }

  /** The offset in `bytes` of its byte seen least. */
  rarest(bytes: Buffer): number {
    let best = 0;
    for (let i = 1; i < bytes.length; i++) if (this.counts[bytes[i]!]! < this.counts[bytes[best]!]!) best = i;
    return best;
  }
}

const SAMPLE_BYTES = 4096;
const RESAMPLE_EVERY_BYTES = 1024 * 1024;

/** [A-Za-z0-9_]: what a whole word may not touch */
function isWordByte(b: number | undefined): boolean {
  return (
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f)
  );
}

export class SecretMasker {
  private readonly needles: Needle[];
  private readonly searches: Search[];
  private readonly longest: number;
  private readonly seen = new ByteCounts();
  private pending: Buffer = Buffer.alloc(0);
  /** the byte just before `pending`: whether a whole-word match at its start touches a word */
  private before: number | undefined;

  constructor(values: Iterable<string>) {
    const seen = new Set<string>();
    this.needles = [];
    for (const form of maskableSecrets(values).flatMap(secretForms)) {
      const key = `${form.wholeWord ? 'w' : 'a'}${form.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.needles.push({ bytes: Buffer.from(form.text, 'utf8'), wholeWord: form.wholeWord });
    }
    // longest first: at one position the longest form wins
    this.needles.sort((a, b) => b.bytes.length - a.bytes.length);
    this.searches = searchesOf(this.needles);
    this.longest = this.needles[0]?.bytes.length ?? 0;
  }

  get active(): boolean {
    return this.needles.length > 0;
  }

  /** bytes held back right now, waiting for the next chunk */
  get held(): number {
    return this.pending.length;
  }

  /** the most it ever holds back */
  get maxHeld(): number {
    return this.longest;
  }

  /** Masked bytes that are safe to pass on now (possibly empty). */
  push(chunk: Buffer): Buffer {
    if (!this.active) return chunk;
    if (this.seen.see(chunk)) this.chooseAnchors();
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const { out, rest } = this.scan(buf, false);
    this.pending = rest;
    return out;
  }

  /** The stream ended: whatever was held back goes out (it was not a whole secret). */
  end(): Buffer {
    if (!this.active || this.pending.length === 0) return Buffer.alloc(0);
    const { out } = this.scan(this.pending, true);
    this.pending = Buffer.alloc(0);
    this.before = undefined;
    return out;
  }

  private chooseAnchors(): void {
    for (const search of this.searches) {
      search.anchor = this.seen.rarest(search.root.bytes);
      search.tail = search.root.bytes.subarray(search.anchor);
    }
  }

  private scan(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const parts: Buffer[] = [];
    // next known occurrence of each search's root at or after `pos` (-1: none left)
    const next = this.searches.map((s) => this.find(buf, s, 0, final));
    let pos = 0;
    for (;;) {
      let match = -1;
      let matchLen = 0;
      for (let i = 0; i < this.searches.length; i++) {
        const search = this.searches[i]!;
        if (next[i]! !== -1 && next[i]! < pos) next[i] = this.find(buf, search, pos, final);
        const at = next[i]!;
        if (at === -1 || (match !== -1 && at > match)) continue;
        const length = matchLength(buf, at, search);
        // at one position the longest form wins
        if (match === -1 || at < match || length > matchLen) {
          match = at;
          matchLen = length;
        }
      }
      const hold = final ? -1 : this.partialStart(buf, pos);
      if (hold !== -1 && (match === -1 || hold <= match)) {
        parts.push(buf.subarray(pos, hold));
        return this.emit(parts, buf, hold);
      }
      if (match === -1) {
        parts.push(buf.subarray(pos));
        return this.emit(parts, buf, buf.length);
      }
      parts.push(buf.subarray(pos, match), MASK_BYTES);
      pos = match + matchLen;
    }
  }

  private emit(parts: Buffer[], buf: Buffer, restAt: number): { out: Buffer; rest: Buffer } {
    // what precedes the held bytes is the original byte there, masked or not: a mask ends a word too
    if (restAt > 0) this.before = buf[restAt - 1];
    // most chunks hold no secret and end on no prefix of one: they pass as they are, not copied
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return { out, rest: restAt === buf.length ? EMPTY : Buffer.from(buf.subarray(restAt)) };
  }

  /**
   * The next occurrence of the search's root at or after `from` that counts; a whole word that ends
   * the buffer does not count yet unless the stream ended (partialStart holds it back until the next
   * byte tells). The search looks for the root's tail from its anchor, then checks the bytes before.
   */
  private find(buf: Buffer, { root: needle, anchor, tail }: Search, from: number, final: boolean): number {
    for (let hit = buf.indexOf(tail, from + anchor); hit !== -1; hit = buf.indexOf(tail, hit + 1)) {
      const at = hit - anchor;
      if (anchor > 0 && buf.compare(needle.bytes, 0, anchor, at, hit) !== 0) continue;
      if (!needle.wholeWord) return at;
      const end = at + needle.bytes.length;
      if (isWordByte(at > 0 ? buf[at - 1] : this.before)) continue;
      if (end === buf.length ? final : !isWordByte(buf[end])) return at;
    }
    return -1;
  }

  /**
   * The first position ≥ from where the buffer's end could still become a match: a proper prefix of
   * some needle, or a whole word whose next byte is not known yet. Else -1.
   */
  private partialStart(buf: Buffer, from: number): number {
    const end = buf.length;
    for (let p = Math.max(from, end - this.longest); p < end; p++) {
      const tail = end - p;
      for (const { bytes, wholeWord } of this.needles) {
        const could = bytes.length > tail || (wholeWord && bytes.length === tail);
        if (could && buf[p] === bytes[0] && buf.compare(bytes, 0, tail, p, end) === 0) {
          if (!wholeWord || !isWordByte(p > 0 ? buf[p - 1] : this.before)) return p;
        }
      }
    }
    return -1;
  }
}

/** The longest of a search's needles at `at`, where its root matched. */
function matchLength(buf: Buffer, at: number, search: Search): number {
  for (const { bytes } of search.longer) {
    const end = at + bytes.length;
    if (end <= buf.length && buf.compare(bytes, 0, bytes.length, at, end) === 0) return bytes.length;
  }
  return search.root.bytes.length;
}

/** Masks whole strings (the agent's own messages, a finished text). */
export function maskText(text: string, values: Iterable<string>): string {
  const masker = new SecretMasker(values);
  if (!masker.active) return text;
  return Buffer.concat([masker.push(Buffer.from(text, 'utf8')), masker.end()]).toString('utf8');
}
