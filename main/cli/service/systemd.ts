/** The Linux service: a systemd unit (system-wide, or the user's own manager). */
import path from 'node:path';
import { ExitCode } from '../../core/protocol/codes.js';
import {
  agentArgs,
  SERVICE_NAME,
  stopTimeoutSeconds,
  type ServicePlan,
  type ServiceRenderer,
  type ServiceRequest,
  type ServiceTarget,
  type UninstallPlan,
} from './plan.js';

export function systemdUnitPath(req: ServiceTarget, env: NodeJS.ProcessEnv): string {
  if (req.scope === 'system') return `/etc/systemd/system/${SERVICE_NAME}.service`;
  const config = env.XDG_CONFIG_HOME || path.join(req.user.home, '.config');
  return path.join(config, 'systemd', 'user', `${SERVICE_NAME}.service`);
}

/** One ExecStart word: quoted for systemd, with its specifier (%) and variable ($) characters escaped. */
function execWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function envLine(name: string, value: string): string {
  return `Environment=${execWord(`${name}=${value}`)}`;
}

function install(req: ServiceRequest, env: NodeJS.ProcessEnv): ServicePlan {
  const system = req.scope === 'system';
  const exec = [...req.command, ...agentArgs(req)].map(execWord).join(' ');
  // the unit explains itself to whoever reads it on the server: each choice with its reason
  const lines = [
    `# ATS Agent ${req.agentVersion}, written by \`ats-agent service install\`; remove it with \`ats-agent service uninstall${system ? ' --system' : ''}\`.`,
    '[Unit]',
    'Description=ATS Agent (runs the test tasks an ATS platform sends)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    '# exec: a missing or broken executable fails the start instead of looking started',
    'Type=exec',
    ...(system ? [`User=${req.user.name}`] : []),
    ...(system
      ? [
          '# The token: systemd reads the file as root and gives the service a private copy in its',
          '# credentials directory (%d), so the file may stay root-only. Never on the command line.',
          `LoadCredential=token:${req.tokenFile}`,
          'Environment=ATS_AGENT_TOKEN_FILE=%d/token',
        ]
      : [
          '# The token by file (read again before every reconnect), never on the command line.',
          envLine('ATS_AGENT_TOKEN_FILE', req.tokenFile),
        ]),
    ...Object.entries(req.env).map(([name, value]) => envLine(name, value)),
    `ExecStart=${exec}`,
    `# Exits ${ExitCode.USAGE} (bad usage or config), ${ExitCode.AUTH_FAILED} (AUTH_FAILED) and ${ExitCode.WORK_DIR_ERROR} (WORK_DIR_ERROR) need a person: no restart.`,
    `# A crash (${ExitCode.UNEXPECTED}) or an unreachable platform (${ExitCode.CONNECTION_FAILED}) is worth another try.`,
    'Restart=on-failure',
    `RestartPreventExitStatus=${ExitCode.USAGE} ${ExitCode.AUTH_FAILED} ${ExitCode.WORK_DIR_ERROR}`,
    'RestartSec=10s',
    '# Stop: SIGTERM to the agent alone (mixed); it stops its tasks itself (SIGTERM, task.kill_grace =',
    `# ${req.killGrace} s, SIGKILL) and reports them. What is left when the timeout ends gets SIGKILL.`,
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${stopTimeoutSeconds(req.killGrace)}s`,
    '# Hardening that leaves tasks working: tasks are test commands that need the network, /tmp, their',
    '# work dir and the home directory (caches such as ~/.npm, ~/.m2), and may start browsers or containers.',
    '# No task gains privileges (setuid programs such as sudo do not elevate; task.run_as is a drop).',
    'NoNewPrivileges=yes',
    ...(system
      ? [
          '# /usr, /boot and /etc read-only. Not "strict": the home and any work dir the platform names',
          '# must stay writable.',
          'ProtectSystem=full',
          '# A /tmp and /var/tmp of its own, emptied when the service stops.',
          'PrivateTmp=yes',
          '# Kernel settings, modules, logs and the cgroup tree out of reach (the health monitor only reads).',
          'ProtectKernelTunables=yes',
          'ProtectKernelModules=yes',
          'ProtectKernelLogs=yes',
          'ProtectControlGroups=yes',
          'RestrictSUIDSGID=yes',
          'LockPersonality=yes',
          '# Left out on purpose: ProtectHome (caches, the default work dir), PrivateDevices (tests that use',
          "# devices), MemoryDenyWriteExecute (V8's JIT and every JIT a task runs), RestrictNamespaces and",
          '# SystemCallFilter (browser sandboxes, containers).',
        ]
      : []),
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return {
    files: [{ path: systemdUnitPath(req, env), content: lines.join('\n') }],
    commands: [
      [...systemctl(req), 'daemon-reload'],
      [...systemctl(req), 'enable', '--now', `${SERVICE_NAME}.service`],
      // a user's manager runs only while they are logged in, unless it lingers
      ...(system ? [] : [['loginctl', 'enable-linger', req.user.name]]),
    ],
  };
}

const systemctl = (target: ServiceTarget) => (target.scope === 'system' ? ['systemctl'] : ['systemctl', '--user']);

function uninstall(target: ServiceTarget, env: NodeJS.ProcessEnv): UninstallPlan {
  return {
    before: [[...systemctl(target), 'disable', '--now', `${SERVICE_NAME}.service`]],
    files: [systemdUnitPath(target, env)],
    after: [[...systemctl(target), 'daemon-reload']],
  };
}

export const systemd: ServiceRenderer = {
  install,
  uninstall,
  status: (target) => [...systemctl(target), 'status', '--no-pager', `${SERVICE_NAME}.service`],
};
