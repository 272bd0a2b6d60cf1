/**
 * Hostile tasks (issue 11), against the built agent started from /: a task frame aimed at the
 * agent's own files is refused and touches nothing; with task.run_as the task's user cannot write the
 * agent's files; cleanup never pulls a directory from under a task nor removes one it did not create.
 * Run as root here (the dev machine and CI are): the agent runs as root with run_as nobody, and
 * unprivileged as nobody itself.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { connectedAgent, listFiles, sleep, spawnAgent, startPlatform, tempDir, waitForResult } from './harness.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A work dir and a config file that nobody can reach (mkdtemp makes 0700 directories). */
function openSetup(config: Record<string, unknown>, uid?: number): { workDir: string; args: string[] } {
  const parent = tempDir('ats-hostile-');
  chmodSync(parent, 0o755);
  const cfg = path.join(parent, 'agent.yaml');
  writeFileSync(cfg, stringify(config), { mode: 0o644 });
  const workDir = path.join(parent, 'work');
  mkdirSync(workDir, { mode: 0o755 });
  if (uid !== undefined) chownSync(workDir, uid, uid);
  return { workDir, args: ['--config', cfg] };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const AIMED_AT_THE_AGENT = [
  ['.', /is the work root .* itself/],
  ['state', /inside the agent's own .*\/state/],
  ['state/tasks', /inside the agent's own .*\/state/],
  ['logs', /inside the agent's own .*\/logs/],
  ['logs/tasks', /inside the agent's own .*\/logs/],
  ['cache', /inside the agent's own .*\/cache/],
  ['tasks', /is the tasks folder .* itself/],
  ['agent-id', /inside the agent's own .*\/agent-id/],
  ['tasks/to-state', /leads through a symlink to .*\/state/],
  ['tasks/to-root', /leads through a symlink to .*work, which is the work root/],
  ['tasks/to-root/state/tasks', /leads through a symlink to .*work\/state\/tasks, which is inside the agent's own/],
] as const;

describe.each([
  { who: 'root, tasks as nobody (task.run_as)', uid: undefined, config: { task: { run_as: 'nobody' } } },
  { who: 'nobody', uid: NOBODY, config: {} },
])('work_dir aimed at the agent itself (agent as $who)', ({ uid, config }) => {
  it.skipIf(!isRoot)('is refused with INVALID_TASK naming the rule: nothing runs, nothing is created', async () => {
    const sim = await startPlatform();
    const { workDir, args } = openSetup(config, uid);
    const agent = await connectedAgent(sim, { workDir, args, uid, gid: uid });
    symlinkSync(path.join(workDir, 'state'), path.join(workDir, 'tasks', 'to-state'));
    symlinkSync(workDir, path.join(workDir, 'tasks', 'to-root'));
    // a task that runs first, so that state/ and agent-id surely exist
    sim.dispatch({ task_id: 'first', command: 'true' });
    await waitForResult(sim, 'first');
    const before = listFiles(workDir).sort();
    const modes = ['.', 'state', 'logs'].map((d) => statSync(path.join(workDir, d)));
    const outcomes: string[] = [];
    for (const [i, [asked]] of AIMED_AT_THE_AGENT.entries()) {
      sim.dispatch({ task_id: `aimed-${i}`, command: 'echo pwned > pwned-marker; rm -rf ./state', work_dir: asked });
      const r = await waitForResult(sim, `aimed-${i}`);
      outcomes.push(`${asked}: ${r.status} ${r.error_code ?? ''} ${r.error.slice(0, 400)}`);
    }
    console.log(`work_dir outcomes:\n${outcomes.join('\n')}`);
    for (const [i, [asked, rule]] of AIMED_AT_THE_AGENT.entries()) {
      expect(outcomes[i], asked).toMatch(new RegExp(`^${escape(asked)}: error INVALID_TASK .*${rule.source}`));
    }
    // the spec's own example: a work_dir directly under the work root still works
    sim.dispatch({ task_id: 'spec-example', command: 'pwd', work_dir: path.join(workDir, 'task-uuid') });
    expect(await waitForResult(sim, 'spec-example')).toMatchObject({
      status: 'success',
      output: `${path.join(workDir, 'task-uuid')}\n`,
    });
    await agent.stop();
    const created = listFiles(workDir).filter((f) => !before.includes(f));
    expect(created.filter((f) => /pwned/.test(f))).toEqual([]);
    expect(created.filter((f) => !/^(logs\/|state\/|tasks\/first|task-uuid)/.test(f))).toEqual([]);
    for (const [i, d] of ['.', 'state', 'logs'].entries()) {
      const now = statSync(path.join(workDir, d));
      expect([now.uid, now.mode], d).toEqual([modes[i]!.uid, modes[i]!.mode]);
    }
  });
});

describe.skipIf(!isRoot)('task.run_as: the agent files are not the task user’s', () => {
  it('a task as nobody cannot forge a journal entry, write a log or move state/ away', async () => {
    const sim = await startPlatform();
    const { workDir, args } = openSetup({ task: { run_as: 'nobody' } });
    await connectedAgent(sim, { workDir, args });
    sim.dispatch({
      task_id: 'forger',
      command: [
        'W="$ATS_WORK_DIR"',
        `echo '{"task_id":"victim","phase":"running","command":"x","received_at":"2020-01-01","pid":1}' > "$W/state/tasks/victim.json" && echo wrote-journal`,
        'touch "$W/logs/planted" && echo wrote-logs',
        'mv "$W/state" "$W/moved" && echo moved-state',
        'ln -s "$W/state" "$W/tasks/planted" && echo planted-link',
        'echo done',
      ].join('; '),
    });
    const result = await waitForResult(sim, 'forger');
    expect(result.output).toBe('done\n');
    expect(existsSync(path.join(workDir, 'state', 'tasks', 'victim.json'))).toBe(false);
    expect(existsSync(path.join(workDir, 'state', 'tasks'))).toBe(true);
    expect(statSync(path.join(workDir, 'state')).mode & 0o777).toBe(0o700);
    for (const d of ['.', 'tasks', 'logs', 'logs/tasks', 'cache', 'state'])
      expect(statSync(path.join(workDir, d)).mode & 0o022, d).toBe(0);
    expect(statSync(path.join(workDir, 'tasks', 'forger')).uid).toBe(NOBODY);
  });
});

describe("the agent's config and token files, inside a task.allowed_work_dirs root", () => {
  it('a work_dir holding either is refused with INVALID_TASK; a sibling directory runs', async () => {
    const sim = await startPlatform({ tokens: ['tok-allowed-3c9e'] });
    const shared = tempDir('ats-allowed-');
    const etc = path.join(shared, 'agent-etc');
    mkdirSync(etc);
    const tokenFile = path.join(etc, 'token');
    writeFileSync(tokenFile, 'tok-allowed-3c9e\n', { mode: 0o600 });
    const cfg = path.join(shared, 'conf', 'agent.yaml');
    mkdirSync(path.dirname(cfg));
    writeFileSync(cfg, stringify({ task: { allowed_work_dirs: [shared] } }));
    await connectedAgent(sim, { token: null, args: ['--config', cfg, '--token-file', tokenFile] });
    sim.dispatch({ task_id: 'at-token', command: 'git clean -fdx || rm -rf ./*', work_dir: etc });
    sim.dispatch({ task_id: 'at-config', command: 'rm -f agent.yaml', work_dir: path.dirname(cfg) });
    sim.dispatch({ task_id: 'beside', command: 'pwd', work_dir: path.join(shared, 'checkout') });
    for (const [id, file] of [
      ['at-token', tokenFile],
      ['at-config', cfg],
    ]) {
      const r = await waitForResult(sim, id!);
      expect(r).toMatchObject({ status: 'error', error_code: 'INVALID_TASK' });
      expect(r.error).toContain(`contains the agent's own ${file}`);
    }
    expect(await waitForResult(sim, 'beside')).toMatchObject({
      status: 'success',
      output: `${path.join(shared, 'checkout')}\n`,
    });
    expect(readFileSync(tokenFile, 'utf8')).toBe('tok-allowed-3c9e\n');
    expect(existsSync(cfg)).toBe(true);
  });
});

describe('cleanup removes only what it owns and nothing in use', () => {
  it('a running task keeps tasks/shared; a pre-existing platform checkout is never removed', async () => {
    const sim = await startPlatform();
    const workDir = path.join(tempDir(), 'work');
    const checkout = path.join(workDir, 'tasks', 'checkout');
    mkdirSync(checkout, { recursive: true });
    writeFileSync(path.join(checkout, 'repo.txt'), 'platform data');
    await connectedAgent(sim, {
      workDir,
      config: { task: { max_concurrent: 4, cleanup: { keep_tasks: 1, keep_days: 0 } } },
    });
    sim.dispatch({ task_id: 'in-checkout', command: 'cat repo.txt', work_dir: 'tasks/checkout' });
    expect((await waitForResult(sim, 'in-checkout')).output).toBe('platform data');
    sim.dispatch({
      task_id: 'long',
      command: 'touch mine; sleep 4; ls',
      work_dir: 'tasks/shared',
    });
    await sleep(500);
    // finished tasks make the cleanup run (1 s after the last) while `long` works in tasks/shared
    for (let i = 0; i < 3; i++) {
      sim.dispatch({ task_id: `quick-${i}`, command: 'true' });
      await waitForResult(sim, `quick-${i}`);
    }
    await sleep(1_800);
    expect(readdirSync(path.join(workDir, 'tasks'))).toContain('shared');
    const long = await waitForResult(sim, 'long', 20_000);
    expect(long).toMatchObject({ status: 'success', output: 'mine\n' });
    // cleanup after `long`: the agent created tasks/shared for it, so it goes; the checkout stays
    sim.dispatch({ task_id: 'last', command: 'true' });
    await waitForResult(sim, 'last');
    await sim.waitFor(
      () => !existsSync(path.join(workDir, 'tasks', 'shared')),
      10_000,
      'tasks/shared to be cleaned up once unused',
    );
    expect(existsSync(path.join(checkout, 'repo.txt'))).toBe(true);
  });
});

describe('task.deny_patterns in linear time', () => {
  it('(a+)+$ against long commands: heartbeats stay on time, matches are denied, an unbounded check is refused', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim, { config: { monitor: { interval: 1 }, task: { deny_patterns: ['(a+)+$'] } } });
    const from = sim.heartbeats.length;
    const startedAt = Date.now();
    // JavaScript's RegExp backtracks exponentially on each of these; RE2 does not
    sim.dispatch({ task_id: 'long-allowed', command: `echo ${'a'.repeat(60_000)}! | wc -c` });
    sim.dispatch({ task_id: 'short-denied', command: `echo ${'a'.repeat(40)}` });
    sim.dispatch({ task_id: 'too-long', command: `echo ${'a'.repeat(200_000)}!` });
    expect(await waitForResult(sim, 'long-allowed')).toMatchObject({ status: 'success', output: '60002\n' });
    expect(await waitForResult(sim, 'short-denied')).toMatchObject({ status: 'error', error_code: 'TASK_DENIED' });
    const tooLong = await waitForResult(sim, 'too-long');
    expect(tooLong).toMatchObject({ status: 'error', error_code: 'TASK_DENIED' });
    expect(tooLong.error).toMatch(/too long to check against task.deny_patterns in bounded time/);
    await sim.waitFor(() => Date.now() - startedAt > 4_000, 10_000, 'four more seconds of heartbeats');
    const during = sim.heartbeats.slice(Math.max(0, from - 1));
    const gaps = during.slice(1).map((h, i) => h.at - during[i]!.at);
    console.log(`deny patterns: heartbeat gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms (interval 1000 ms)`);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (const gap of gaps) expect(gap, `heartbeat gap ${gap} ms`).toBeLessThan(1_800);
  });

  it('a pattern RE2 cannot compile (a backreference) is a config error naming it (exit 2)', async () => {
    const agent = spawnAgent({ config: { task: { deny_patterns: ['ok', '(a)\\1'] } } });
    expect((await agent.exited).code).toBe(2);
    expect(agent.stderr()).toMatch(/task\.deny_patterns\.1: "\(a\)\\\\1" is not a regular expression RE2 accepts/);
  });
});

describe('masking: encoded forms and short secrets', () => {
  it('a task printing its secret base64- (three alignments), URL- or JSON-encoded leaks nothing', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const secret = 'S3cr3t/Value+With=Chars&More';
    sim.dispatch({
      task_id: 'encoded',
      env_vars: { DEPLOY_TOKEN: secret },
      command: [
        'printf %s "$DEPLOY_TOKEN" | base64 -w0; echo',
        'printf x%s "$DEPLOY_TOKEN" | base64 -w0; echo',
        'printf xy%s "$DEPLOY_TOKEN" | base64 -w0; echo',
        'printf "user:%s" "$DEPLOY_TOKEN" | base64 -w0 >&2; echo >&2',
        `python3 -c 'import os,urllib.parse,json; t=os.environ["DEPLOY_TOKEN"]; print(urllib.parse.quote(t, safe="")); print(json.dumps({"t": t}))'`,
      ].join('; '),
    });
    const result = await waitForResult(sim, 'encoded');
    expect(result.status).toBe('success');
    const everything = `${JSON.stringify(sim.frames.map((f) => f.frame))}\n${readFileSync(path.join(agent.workDir, 'logs', 'tasks', 'encoded.log'), 'utf8')}`;
    const leaks = [
      secret,
      encodeURIComponent(secret),
      ...['', 'x', 'xy', 'user:'].map((p) =>
        Buffer.from(p + secret)
          .toString('base64')
          .slice(4, -4),
      ),
    ].filter((form) => everything.includes(form));
    expect(leaks).toEqual([]);
    for (const line of result.output.trim().split('\n').slice(0, 3))
      expect(Buffer.from(line, 'base64').toString('latin1')).not.toContain('Value+With');
  });

  it('--token T: "ATS Agent" stays readable, the token is masked as a word, and the agent warns once', async () => {
    const sim = await startPlatform({ tokens: ['T'] });
    const agent = await connectedAgent(sim, { args: ['--log-level', 'DEBUG'], token: 'T' });
    sim.dropConnections();
    await sim.waitFor(() => sim.authCount >= 2, 15_000, 'a reconnect (reads the token again)');
    await agent.stop();
    const log = readFileSync(path.join(agent.workDir, 'logs', 'agent.log'), 'utf8');
    expect(log).toContain('ATS Agent');
    expect(log).not.toMatch(/A\*\*\*S/);
    expect(log).toMatch(/token=\*\*\*/);
    expect(log.match(/too short to mask safely/g)).toHaveLength(1);
  });
});

/**
 * The stranger: it writes the pid of every SIGTERM's sender to a file and lives on, so the test can
 * tell the agent's signals from those of other processes on a busy machine (parallel test files).
 */
const RECORD_SENDERS = `
import signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
while True:
    info = signal.sigwaitinfo({signal.SIGTERM})
    with open(sys.argv[1], "a") as out:
        out.write(f"{info.si_pid}\\n")
`;
const hasPython = spawnSync('python3', ['--version']).status === 0;

describe.skipIf(!isRoot || process.platform !== 'linux' || !hasPython)(
  'a reaped task pid taken by another process',
  () => {
    /** A detached stranger (its own group) started with exactly `pid`, via ns_last_pid; null if another fork won. */
    async function strangerWithPid(pid: number, sendersFile: string): Promise<ChildProcess | null> {
      for (let attempt = 0; attempt < 50 && !existsSync(`/proc/${pid}`); attempt++) {
        writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
        const child = spawn('python3', ['-c', RECORD_SENDERS, sendersFile], { detached: true, stdio: 'ignore' });
        if (child.pid === pid) return child;
        child.kill('SIGKILL');
        await sleep(2);
      }
      return null;
    }

    // the stranger may start in the root's own clock tick (start times are 10 ms coarse): the agent
    // knows it reaped the root, so the start time alone must not make the stranger the root
    it('after a normal exit the agent never signals the process that now holds the root pid', async () => {
      const sim = await startPlatform();
      const agent = await connectedAgent(sim);
      const sendersFile = path.join(tempDir(), 'senders');
      // the root exits at once; a helper of the task, out of its group, keeps the pipes for a moment, so
      // that the agent's last stopTree(root pid) comes after the root was reaped. On a busy machine
      // another fork may take the pid first: then the round is spent and another task tries again.
      let stranger: ChildProcess | null = null;
      let taskId = '';
      for (let round = 0; round < 4 && !stranger; round++) {
        if (taskId) await waitForResult(sim, taskId);
        taskId = `reaped-${round}`;
        sim.dispatch({ task_id: taskId, command: 'echo root=$$; setsid sleep 1.5 & exit 0' });
        await sim.waitFor(() => /root=(\d+)/.exec(sim.output(taskId)), 5_000, 'the root pid');
        const rootPid = Number(/root=(\d+)/.exec(sim.output(taskId))![1]);
        await sim.waitFor(() => !existsSync(`/proc/${rootPid}`), 2_000, 'the root to be reaped');
        stranger = await strangerWithPid(rootPid, sendersFile);
      }
      expect(stranger, 'could not start a process with a reaped pid in 4 rounds').not.toBeNull();
      const exited = new Promise<NodeJS.Signals | null>((resolve) => stranger!.once('exit', (_c, s) => resolve(s)));
      try {
        expect(await waitForResult(sim, taskId)).toMatchObject({ status: 'success' });
        const signal = await Promise.race([exited, sleep(500).then(() => 'alive' as const)]);
        const senders = existsSync(sendersFile) ? readFileSync(sendersFile, 'utf8').split('\n').filter(Boolean) : [];
        const who = `SIGTERM senders: ${senders.join(', ') || 'none'}; the agent is ${agent.child.pid}`;
        expect(senders, who).not.toContain(String(agent.child.pid));
        expect(signal, `the stranger was killed (${who})`).toBe('alive');
      } finally {
        stranger!.kill('SIGKILL');
      }
    });
  },
);
