import { describe, expect, it } from 'vitest';
import { CHECK_BUDGET, checkDenyPatterns, compileDenyPatterns, denyPatternProblem } from './deny-patterns.js';

describe('deny patterns (RE2, linear time)', () => {
  it('matches like a regular expression: the first matching pattern is named', () => {
    const patterns = compileDenyPatterns(['\\brm\\s+-rf\\s+/', 'shut(down|off)']);
    expect(checkDenyPatterns(patterns, 'echo shutdown now')).toEqual({ kind: 'denied', pattern: 'shut(down|off)' });
    expect(checkDenyPatterns(patterns, 'rm  -rf /')).toEqual({ kind: 'denied', pattern: '\\brm\\s+-rf\\s+/' });
    expect(checkDenyPatterns(patterns, 'farm -rf /x')).toEqual({ kind: 'allowed' });
    expect(checkDenyPatterns([], 'x'.repeat(10_000_000))).toEqual({ kind: 'allowed' });
  });

  it('(a+)+$ against a long command returns in linear time (JavaScript RegExp: exponential)', () => {
    const patterns = compileDenyPatterns(['(a+)+$']);
    const command = `${'a'.repeat(100_000)}!`;
    const started = performance.now();
    expect(checkDenyPatterns(patterns, command)).toEqual({ kind: 'allowed' });
    expect(checkDenyPatterns(patterns, 'aaaa')).toEqual({ kind: 'denied', pattern: '(a+)+$' });
    // ~0.15 s on a loaded 2-core machine; the same check with RegExp on 40 characters takes minutes
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses to check a command whose check would exceed the budget, instead of stalling', () => {
    const patterns = compileDenyPatterns(['(.*a){12}']);
    const size = patterns[0]!.re.programSize();
    const started = performance.now();
    const verdict = checkDenyPatterns(patterns, 'a'.repeat(Math.ceil(CHECK_BUDGET / size) + 1));
    expect(verdict.kind).toBe('too-long');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('a pattern RE2 cannot compile (backreference, lookaround) is named with the reason', () => {
    expect(denyPatternProblem('(a)\\1')).toMatch(
      /^"\(a\)\\\\1" is not a regular expression RE2 accepts .*backreferences/,
    );
    expect(denyPatternProblem('foo(?=bar)')).toMatch(/not a regular expression RE2 accepts/);
    expect(denyPatternProblem('(?<!x)y')).toMatch(/not a regular expression RE2 accepts/);
    expect(denyPatternProblem('(unclosed')).toMatch(/missing closing \)/);
    expect(denyPatternProblem('(a+)+$')).toBeNull();
  });
});
