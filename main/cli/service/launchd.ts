/** The macOS service: a launchd property list, a LaunchDaemon (--system) or the user's LaunchAgent. */
import path from 'node:path';
import {
  agentArgs,
  SERVICE_NAME,
  stopTimeoutSeconds,
  type ServicePlan,
  type ServiceRenderer,
  type ServiceRequest,
  type ServiceTarget,
} from './plan.js';

export const LAUNCHD_LABEL = `com.ats.${SERVICE_NAME}`;

export function plistPath(target: ServiceTarget): string {
  return target.scope === 'system'
    ? `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`
    : path.join(target.user.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
}

function logPath(target: ServiceTarget): string {
  return target.scope === 'system'
    ? `/Library/Logs/${SERVICE_NAME}.log`
    : path.join(target.user.home, 'Library', 'Logs', `${SERVICE_NAME}.log`);
}

/** launchd's domain: the system's, or the user's login session (gui/<uid>). */
function domain(target: ServiceTarget): string {
  return target.scope === 'system' ? 'system' : `gui/${target.user.uid}`;
}

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function plistValue(value: PlistValue, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${escapeXml(value)}</string>`;
  if (typeof value === 'number') return `${indent}<integer>${Math.trunc(value)}</integer>`;
  if (typeof value === 'boolean') return `${indent}<${value}/>`;
  if (Array.isArray(value))
    return [`${indent}<array>`, ...value.map((v) => plistValue(v, `${indent}  `)), `${indent}</array>`].join('\n');
  return [
    `${indent}<dict>`,
    ...Object.entries(value).flatMap(([k, v]) => [
      `${indent}  <key>${escapeXml(k)}</key>`,
      plistValue(v, `${indent}  `),
    ]),
    `${indent}</dict>`,
  ].join('\n');
}

function install(req: ServiceRequest): ServicePlan {
  const log = logPath(req);
  const job: Record<string, PlistValue> = {
    Label: LAUNCHD_LABEL,
    ProgramArguments: [...req.command, ...agentArgs(req)],
    ...(req.scope === 'system' ? { UserName: req.user.name } : {}),
    // the token by file, read again before every reconnect; never an argument
    EnvironmentVariables: { ...req.env, ATS_AGENT_TOKEN_FILE: req.tokenFile },
    RunAtLoad: true,
    // start again when it exits with an error (launchd cannot tell a bad token from a crash: the
    // throttle keeps a misconfigured agent to one try in ThrottleInterval seconds)
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 30,
    // SIGTERM, then this long for the agent to stop its tasks (task.kill_grace) and report them
    ExitTimeOut: stopTimeoutSeconds(req.killGrace),
    WorkingDirectory: '/',
    StandardOutPath: log,
    StandardErrorPath: log,
  };
  const content = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- ATS Agent ${escapeXml(req.agentVersion)}, written by ats-agent service install; remove it with ats-agent service uninstall${req.scope === 'system' ? ' with system scope' : ''} -->`,
    '<plist version="1.0">',
    plistValue(job, ''),
    '</plist>',
    '',
  ].join('\n');
  const file = plistPath(req);
  return { files: [{ path: file, content }], commands: [['launchctl', 'bootstrap', domain(req), file]] };
}

export const launchd: ServiceRenderer = {
  install,
  uninstall: (target) => ({
    before: [['launchctl', 'bootout', `${domain(target)}/${LAUNCHD_LABEL}`]],
    files: [plistPath(target)],
    after: [],
  }),
  status: (target) => ['launchctl', 'print', `${domain(target)}/${LAUNCHD_LABEL}`],
};
