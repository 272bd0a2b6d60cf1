/**
 * Keeps secrets (the platform token above all) out of every line the agent writes or shows: the value
 * and its encoded forms (secret-masker.ts); a value too short to mask safely only as a whole word.
 */
import { secretForms } from '../tasks/secret-masker.js';

const MASK = '***';

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;

  /** True when the secret is new to this redactor. */
  add(secret: string): boolean {
    if (!secret || this.secrets.has(secret)) return false;
    this.secrets.add(secret);
    this.pattern = null;
    return true;
  }

  redact(text: string): string {
    if (this.secrets.size === 0) return text;
    this.pattern ??= buildPattern(this.secrets);
    return text.replace(this.pattern, MASK);
  }
}

/** Alternation tries left to right: the longest form goes first so that a shorter one inside it can't leave a tail. */
function buildPattern(secrets: Iterable<string>): RegExp {
  const forms = [...secrets].flatMap(secretForms).sort((a, b) => b.text.length - a.text.length);
  const alternatives = forms.map(({ text, wholeWord }) =>
    wholeWord ? `(?<![A-Za-z0-9_])${escapeRegExp(text)}(?![A-Za-z0-9_])` : escapeRegExp(text),
  );
  return new RegExp(alternatives.join('|'), 'g');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Hides the value of every `token` query parameter, keeping the rest of the URL readable. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, `$1${MASK}`);
}
