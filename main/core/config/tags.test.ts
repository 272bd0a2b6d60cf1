import { describe, expect, it } from 'vitest';
import { flagLayer, resolveConfig } from './load.js';
import { agentTags, splitTags } from './tags.js';

describe('tags', () => {
  it('adds os: and arch: once, after the configured ones', () => {
    expect(agentTags(['gpu', 'os:linux'], 'linux', 'x64')).toEqual(['gpu', 'os:linux', 'arch:x64']);
  });

  it('splits --tags on commas and drops blanks', () => {
    expect(splitTags(' a, b=1 ,,c/d ')).toEqual(['a', 'b=1', 'c/d']);
  });

  it.each(['has space', 'semi;colon', 'ü', '', 'x'.repeat(65)])('refuses %j naming the tag', (tag) => {
    expect(() => resolveConfig([flagLayer({ 'agent.tags': [tag] })])).toThrow(
      new RegExp(`agent\\.tags\\.0: tag ${JSON.stringify(tag).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not allowed`),
    );
  });

  it('accepts letters, digits and _ . : = / -', () => {
    expect(resolveConfig([flagLayer({ 'agent.tags': ['gpu:a100', 'zone=eu-1', 'team/qa_2.x'] })]).agent.tags).toEqual([
      'gpu:a100',
      'zone=eu-1',
      'team/qa_2.x',
    ]);
  });
});

describe('monitor.scripts and monitor.alerts config', () => {
  const monitor = (m: Record<string, unknown>) => () => resolveConfig([flagLayer({ monitor: m })]);

  it('fills defaults for a script and an alert', () => {
    const c = monitor({
      scripts: [{ name: 'queue', command: 'echo 1' }],
      alerts: [{ name: 'deep', metric: 'custom.queue', above: 5 }],
    })();
    expect(c.monitor.scripts).toEqual([{ name: 'queue', command: 'echo 1', interval: 60, timeout: 10 }]);
    expect(c.monitor.alerts).toEqual([{ name: 'deep', metric: 'custom.queue', above: 5, for: 0 }]);
  });

  it.each([
    [{ scripts: [{ name: 'a b', command: 'x' }] }, /monitor\.scripts\.0\.name/],
    [{ scripts: [{ name: 'a', command: 'x', timeout: 0 }] }, /monitor\.scripts\.0\.timeout/],
    [
      {
        scripts: [
          { name: 'a', command: 'x' },
          { name: 'a', command: 'y' },
        ],
      },
      /duplicate script name a/,
    ],
    [{ alerts: [{ name: 'x', metric: 'gpu.temp', above: 1 }] }, /monitor\.alerts\.0\.metric: must be one of/],
    [{ alerts: [{ name: 'x', metric: 'custom.nope', above: 1 }] }, /no monitor\.scripts entry is named nope/],
    [{ alerts: [{ name: 'x', metric: 'cpu.usage_percent', above: 1, for: -1 }] }, /monitor\.alerts\.0\.for/],
  ])('refuses %j naming the key', (m, message) => {
    expect(monitor(m)).toThrow(message);
  });
});
