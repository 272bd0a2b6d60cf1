/**
 * `task.deny_patterns`, matched in linear time: RE2 (re2js, pure JS) has no backtracking, so a
 * pattern such as `(a+)+$` cannot stall the event loop (and the heartbeats) on a long command, as
 * JavaScript's RegExp does. RE2 has no backreferences or lookaround: such a pattern is a config error.
 *
 * Linear is not free: an NFA simulation costs about (program size × command length) steps, some
 * 100 ns each. A command whose check would cost more than CHECK_BUDGET steps is refused instead of
 * checked (a bounded check), which keeps every check under ~0.1 s. Commands that long are rare: a
 * shell command on Linux is one argument, at most 128 KiB.
 */
import { RE2JS } from 're2js';

/** program instructions × command characters one check may cost (~0.1 s at worst) */
export const CHECK_BUDGET = 1_000_000;

export interface DenyPattern {
  source: string;
  re: RE2JS;
}

/** Why `source` cannot be a deny pattern, or null. */
export function denyPatternProblem(source: string): string | null {
  try {
    RE2JS.compile(source);
    return null;
  } catch (err) {
    return `${JSON.stringify(source)} is not a regular expression RE2 accepts (${(err as Error).message}); deny patterns are matched in linear time, so backreferences and lookaround are not supported`;
  }
}

export function compileDenyPatterns(sources: readonly string[]): DenyPattern[] {
  return sources.map((source) => ({ source, re: RE2JS.compile(source) }));
}

export type DenyVerdict =
  { kind: 'allowed' } | { kind: 'denied'; pattern: string } | { kind: 'too-long'; cost: number };

/** The first pattern that matches the command, or that the command is too long to check in time. */
export function checkDenyPatterns(patterns: readonly DenyPattern[], command: string): DenyVerdict {
  if (patterns.length === 0) return { kind: 'allowed' };
  const cost = patterns.reduce((n, p) => n + p.re.programSize(), 0) * command.length;
  if (cost > CHECK_BUDGET) return { kind: 'too-long', cost };
  for (const { source, re } of patterns) {
    if (re.matcher(command).find()) return { kind: 'denied', pattern: source };
  }
  return { kind: 'allowed' };
}
