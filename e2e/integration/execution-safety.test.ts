/**
 * What a task may see and do: secret values masked in its output (task_log, log file, result),
 * task.run_as when the agent is root, task.deny_patterns. These tests run as root (the dev machine
 * and CI are root); the run_as ones are skipped elsewhere.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { connectedAgent, spawnAgent, startPlatform, tempDir, TOKEN, waitForResult } from './harness.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A work dir that an unprivileged user can reach (mkdtemp makes 0700 directories). */
function openWorkDir(): string {
  const parent = tempDir('ats-open-');
  chmodSync(parent, 0o777);
  return path.join(parent, 'work');
}

describe('secret masking', () => {
  it('masks a secret env var split across two writes, on the platform, in the log file and in the result', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    // 'abcd' alone would be flushed as a partial line after 100 ms: the masker must hold it back
    sim.dispatch({
      task_id: 'mask-split',
      command: `printf 'abcd'; sleep 0.3; printf 'efgh\\n'; printf 'x%sx\\n' "$API_TOKEN" >&2`,
      env_vars: { API_TOKEN: 'abcdefgh' },
    });
    const result = await waitForResult(sim, 'mask-split');
    expect(result).toMatchObject({ status: 'success', output: '***\n', error: 'x***x\n' });
    expect(sim.output('mask-split', 'stdout')).toBe('***');
    expect(sim.output('mask-split', 'stderr')).toBe('x***x');
    const all = JSON.stringify(sim.frames.map((f) => f.frame));
    expect(all).not.toContain('abcdefgh');
    expect(all).not.toMatch(/"message":"abcd"/);
    const log = readFileSync(path.join(agent.workDir, 'logs', 'tasks', 'mask-split.log'), 'utf8');
    expect(log).toBe('***\nx***x\n');
  });

  it("masks the agent's own token under any name, every secret-looking name, but not short values or plain names", async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({
      task_id: 'mask-names',
      command: 'echo "$PLAIN_VALUE|$db_password|$Ssh_Key|$MY_CREDENTIALS|$X_PASSWD|$SHORT_SECRET|$BUILD_ID"',
      env_vars: {
        PLAIN_VALUE: TOKEN,
        db_password: 'hunter22',
        Ssh_Key: 'k3y-material',
        MY_CREDENTIALS: 'c-r-e-d',
        X_PASSWD: 'pa55wd',
        SHORT_SECRET: 'abc',
        BUILD_ID: 'build-1234',
      },
    });
    const result = await waitForResult(sim, 'mask-names');
    expect(result.output).toBe('***|***|***|***|***|abc|build-1234\n');
    expect(JSON.stringify(sim.frames.filter((f) => f.frame.type !== 'auth'))).not.toContain(TOKEN);
  });
});

describe('task.deny_patterns', () => {
  it('refuses a matching command with TASK_DENIED naming the pattern; nothing runs; others still run', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, {
      config: { task: { deny_patterns: ['\\brm\\s+-rf\\s+/', 'shut(down|off)'] } },
    });
    sim.dispatch({ task_id: 'denied', command: 'echo shutdown > marker' });
    const result = await waitForResult(sim, 'denied');
    expect(result).toMatchObject({ status: 'error', error_code: 'TASK_DENIED', exit_code: -1 });
    expect(result.error).toContain('"shut(down|off)"');
    expect(result.error).toContain('task.deny_patterns');
    expect(existsSync(path.join(agent.workDir, 'tasks', 'denied'))).toBe(false);
    sim.dispatch({ task_id: 'allowed', command: 'echo fine' });
    expect(await waitForResult(sim, 'allowed')).toMatchObject({ status: 'success', output: 'fine\n' });
  });

  it('a pattern that is not a regular expression is a config error naming the key (exit 2)', async () => {
    const agent = spawnAgent({ config: { task: { deny_patterns: ['ok', '(unclosed'] } } });
    const { code } = await agent.exited;
    expect(code).toBe(2);
    expect(agent.stderr()).toMatch(/task\.deny_patterns\.1: "\(unclosed" is not a regular expression RE2 accepts/);
  });
});

describe.skipIf(!isRoot)('task.run_as (the agent is root)', () => {
  it('runs tasks as nobody with its HOME/USER/LOGNAME, in a directory it owns', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { workDir: openWorkDir(), config: { task: { run_as: 'nobody' } } });
    expect(agent.stdout() + agent.stderr()).toMatch(/tasks run as nobody \(uid 65534/);
    expect(agent.stdout() + agent.stderr()).not.toMatch(/running as root: tasks run as root too/);
    sim.dispatch({
      task_id: 'as-nobody',
      command:
        'id -u; id -g; id -G; echo "$HOME $USER $LOGNAME"; touch made-here; cat /proc/1/environ >/dev/null 2>&1 || echo no-root-files',
    });
    const result = await waitForResult(sim, 'as-nobody');
    expect(result.status).toBe('success');
    const [uid, gid, groups, envLine, probe] = result.output.trim().split('\n');
    expect(uid).toBe(String(NOBODY));
    expect(gid).toBe(String(NOBODY));
    expect(groups).toBe(String(NOBODY)); // root's supplementary groups are dropped
    expect(envLine).toBe('/nonexistent nobody nobody');
    expect(probe).toBe('no-root-files');
    const dir = path.join(agent.workDir, 'tasks', 'as-nobody');
    expect(statSync(dir).uid).toBe(NOBODY);
    expect(statSync(path.join(dir, 'made-here')).uid).toBe(NOBODY);
  });

  it('as root without run_as it warns once and says how to set it', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const warnings =
      (agent.stdout() + agent.stderr()).match(/running as root: tasks run as root too; set task\.run_as/g) ?? [];
    expect(warnings).toHaveLength(1);
  });

  it('an unknown run_as user: every task is refused with a clear error', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { config: { task: { run_as: 'no-such-user-ats' } } });
    await agent.waitForOutput(/task\.run_as: no such user "no-such-user-ats"/);
    sim.dispatch({ task_id: 'no-user', command: 'echo should-not-run' });
    const result = await waitForResult(sim, 'no-user');
    expect(result).toMatchObject({ status: 'error', error_code: 'TASK_EXECUTION_FAILED' });
    expect(result.error).toMatch(/no such user/);
  });

  it('not root but run_as set: logs an error and refuses tasks', async () => {
    const sim = await startPlatform();
    const workDir = openWorkDir();
    // the config must be readable by nobody, so not in the harness's 0700 temp dir
    const cfgDir = path.join(path.dirname(workDir), 'cfg');
    mkdirSync(cfgDir, { mode: 0o755 });
    const cfg = path.join(cfgDir, 'agent.yaml');
    writeFileSync(cfg, stringify({ task: { run_as: 'nobody' } }), { mode: 0o644 });
    const agent = await connectedAgent(sim, { workDir, args: ['--config', cfg], uid: NOBODY, gid: NOBODY });
    await agent.waitForOutput(/task\.run_as is "nobody" but the agent does not run as root/);
    sim.dispatch({ task_id: 'not-root', command: 'echo should-not-run > marker' });
    const result = await waitForResult(sim, 'not-root');
    expect(result).toMatchObject({ status: 'error', error_code: 'TASK_EXECUTION_FAILED' });
    expect(result.error).toMatch(/does not run as root/);
    expect(existsSync(path.join(workDir, 'tasks', 'not-root'))).toBe(false);
  });
});
