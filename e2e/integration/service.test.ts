/**
 * `ats-agent service` as installed: the agent under test (the build, the npm-installed agent or the
 * single file: ATS_AGENT_CMD) started from /, its systemd unit checked by systemd-analyze verify, and
 * refused without the rights (as nobody). Nothing here installs a real service: every install is a
 * --dry-run, or one that must fail for want of rights.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_CWD, agentCommand, agentEnv } from '../lib/agent-env.js';
import { TOKEN, tempDir } from './harness.js';

const agent = agentCommand();
const isRoot = process.getuid?.() === 0;

function service(args: string[], opts: { asNobody?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const argv = [agent.file, ...agent.args, 'service', ...args];
  const [file, ...rest] = opts.asNobody ? ['runuser', '-u', 'nobody', '--', ...argv] : argv;
  return spawnSync(file!, rest, { cwd: AGENT_CWD, env: agentEnv(null, opts.env), encoding: 'utf8', timeout: 15_000 });
}

/** A token file and a config that nobody can stat (the harness's own temp dirs are 0700). */
function inputs() {
  const dir = tempDir('ats-service-it-');
  chmodSync(dir, 0o755);
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const config = path.join(dir, 'agent.yaml');
  writeFileSync(config, 'task:\n  kill_grace: 42\n');
  return { dir, tokenFile, config };
}

/** The dry run's one file: its path (the first line) and its content (up to the first `# run:` line). */
function dryRunFile(stdout: string) {
  const header = stdout.slice(0, stdout.indexOf('\n'));
  expect(header).toMatch(/^# \//);
  const runsAt = stdout.indexOf('\n# run: ');
  return {
    path: header.slice(2),
    content: stdout.slice(header.length + 1, runsAt + 1),
    runs: stdout
      .slice(runsAt + 1)
      .trimEnd()
      .split('\n'),
  };
}

function verify(unitFile: string, user: boolean) {
  const runtime = tempDir('ats-xdg-');
  return spawnSync('systemd-analyze', [...(user ? ['--user'] : []), 'verify', unitFile], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
    timeout: 30_000,
  });
}

/**
 * What the service must run: the build as node + cli.js; an installed script (npm's `ats-agent`, a
 * `#!/usr/bin/env node` file) as the node that runs it + the script's real path; the single file alone.
 */
function runsAs(): string[] {
  if (agent.args.length) return [agent.file, ...agent.args];
  if (!readFileSync(agent.file).subarray(0, 2).equals(Buffer.from('#!'))) return [agent.file];
  return [whichNode(), realpathSync(agent.file)];
}

function whichNode(): string {
  const found = spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8', env: agentEnv(null) });
  return realpathSync(found.stdout.trim());
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('ats-agent service (the installed agent, from /)', () => {
  it.runIf(hasSystemdAnalyze)(
    'install --system --dry-run: a unit for this same agent that passes systemd-analyze verify, the token in no command line',
    () => {
      const { dir, tokenFile, config } = inputs();
      const r = service([
        'install',
        '--system',
        '--run-as',
        'daemon',
        '--config',
        config,
        '--token-file',
        tokenFile,
        '--dry-run',
      ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const file = dryRunFile(r.stdout);
      expect(file.path).toBe('/etc/systemd/system/ats-agent.service');
      expect(file.runs).toEqual(['# run: systemctl daemon-reload', '# run: systemctl enable --now ats-agent.service']);
      // the agent that ran `service install` is the one the service runs: the single file alone, or node and cli.js
      const execStart = file.content.split('\n').find((l) => l.startsWith('ExecStart='));
      expect(execStart).toBe(`ExecStart=${[...runsAs(), '--config', config].join(' ')}`);
      expect(r.stdout).not.toContain(TOKEN);
      expect(execStart).not.toMatch(/--token/);
      expect(file.content).toContain(`LoadCredential=token:${tokenFile}`);
      expect(file.content).toContain('TimeoutStopSec=62s');
      // verify as systemd would load it from its own directory name; the executable it names exists
      mkdirSync(path.join(dir, 'unit'));
      const unitFile = path.join(dir, 'unit', 'ats-agent.service');
      writeFileSync(unitFile, file.content);
      const v = verify(unitFile, false);
      expect(v.stdout + v.stderr).toBe('');
      expect(v.status).toBe(0);
      // and systemd-analyze does fail on a unit it cannot run: the check above can fail
      writeFileSync(unitFile, file.content.replace(execStart!, 'ExecStart=/nonexistent/ats-agent'));
      expect(verify(unitFile, false).status).not.toBe(0);
    },
  );

  it.runIf(hasSystemdAnalyze)('install --user --dry-run: a user unit that passes systemd-analyze --user verify', () => {
    const { dir, tokenFile } = inputs();
    const r = service(['install', '--user', '--token-file', tokenFile, '--dry-run'], {
      env: { XDG_CONFIG_HOME: path.join(dir, 'config') },
    });
    expect(r.status).toBe(0);
    const file = dryRunFile(r.stdout);
    expect(file.path).toBe(path.join(dir, 'config', 'systemd', 'user', 'ats-agent.service'));
    expect(existsSync(path.join(dir, 'config'))).toBe(false);
    expect(file.content).toContain(`Environment=ATS_AGENT_TOKEN_FILE=${tokenFile}`);
    const unitFile = path.join(dir, 'ats-agent.service');
    writeFileSync(unitFile, file.content);
    const v = verify(unitFile, true);
    expect(v.stdout + v.stderr).toBe('');
    expect(v.status).toBe(0);
  });

  it.runIf(isRoot)('as nobody, install --system is refused with a clear error (exit 2) and writes nothing', () => {
    const { tokenFile } = inputs();
    const unit = '/etc/systemd/system/ats-agent.service';
    const before = existsSync(unit);
    const r = service(['install', '--system', '--run-as', 'nobody', '--token-file', tokenFile], { asNobody: true });
    expect(r.stderr).toMatch(/cannot write \/etc\/systemd\/system\/ats-agent\.service: permission denied; .*sudo/);
    expect(r.status).toBe(2);
    expect(existsSync(unit)).toBe(before);
  });

  it.each([
    [['install', '--token', TOKEN], /unknown option '--token'/],
    [['install', '--system', '--user'], /cannot be used with/],
    [['install', '--dry-run'], /needs --token-file/],
    [['restart'], /unknown command 'restart'/],
    [[], /Usage: ats-agent service/],
  ])('service %j exits 2 naming the problem, and never echoes a token', (args, message) => {
    const r = service(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });
});
