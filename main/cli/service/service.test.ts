/**
 * `ats-agent service`: each platform's file from the same request, and the command's rules (what it
 * refuses, what --dry-run prints, how it runs the service manager). The service manager is a stand-in
 * script on PATH here: a test never installs a real service. e2e/integration/service.test.ts runs the
 * built agent and checks the unit with systemd-analyze.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import plist from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliExit } from '../options.js';
import { runServiceCommand } from './command.js';
import { launchd } from './launchd.js';
import { stopTimeoutSeconds, type ServiceRequest } from './plan.js';
import { systemd } from './systemd.js';
import { windows } from './windows.js';

const TOKEN = 'tok-NEVER-IN-A-FILE-5d1e';

const request = (over: Partial<ServiceRequest> = {}): ServiceRequest => ({
  scope: 'system',
  user: { name: 'ats', uid: 990, home: '/home/ats' },
  command: ['/opt/ats agent/ats-agent-linux-x64'],
  env: {},
  configFile: '/etc/ats-agent/agent & co.yaml',
  tokenFile: '/etc/ats-agent/token',
  killGrace: 10,
  agentVersion: '9.8.7',
  ...over,
});

const keys = (unit: string) =>
  unit
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
const value = (unit: string, key: string) => keys(unit).find(([k]) => k === key)?.[1];

describe('systemd unit', () => {
  it('restarts on failure but not after exits 2, 3 and 5, and stops with SIGTERM for longer than kill_grace', () => {
    for (const killGrace of [0, 10, 95.5]) {
      const unit = systemd.install(request({ killGrace }), {}).files[0]!.content;
      expect(value(unit, 'Restart')).toBe('on-failure');
      expect(value(unit, 'RestartPreventExitStatus')).toBe('2 3 5');
      expect(value(unit, 'KillSignal')).toBe('SIGTERM');
      expect(value(unit, 'KillMode')).toBe('mixed');
      const timeout = Number(value(unit, 'TimeoutStopSec')!.replace(/s$/, ''));
      expect(timeout).toBeGreaterThan(killGrace);
      expect(timeout).toBe(stopTimeoutSeconds(killGrace));
    }
  });

  it('--system: /etc/systemd/system, User=, the token as a credential, hardening', () => {
    const plan = systemd.install(request(), {});
    const unit = plan.files[0]!.content;
    expect(plan.files[0]!.path).toBe('/etc/systemd/system/ats-agent.service');
    expect(value(unit, 'User')).toBe('ats');
    expect(value(unit, 'LoadCredential')).toBe('token:/etc/ats-agent/token');
    expect(value(unit, 'Environment')).toBe('ATS_AGENT_TOKEN_FILE=%d/token');
    for (const k of ['NoNewPrivileges', 'PrivateTmp', 'ProtectKernelTunables']) expect(value(unit, k)).toBe('yes');
    expect(value(unit, 'ProtectSystem')).toBe('full');
    // these would break tasks (read-only home, no JIT): see the unit's own comments
    for (const k of ['ProtectHome', 'MemoryDenyWriteExecute', 'PrivateDevices']) expect(value(unit, k)).toBeUndefined();
    expect(value(unit, 'WantedBy')).toBe('multi-user.target');
    expect(plan.commands).toEqual([
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'ats-agent.service'],
    ]);
  });

  it('quotes ExecStart words and escapes % and $ (systemd would expand them)', () => {
    const unit = systemd.install(request({ command: ['/opt/a b/node', '/opt/100%/$HOME/cli.js'] }), {}).files[0]!
      .content;
    expect(value(unit, 'ExecStart')).toBe(
      '"/opt/a b/node" "/opt/100%%/$$HOME/cli.js" --config "/etc/ats-agent/agent & co.yaml"',
    );
  });

  it('--user: ~/.config/systemd/user (or $XDG_CONFIG_HOME), no User=, the token file by path, lingering', () => {
    const req = request({ scope: 'user', user: { name: 'dev', uid: 1000, home: '/home/dev' }, configFile: null });
    const plan = systemd.install(req, {});
    const unit = plan.files[0]!.content;
    expect(plan.files[0]!.path).toBe('/home/dev/.config/systemd/user/ats-agent.service');
    expect(systemd.install(req, { XDG_CONFIG_HOME: '/x' }).files[0]!.path).toBe('/x/systemd/user/ats-agent.service');
    expect(value(unit, 'User')).toBeUndefined();
    expect(value(unit, 'LoadCredential')).toBeUndefined();
    expect(value(unit, 'Environment')).toBe('ATS_AGENT_TOKEN_FILE=/etc/ats-agent/token');
    expect(value(unit, 'ExecStart')).toBe('"/opt/ats agent/ats-agent-linux-x64"');
    expect(value(unit, 'WantedBy')).toBe('default.target');
    expect(plan.commands.map((c) => c.join(' '))).toEqual([
      'systemctl --user daemon-reload',
      'systemctl --user enable --now ats-agent.service',
      'loginctl enable-linger dev',
    ]);
  });
});

describe('launchd plist', () => {
  it('--system: a LaunchDaemon with UserName, KeepAlive, log paths; valid plist XML that reads back', () => {
    const plan = launchd.install(request(), {});
    expect(plan.files[0]!.path).toBe('/Library/LaunchDaemons/com.ats.ats-agent.plist');
    const xml = plan.files[0]!.content;
    expect(() => new DOMParser({ onError: strict }).parseFromString(xml, 'text/xml')).not.toThrow();
    const job = plist.parse(xml) as Record<string, unknown>;
    expect(job).toEqual({
      Label: 'com.ats.ats-agent',
      ProgramArguments: ['/opt/ats agent/ats-agent-linux-x64', '--config', '/etc/ats-agent/agent & co.yaml'],
      UserName: 'ats',
      EnvironmentVariables: { ATS_AGENT_TOKEN_FILE: '/etc/ats-agent/token' },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 30,
      ExitTimeOut: stopTimeoutSeconds(10),
      WorkingDirectory: '/',
      StandardOutPath: '/Library/Logs/ats-agent.log',
      StandardErrorPath: '/Library/Logs/ats-agent.log',
    });
    expect(plan.commands).toEqual([['launchctl', 'bootstrap', 'system', plan.files[0]!.path]]);
  });

  it('--user: a LaunchAgent in ~/Library/LaunchAgents, bootstrapped into gui/<uid>, without UserName', () => {
    const plan = launchd.install(request({ scope: 'user', user: { name: 'dev', uid: 501, home: '/Users/dev' } }), {});
    expect(plan.files[0]!.path).toBe('/Users/dev/Library/LaunchAgents/com.ats.ats-agent.plist');
    const job = plist.parse(plan.files[0]!.content) as Record<string, unknown>;
    expect(job.UserName).toBeUndefined();
    expect(job.StandardErrorPath).toBe('/Users/dev/Library/Logs/ats-agent.log');
    expect(plan.commands).toEqual([['launchctl', 'bootstrap', 'gui/501', plan.files[0]!.path]]);
  });
});

describe('Windows (WinSW)', () => {
  it('a well-formed WinSW config: restarts on failure, stops after longer than kill_grace, token by file', () => {
    const req = request({
      command: ['C:\\Program Files\\ats\\ats-agent-win-x64.exe'],
      configFile: 'C:\\ats\\agent "1".yaml',
      tokenFile: 'C:\\ats\\token',
      user: { name: 'CORP\\ats', uid: -1, home: '' },
    });
    const plan = windows.install(req, { ProgramData: 'D:\\Data' });
    expect(plan.files[0]!.path).toBe('D:\\Data\\ats-agent\\ats-agent-service.xml');
    const doc = new DOMParser({ onError: strict }).parseFromString(plan.files[0]!.content, 'text/xml');
    const text = (tag: string) => doc.getElementsByTagName(tag)[0]?.textContent;
    expect(text('executable')).toBe('C:\\Program Files\\ats\\ats-agent-win-x64.exe');
    expect(text('arguments')).toBe('--config "C:\\ats\\agent \\"1\\".yaml"');
    expect(text('stoptimeout')).toBe(`${stopTimeoutSeconds(10)} sec`);
    expect(text('username')).toBe('CORP\\ats');
    const env = doc.getElementsByTagName('env')[0]!;
    expect([env.getAttribute('name'), env.getAttribute('value')]).toEqual(['ATS_AGENT_TOKEN_FILE', 'C:\\ats\\token']);
    const failures = Array.from(doc.getElementsByTagName('onfailure')).map((e) => e.getAttribute('action'));
    expect(failures).toEqual(['restart', 'restart', 'restart', 'none']);
    expect(plan.commands.map((c) => c[0])).toEqual(['winsw', 'sc.exe', 'winsw']);
  });
});

/** xmldom's report of anything not well-formed (it would otherwise recover and go on) */
function strict(level: string, message: string): void {
  if (level !== 'warning') throw new Error(`${level}: ${message}`);
}

it('the XML check fails on XML that is not well-formed (an unescaped "--" in a comment, a wrong end tag)', () => {
  for (const bad of ['<plist><!-- remove with --system --></plist>', '<plist><dict></plist>'])
    expect(() => new DOMParser({ onError: strict }).parseFromString(bad, 'text/xml')).toThrow();
});

describe('ats-agent service (the command)', () => {
  let dir: string;
  let tokenFile: string;
  let out: string;
  let err: string;
  let env: NodeJS.ProcessEnv;
  let calls: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ats-service-'));
    tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    out = '';
    err = '';
    // stand-ins for the service managers: they record their arguments; `fail` makes them exit 1
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    calls = path.join(dir, 'calls');
    for (const tool of ['systemctl', 'loginctl']) {
      writeFileSync(
        path.join(bin, tool),
        `#!/bin/sh\necho "${tool} $*" >> "${calls}"\n[ -e "${dir}/fail" ] && exit 1\nexit 0\n`,
      );
      chmodSync(path.join(bin, tool), 0o755);
    }
    env = { PATH: `${bin}:/usr/bin:/bin`, XDG_CONFIG_HOME: path.join(dir, 'config') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const service = async (...argv: string[]): Promise<number> => {
    try {
      return await runServiceCommand(argv, { out: (s) => (out += s), err: (s) => (err += s), env });
    } catch (e) {
      if (e instanceof CliExit) return e.exitCode;
      if (e instanceof Error && 'exitCode' in e) {
        err += e.message;
        return e.exitCode as number;
      }
      throw e;
    }
  };
  const unitPath = () => path.join(dir, 'config', 'systemd', 'user', 'ats-agent.service');

  it.each(['linux', 'darwin', 'win32'])(
    '--dry-run --platform %s prints "# <path>", the exact content, then "# run:" lines; writes and runs nothing',
    async (platform) => {
      const args = platform === 'win32' ? ['--system'] : ['--user'];
      expect(await service('install', ...args, '--token-file', tokenFile, '--dry-run', '--platform', platform)).toBe(0);
      const lines = out.split('\n');
      expect(lines[0]).toMatch(/^# (\/|[A-Z]:\\).*(ats-agent\.service|\.plist|\.xml)$/);
      const runs = lines.filter((l) => l.startsWith('# run: '));
      expect(runs.length).toBeGreaterThan(0);
      // the file's content is everything between its path line and the first "# run:" line
      const content = out.slice(lines[0]!.length + 1, out.indexOf('# run: '));
      expect(content.length).toBeGreaterThan(100);
      if (platform === 'darwin') expect(plist.parse(content)).toHaveProperty('KeepAlive');
      expect(out).not.toContain(TOKEN);
      expect(existsSync(path.join(dir, 'config'))).toBe(false);
      expect(existsSync(calls)).toBe(false);
    },
  );

  it('install --user writes the unit and runs systemctl --user', async () => {
    expect(await service('install', '--token-file', tokenFile)).toBe(0);
    const unit = readFileSync(unitPath(), 'utf8');
    expect(unit).toContain(`Environment=ATS_AGENT_TOKEN_FILE=${tokenFile}`);
    expect(unit).not.toContain(TOKEN);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      'systemctl --user daemon-reload',
      'systemctl --user enable --now ats-agent.service',
      `loginctl enable-linger ${os.userInfo().username}`,
    ]);
  });

  it('when systemctl fails: exit 1, the unit stays written, and it says what is left to run', async () => {
    writeFileSync(path.join(dir, 'fail'), '');
    expect(await service('install', '--token-file', tokenFile)).toBe(1);
    expect(existsSync(unitPath())).toBe(true);
    expect(err).toMatch(/`systemctl --user daemon-reload` failed: it exited 1/);
    expect(err).toContain('systemctl --user enable --now ats-agent.service');
  });

  it('uninstall stops the service, removes the unit and reloads; status says when it is not installed', async () => {
    expect(await service('install', '--token-file', tokenFile)).toBe(0);
    expect(await service('status')).toBe(0);
    expect(out).toContain(`installed: ${unitPath()}`);
    expect(await service('uninstall')).toBe(0);
    expect(existsSync(unitPath())).toBe(false);
    expect(readFileSync(calls, 'utf8')).toContain('systemctl --user disable --now ats-agent.service');
    out = '';
    expect(await service('status')).toBe(3);
    expect(out).toMatch(/^not installed: no /);
  });

  it('uninstall and status find a --system service without --run-as', async () => {
    expect(await service('status', '--system', '--dry-run')).toBe(0);
    expect(out).toBe('# run: systemctl status --no-pager ats-agent.service\n');
    out = '';
    expect(await service('uninstall', '--system', '--dry-run')).toBe(0);
    expect(out.split('\n')).toEqual([
      '# run: systemctl disable --now ats-agent.service',
      '# remove: /etc/systemd/system/ats-agent.service',
      '# run: systemctl daemon-reload',
      '',
    ]);
  });

  it('reads task.kill_grace from --config for the stop timeout, and refuses a config the agent would refuse', async () => {
    const config = path.join(dir, 'agent.yaml');
    writeFileSync(config, 'task:\n  kill_grace: 120\n');
    expect(await service('install', '--token-file', tokenFile, '--config', config, '--dry-run')).toBe(0);
    expect(out).toContain(`TimeoutStopSec=${stopTimeoutSeconds(120)}s`);
    expect(out).toMatch(new RegExp(`^ExecStart=.* --config ${config.replace(/[/.]/g, '\\$&')}$`, 'm'));
    writeFileSync(config, 'task:\n  kill_grase: 120\n');
    expect(await service('install', '--token-file', tokenFile, '--config', config, '--dry-run')).toBe(2);
    expect(err).toContain('kill_grase');
  });

  it.each([
    [['install', '--system', '--user', '--token-file', 'TOKEN_FILE'], /cannot be used with/],
    [['install', '--token', TOKEN], /unknown option '--token'/],
    [['install', '--frobnicate'], /unknown option/],
    [['install', '--dry-run'], /needs --token-file/],
    [['install', '--token-file', '/nonexistent/token', '--dry-run'], /\/nonexistent\/token: no such file/],
    [['install', '--system', '--token-file', 'TOKEN_FILE', '--dry-run'], /--system needs --run-as/],
    [['install', '--run-as', 'root', '--token-file', 'TOKEN_FILE', '--dry-run'], /--run-as goes with --system/],
    [['install', '--system', '--run-as', 'no-such-user-x', '--token-file', 'TOKEN_FILE', '--dry-run'], /no such user/],
    [['install', '--platform', 'win32', '--system', '--token-file', 'TOKEN_FILE'], /only previews/],
    [['install', '--platform', 'beos', '--dry-run'], /Allowed choices/],
    [['frobnicate'], /unknown command/],
    [['status', 'extra'], /too many arguments|unknown command/],
  ])('exits 2 for %j', async (argv, message) => {
    const code = await service(...argv.map((a) => (a === 'TOKEN_FILE' ? tokenFile : a)));
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(existsSync(calls)).toBe(false);
  });
});
