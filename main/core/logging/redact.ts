/**
 * Keeps secrets (the platform token above all) out of every line the agent writes or shows.
 */

const MASK = '***';

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;

  add(secret: string): void {
    if (!secret) return;
    // the token also travels URL-encoded in the connection URL and JSON-escaped in logged frames
    const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
    const before = this.secrets.size;
    for (const form of forms) this.secrets.add(form);
    if (this.secrets.size !== before) this.pattern = null;
  }

  redact(text: string): string {
    if (this.secrets.size === 0) return text;
    this.pattern ??= buildPattern(this.secrets);
    return text.replace(this.pattern, MASK);
  }
}

/** Alternation tries left to right: the longest secret goes first so that a shorter one inside it can't leave a tail. */
function buildPattern(secrets: Iterable<string>): RegExp {
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Hides the value of every `token` query parameter, keeping the rest of the URL readable. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, `$1${MASK}`);
}
