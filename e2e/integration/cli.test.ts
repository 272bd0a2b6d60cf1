/** The command line: help, version, usage errors with exit 2 naming the flag or key. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './harness.js';
import { AGENT_CWD, agentCommand, agentEnv } from '../lib/agent-env.js';

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const clean = agentEnv(null, env);
  const command = agentCommand();
  return spawnSync(command.file, [...command.args, ...args], {
    cwd: AGENT_CWD,
    env: clean,
    encoding: 'utf8',
    timeout: 15_000,
  });
};

describe('cli', () => {
  it('prints help with every flag and exits 0', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const flag of [
      '--token',
      '--token-file',
      '--server-url',
      '--log-level',
      '--config',
      '--work-dir',
      '--no-gui',
      '--dashboard',
      '--version',
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('prints its version', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('1.0.0');
  });

  it.each([
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['--token', 't', '--log-level', 'LOUD'], /--log-level.*LOUD|LOUD.*--log-level/],
    [['--token', 't', '--max-concurrent', 'zero'], /--max-concurrent/],
    [['--token', 't', '--server-url', 'http://x'], /server\.url/],
    [[], /token is required/],
    [['--token', 't', '--config', '/nonexistent/agent.yaml'], /\/nonexistent\/agent\.yaml/],
  ])('exits 2 for %j with a message naming it', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 2 naming the key and the file for a bad config key', () => {
    const file = path.join(tempDir(), 'bad.yaml');
    writeFileSync(file, 'task:\n  max_concurent: 2\n');
    const r = run(['--token', 't', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('task.max_concurent');
  });

  it('accepts --no-gui and takes the token from ATS_AGENT_TOKEN', () => {
    const r = run(
      [
        '--no-gui',
        '--server-url',
        'ws://127.0.0.1:9/ws/agent',
        '--work-dir',
        path.join(tempDir(), 'w'),
        '--config',
        writeRetries(),
      ],
      { ATS_AGENT_TOKEN: 'from-env' },
    );
    expect(r.status).toBe(4);
  });
});

function writeRetries(): string {
  const file = path.join(tempDir(), 'retries.yaml');
  writeFileSync(file, 'server:\n  max_retries: 1\n');
  return file;
}
