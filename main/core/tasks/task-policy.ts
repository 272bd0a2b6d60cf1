/**
 * What the agent lets a task do before it runs: `task.deny_patterns` refuses commands that match
 * (TASK_DENIED), and `task.run_as` picks the user tasks run as when the agent is root. An agent that
 * is not root cannot switch users: with run_as set it refuses every task rather than run it as
 * itself, which is not what the config asked for.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logging/logger.js';
import { ErrorCode } from '../protocol/codes.js';
import type { Confinement } from '../workspace/work-dir-guard.js';
import { CHECK_BUDGET, checkDenyPatterns, compileDenyPatterns, type DenyPattern } from './deny-patterns.js';

export interface RunAsUser {
  uid: number;
  gid: number;
  name: string;
  home: string;
}

export interface TaskRefusal {
  code: ErrorCode;
  message: string;
}

export interface TaskPolicyConfig {
  run_as?: string | number;
  deny_patterns?: string[];
  allowed_work_dirs?: string[];
}

export class TaskPolicy {
  /** who tasks run as; null: as the agent */
  readonly runAs: RunAsUser | null = null;
  private deny: DenyPattern[];
  /** set when run_as cannot be honoured: every task is refused with it */
  private readonly runAsProblem: string | null = null;
  /** where work dirs may be (work-dir-guard.ts) */
  readonly confinement: Confinement;

  constructor(
    config: TaskPolicyConfig,
    log: Logger,
    isRoot = process.getuid?.() === 0,
    lookup: (who: string | number) => RunAsUser | null = lookupUser,
    /**
     * root: the local work root, whose journal stays out of reach after the platform names another;
     * files: the agent's config and token files, wherever they are
     */
    own: { root?: string; files?: readonly string[] } = {},
  ) {
    this.confinement = {
      allowedRoots: (config.allowed_work_dirs ?? []).map((d) => path.resolve(d)),
      agentRoots: own.root ? [path.resolve(own.root)] : [],
      agentFiles: (own.files ?? []).map((f) => path.resolve(f)),
    };
    // validated at config load; compiled once here
    this.deny = compileDenyPatterns(config.deny_patterns ?? []);
    if (config.run_as === undefined) return;
    const who = config.run_as;
    if (!isRoot) {
      this.runAsProblem = `task.run_as is ${JSON.stringify(who)} but the agent does not run as root, so it cannot switch to that user; tasks are refused until the agent runs as root or task.run_as is removed`;
      log.error(this.runAsProblem);
      return;
    }
    const user = lookup(who);
    if (!user) {
      this.runAsProblem = `task.run_as: no such user ${JSON.stringify(who)} on this machine; tasks are refused`;
      log.error(this.runAsProblem);
      return;
    }
    if (user.uid === 0) log.warn(`task.run_as ${JSON.stringify(who)} is root: tasks run with full privileges`);
    this.runAs = user;
    log.info(`tasks run as ${user.name} (uid ${user.uid}, gid ${user.gid}, home ${user.home})`);
  }

  /** A reloaded config's patterns (validated at load), for tasks checked from now on. */
  setDenyPatterns(patterns: string[]): void {
    this.deny = compileDenyPatterns(patterns);
  }

  /** Why the task must not run, or null. */
  check(command: string): TaskRefusal | null {
    if (this.runAsProblem) return { code: ErrorCode.TASK_EXECUTION_FAILED, message: this.runAsProblem };
    const verdict = checkDenyPatterns(this.deny, command);
    switch (verdict.kind) {
      case 'allowed':
        return null;
      case 'denied':
        return {
          code: ErrorCode.TASK_DENIED,
          message: `the command matches the deny pattern ${JSON.stringify(verdict.pattern)} (task.deny_patterns); it was not run`,
        };
      case 'too-long':
        return {
          code: ErrorCode.TASK_DENIED,
          message: `the command (${command.length} characters) is too long to check against task.deny_patterns in bounded time (${verdict.cost} steps, at most ${CHECK_BUDGET}); it was not run`,
        };
    }
  }
}

/** A user by name or uid: getent (NSS: LDAP, sssd…) first, /etc/passwd if getent is missing. */
export function lookupUser(who: string | number): RunAsUser | null {
  const key = String(who).trim();
  if (!key || key.includes(':') || key.includes('\n')) return null;
  const numeric = /^\d+$/.test(key);
  let line: string | undefined;
  const getent = spawnSync('getent', ['passwd', key], { encoding: 'utf8', timeout: 5_000 });
  if (getent.status === 0 && getent.stdout) {
    line = getent.stdout.split('\n')[0];
  } else if (getent.error) {
    try {
      line = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => {
          const f = l.split(':');
          return numeric ? f[2] === key : f[0] === key;
        });
    } catch {
      line = undefined;
    }
  }
  if (line) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name && uid && gid && /^\d+$/.test(uid) && /^\d+$/.test(gid))
      return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
  }
  // a uid with no passwd entry (containers): its own group, home at /
  if (numeric) return { name: key, uid: Number(key), gid: Number(key), home: '/' };
  return null;
}
