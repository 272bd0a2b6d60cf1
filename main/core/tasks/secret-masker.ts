/**
 * Secrets out of a task's output: every occurrence of a secret value in a byte stream becomes `***`,
 * also when the value arrives split over several chunks. At a chunk's end the masker holds back the
 * bytes that could still be the start of a secret (at most the longest secret's length − 1) until
 * the next chunk, or the end, tells. There is no time-based release: a task that prints half a
 * secret and waits would otherwise leak it.
 *
 * Matching is leftmost first, and the longest secret at a position wins.
 */

export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);
/** values shorter than this are not masked: "1", "yes" or "on" would mask half of any output */
export const MIN_SECRET_LENGTH = 4;
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

export class SecretMasker {
  private readonly secrets: Buffer[];
  private readonly longest: number;
  private pending: Buffer = Buffer.alloc(0);

  constructor(values: Iterable<string>) {
    // longest first: at one position the longest secret wins
    this.secrets = maskableSecrets(values)
      .map((v) => Buffer.from(v, 'utf8'))
      .sort((a, b) => b.length - a.length);
    this.longest = this.secrets[0]?.length ?? 0;
  }

  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** bytes held back right now, waiting for the next chunk */
  get held(): number {
    return this.pending.length;
  }

  /** Masked bytes that are safe to pass on now (possibly empty). */
  push(chunk: Buffer): Buffer {
    if (!this.active) return chunk;
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
    return out;
  }

  private scan(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const parts: Buffer[] = [];
    // next known occurrence of each secret at or after `pos` (-1: none left)
    const next = this.secrets.map((s) => buf.indexOf(s));
    let pos = 0;
    for (;;) {
      let match = -1;
      let matchLen = 0;
      for (let i = 0; i < this.secrets.length; i++) {
        const secret = this.secrets[i]!;
        if (next[i]! !== -1 && next[i]! < pos) next[i] = buf.indexOf(secret, pos);
        const at = next[i]!;
        // sorted longest first: a tie keeps the longer one
        if (at !== -1 && (match === -1 || at < match)) {
          match = at;
          matchLen = secret.length;
        }
      }
      const hold = final ? -1 : this.partialStart(buf, pos);
      if (hold !== -1 && (match === -1 || hold <= match)) {
        parts.push(buf.subarray(pos, hold));
        return { out: Buffer.concat(parts), rest: Buffer.from(buf.subarray(hold)) };
      }
      if (match === -1) {
        parts.push(buf.subarray(pos));
        return { out: Buffer.concat(parts), rest: Buffer.alloc(0) };
      }
      parts.push(buf.subarray(pos, match), MASK_BYTES);
      pos = match + matchLen;
    }
  }

  /** The first position ≥ from where the buffer's end is a proper prefix of some secret, else -1. */
  private partialStart(buf: Buffer, from: number): number {
    const end = buf.length;
    for (let p = Math.max(from, end - this.longest + 1); p < end; p++) {
      const tail = end - p;
      for (const secret of this.secrets) {
        if (secret.length > tail && buf[p] === secret[0] && buf.compare(secret, 0, tail, p, end) === 0) return p;
      }
    }
    return -1;
  }
}

/** Masks whole strings (the agent's own messages, a finished text). */
export function maskText(text: string, values: Iterable<string>): string {
  const masker = new SecretMasker(values);
  if (!masker.active) return text;
  return Buffer.concat([masker.push(Buffer.from(text, 'utf8')), masker.end()]).toString('utf8');
}
