import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentLayer, flagLayer, readConfigFile, readToken, resolveConfig, tokenFileIsExposed } from './load.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ats-config-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('config', () => {
  it('has the spec defaults', () => {
    const c = resolveConfig([]);
    expect(c.server.url).toBe('ws://localhost:8000/ws/agent');
    expect(c.logging).toEqual({ level: 'INFO', max_size: 10485760, backup_count: 5 });
    expect(c.task).toMatchObject({ max_concurrent: 1, timeout: 3600, cleanup: { keep_tasks: 10, keep_days: 7 } });
    expect(c.monitor.interval).toBe(5);
  });

  it('reads the spec YAML and keeps defaults for what it leaves out', () => {
    const p = file(
      'ok.yaml',
      'server:\n  url: "ws://platform:8000/ws/agent"\nlogging:\n  level: "DEBUG"\ntask:\n  max_concurrent: 2\n  cleanup:\n    keep_tasks: 3\n',
    );
    const c = resolveConfig([readConfigFile(p)]);
    expect(c.server.url).toBe('ws://platform:8000/ws/agent');
    expect(c.task.max_concurrent).toBe(2);
    expect(c.task.cleanup).toEqual({ keep_tasks: 3, keep_days: 7, remove_existing_dirs: false });
    expect(c.logging.max_size).toBe(10485760);
  });

  it("reads a config file's relative paths next to the file, never against the current directory", () => {
    const p = file('rel.yaml', 'work_dir: data/work\nserver:\n  ca_file: ../ca.pem\n');
    const c = resolveConfig([readConfigFile(p)]);
    expect(c.work_dir).toBe(path.join(dir, 'data', 'work'));
    expect(c.server.ca_file).toBe(path.join(path.dirname(dir), 'ca.pem'));
    // absolute ones stay as written; a flag is the user's own path: the agent resolves it against its cwd
    const abs = resolveConfig([readConfigFile(file('abs.yaml', 'work_dir: /srv/ats\n'))]);
    expect(abs.work_dir).toBe('/srv/ats');
    expect(resolveConfig([readConfigFile(p), flagLayer({ work_dir: 'mine' })]).work_dir).toBe('mine');
  });

  it('flags beat the environment, which beats the file', () => {
    const p = file('layers.yaml', 'server:\n  url: ws://file/ws\nlogging:\n  level: ERROR\nwork_dir: /from/file\n');
    const c = resolveConfig([
      readConfigFile(p),
      environmentLayer({ ATS_AGENT_SERVER_URL: 'ws://env/ws', ATS_AGENT_LOG_LEVEL: 'warning' }),
      flagLayer({ 'server.url': 'ws://flag/ws', 'logging.level': undefined }),
    ]);
    expect(c.server.url).toBe('ws://flag/ws');
    expect(c.logging.level).toBe('WARNING');
    expect(c.work_dir).toBe('/from/file');
  });

  it("hooks: the operator's pre_task/post_task commands and their timeout; a bad value names the key", () => {
    const c = resolveConfig([
      readConfigFile(
        file('hooks.yaml', 'hooks:\n  pre_task: ./prepare.sh\n  post_task: "rm -rf tmp"\n  timeout: 30\n'),
      ),
    ]);
    expect(c.hooks).toEqual({ pre_task: './prepare.sh', post_task: 'rm -rf tmp', timeout: 30 });
    expect(resolveConfig([]).hooks).toEqual({ timeout: 60 });
    expect(resolveConfig([]).task).toMatchObject({ max_queued: 10_000, dependency_timeout: 3600 });
    const bad = (name: string, text: string) => () => readConfigFile(file(name, text));
    expect(bad('h1.yaml', 'hooks:\n  timeout: 0\n')).toThrow(
      /h1\.yaml: hooks\.timeout: must be a number of seconds above 0/,
    );
    expect(bad('h2.yaml', 'hooks:\n  timeout: soon\n')).toThrow(/h2\.yaml: hooks\.timeout: .*expected number/);
    expect(bad('h3.yaml', 'hooks:\n  pre_task: "  "\n')).toThrow(/hooks\.pre_task: must be a command/);
    expect(bad('h4.yaml', 'hooks:\n  post_task: [a, b]\n')).toThrow(/hooks\.post_task: .*expected string/);
    expect(bad('h5.yaml', 'hooks:\n  pre: x\n')).toThrow(/unknown key hooks\.pre\b/);
    expect(bad('h6.yaml', 'task:\n  max_queued: 0\n')).toThrow(/task\.max_queued/);
  });

  it('names the file and the key of a bad key', () => {
    const p = file('typo.yaml', 'task:\n  cleanup:\n    keep_task: 3\n');
    expect(() => readConfigFile(p)).toThrow(/typo\.yaml.*task\.cleanup\.keep_task/);
  });

  it('names the file and the key of a bad type', () => {
    const p = file('type.yaml', 'monitor:\n  interval: "often"\n');
    expect(() => readConfigFile(p)).toThrow(/type\.yaml: monitor\.interval/);
  });

  it('explains broken YAML and a missing file with exit code 2', () => {
    const p = file('broken.yaml', 'server: [unclosed\n');
    expect(() => readConfigFile(p)).toThrow(/not valid YAML/);
    try {
      readConfigFile(path.join(dir, 'missing.yaml'));
      expect.unreachable();
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
      expect((err as Error).message).toMatch(/missing\.yaml.*ENOENT/);
    }
  });

  it('blames the command line for a bad flag value', () => {
    expect(() => resolveConfig([flagLayer({ 'server.url': 'http://x' })])).toThrow(/command line: server\.url/);
  });

  it('reads a token file fresh each time and spots one others can read', () => {
    const p = file('token', 'first\n');
    chmodSync(p, 0o600);
    expect(readToken({ kind: 'file', path: p })).toBe('first');
    expect(tokenFileIsExposed(p)).toBe(false);
    writeFileSync(p, 'second');
    chmodSync(p, 0o644);
    expect(readToken({ kind: 'file', path: p })).toBe('second');
    expect(tokenFileIsExposed(p)).toBe(true);
    expect(() => readToken({ kind: 'file', path: file('empty', '  \n') })).toThrow(/empty/);
  });
});
