/**
 * The Windows service. The agent is a console program: it cannot answer the Service Control Manager,
 * which kills a program registered straight with `sc.exe create` after 30 s (error 1053). So the
 * service is WinSW (github.com/winsw/winsw, v3, one .exe on the PATH as `winsw`), which registers
 * itself with `sc.exe`'s manager and runs the agent; this writes WinSW's XML.
 */
import path from 'node:path';
import {
  agentArgs,
  SERVICE_NAME,
  stopTimeoutSeconds,
  type ServicePlan,
  type ServiceRenderer,
  type ServiceRequest,
} from './plan.js';

/** %ProgramData%\ats-agent: the service's files, for every user. */
function serviceDir(env: NodeJS.ProcessEnv): string {
  return path.win32.join(env.ProgramData || 'C:\\ProgramData', SERVICE_NAME);
}

export function winswConfigPath(env: NodeJS.ProcessEnv): string {
  return path.win32.join(serviceDir(env), `${SERVICE_NAME}-service.xml`);
}

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One argument as Windows' command-line parser reads it back (CommandLineToArgvW's rules). */
function windowsArg(arg: string): string {
  if (arg && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

function install(req: ServiceRequest, env: NodeJS.ProcessEnv): ServicePlan {
  const [executable, ...leading] = req.command;
  const dir = serviceDir(env);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<!-- ATS Agent ${escapeXml(req.agentVersion)} as a Windows service through WinSW, written by ats-agent service install -->`,
    '<service>',
    `  <id>${SERVICE_NAME}</id>`,
    '  <name>ATS Agent</name>',
    '  <description>Runs the test tasks an ATS platform sends.</description>',
    `  <executable>${escapeXml(executable!)}</executable>`,
    `  <arguments>${escapeXml([...leading, ...agentArgs(req)].map(windowsArg).join(' '))}</arguments>`,
    `  <workingdirectory>${escapeXml(dir)}</workingdirectory>`,
    // the token by file, read again before every reconnect; never an argument
    `  <env name="ATS_AGENT_TOKEN_FILE" value="${escapeXml(req.tokenFile)}"/>`,
    ...Object.entries(req.env).map(([name, value]) => `  <env name="${escapeXml(name)}" value="${escapeXml(value)}"/>`),
    '  <startmode>Automatic</startmode>',
    '  <delayedAutoStart>true</delayedAutoStart>',
    // restart after a failure, three times, then stop trying until an hour without one: WinSW cannot
    // spare exits 2, 3 and 5 (bad config, bad token, bad work dir) as systemd does
    '  <onfailure action="restart" delay="10 sec"/>',
    '  <onfailure action="restart" delay="30 sec"/>',
    '  <onfailure action="restart" delay="60 sec"/>',
    '  <onfailure action="none"/>',
    '  <resetfailure>1 hour</resetfailure>',
    // stop: Ctrl+C (the agent's SIGINT: tasks get task.kill_grace), then this long before the kill
    `  <stoptimeout>${stopTimeoutSeconds(req.killGrace)} sec</stoptimeout>`,
    `  <logpath>${escapeXml(path.win32.join(dir, 'logs'))}</logpath>`,
    '  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>5</keepFiles></log>',
    req.scope === 'system' && req.user.name
      ? `  <serviceaccount><username>${escapeXml(req.user.name)}</username><prompt>console</prompt></serviceaccount>`
      : '  <serviceaccount><username>NT AUTHORITY\\LocalService</username></serviceaccount>',
    '</service>',
    '',
  ];
  const file = winswConfigPath(env);
  return {
    files: [{ path: file, content: lines.join('\r\n') }],
    commands: [
      ['winsw', 'install', file],
      ['sc.exe', 'failureflag', SERVICE_NAME, '1'],
      ['winsw', 'start', file],
    ],
  };
}

export const windows: ServiceRenderer = {
  install,
  uninstall: (_target, env) => ({
    before: [
      ['winsw', 'stop', winswConfigPath(env)],
      ['winsw', 'uninstall', winswConfigPath(env)],
    ],
    files: [winswConfigPath(env)],
    after: [],
  }),
  status: () => ['sc.exe', 'query', SERVICE_NAME],
};
