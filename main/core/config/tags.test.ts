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
