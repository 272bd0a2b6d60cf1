import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, ExitCode, FatalError } from '../protocol/codes.js';
import { prepareWorkDir, resolveTaskWorkDir, TaskRefusedError, workLayout } from './layout.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-layout-')));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

async function expectWorkDirError(root: string, mentions: RegExp): Promise<FatalError> {
  const err = await prepareWorkDir(root).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FatalError);
  const fatal = err as FatalError;
  expect(fatal.code).toBe('WORK_DIR_ERROR');
  expect(fatal.exitCode).toBe(ExitCode.WORK_DIR_ERROR);
  expect(fatal.message).toContain(path.resolve(root));
  expect(fatal.message).toMatch(mentions);
  return fatal;
}

describe('prepareWorkDir', () => {
  it('creates tasks, logs, logs/tasks and cache with missing parents and leaves no probe behind', async () => {
    const root = path.join(tmp, 'a', 'b', 'work');
    const layout = await prepareWorkDir(root);
    expect(layout.root).toBe(root);
    for (const dir of [layout.tasksDir, layout.logsDir, layout.taskLogsDir, layout.cacheDir]) {
      expect(fs.statSync(dir).isDirectory()).toBe(true);
    }
    expect(fs.readdirSync(root).sort()).toEqual(['cache', 'logs', 'tasks']);
    expect(fs.readdirSync(layout.logsDir)).toEqual(['tasks']);
    expect(fs.readdirSync(layout.tasksDir)).toEqual([]);
    expect(layout.taskDir('t-1')).toBe(path.join(root, 'tasks', 't-1'));
    expect(layout.taskLogFile('t-1')).toBe(path.join(root, 'logs', 'tasks', 't-1.log'));
  });

  it('leaves none of its directories writable by group or others, but never touches a sticky one', async () => {
    const root = path.join(tmp, 'open');
    fs.mkdirSync(path.join(root, 'logs'), { recursive: true });
    fs.chmodSync(root, 0o777);
    fs.chmodSync(path.join(root, 'logs'), 0o775);
    const layout = await prepareWorkDir(root);
    for (const dir of [layout.root, layout.tasksDir, layout.logsDir, layout.taskLogsDir, layout.cacheDir])
      expect(fs.statSync(dir).mode & 0o022, dir).toBe(0);
    const sticky = path.join(tmp, 'sticky');
    fs.mkdirSync(sticky);
    fs.chmodSync(sticky, 0o1777);
    await prepareWorkDir(sticky);
    expect(fs.statSync(sticky).mode & 0o7777).toBe(0o1777);
  });

  it('resolves a relative root to an absolute path and accepts an existing layout', async () => {
    const rel = path.relative(process.cwd(), path.join(tmp, 'rel'));
    const first = await prepareWorkDir(rel);
    fs.writeFileSync(path.join(first.tasksDir, 'keep.txt'), 'x');
    const again = await prepareWorkDir(rel);
    expect(path.isAbsolute(again.root)).toBe(true);
    expect(again.root).toBe(path.join(tmp, 'rel'));
    expect(fs.readFileSync(path.join(again.tasksDir, 'keep.txt'), 'utf8')).toBe('x');
  });

  it('fails with WORK_DIR_ERROR under a regular file (ENOTDIR), naming the path and the reason', async () => {
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, '');
    await expectWorkDirError(path.join(file, 'x'), /ENOTDIR/);
  });

  it.skipIf(isRoot)('fails with WORK_DIR_ERROR in a read-only directory', async () => {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    try {
      await expectWorkDirError(path.join(ro, 'work'), /EACCES|EPERM/);
    } finally {
      fs.chmodSync(ro, 0o755);
    }
  });

  it.skipIf(process.platform !== 'linux')(
    'fails when a subdirectory exists but cannot be written, even as root',
    async () => {
      // /proc/self is a directory nobody can create files in, root included
      const root = path.join(tmp, 'proc-work');
      fs.mkdirSync(root);
      fs.symlinkSync('/proc/self', path.join(root, 'cache'));
      await expectWorkDirError(root, /cannot write in .*cache/);
    },
  );
});

describe('resolveTaskWorkDir', () => {
  const layout = () => workLayout(path.join(tmp, 'work'));

  function refused(fn: () => unknown): TaskRefusedError {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TaskRefusedError);
    return caught as TaskRefusedError;
  }

  beforeEach(async () => {
    await prepareWorkDir(path.join(tmp, 'work'));
  });

  it('defaults to tasks/{taskId} without creating it', () => {
    const dir = resolveTaskWorkDir(layout(), 'task-42');
    expect(dir).toBe(path.join(tmp, 'work', 'tasks', 'task-42'));
    expect(fs.existsSync(dir)).toBe(false);
    expect(resolveTaskWorkDir(layout(), 'task-42', null)).toBe(dir);
    expect(resolveTaskWorkDir(layout(), 'task-42', '')).toBe(dir);
  });

  it('resolves a relative dir against the root and accepts an absolute one inside it', () => {
    expect(resolveTaskWorkDir(layout(), 't1', 'projects/web')).toBe(path.join(tmp, 'work', 'projects', 'web'));
    expect(resolveTaskWorkDir(layout(), 't1', 'a/../b')).toBe(path.join(tmp, 'work', 'b'));
    const abs = path.join(tmp, 'work', 'checkouts', 'x');
    expect(resolveTaskWorkDir(layout(), 't1', abs)).toBe(abs);
    expect(fs.existsSync(path.join(tmp, 'work', 'projects'))).toBe(false);
  });

  it('refuses ../ escapes and absolute paths outside the root', () => {
    expect(refused(() => resolveTaskWorkDir(layout(), 't1', '../elsewhere')).message).toMatch(/outside the work root/);
    expect(refused(() => resolveTaskWorkDir(layout(), 't1', 'tasks/../../x')).code).toBe(ErrorCode.INVALID_TASK);
    refused(() => resolveTaskWorkDir(layout(), 't1', '..'));
    refused(() => resolveTaskWorkDir(layout(), 't1', '/etc'));
    refused(() => resolveTaskWorkDir(layout(), 't1', path.join(tmp, 'work-sibling')));
  });

  it('refuses a symlink inside the root that points outside, also for paths below it', () => {
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(tmp, 'work', 'tasks', 'link'));
    const e = refused(() => resolveTaskWorkDir(layout(), 't1', 'tasks/link'));
    expect(e.message).toMatch(/symlink/);
    expect(e.message).toContain(outside);
    refused(() => resolveTaskWorkDir(layout(), 't1', 'tasks/link/not/yet/there'));
  });

  it('refuses a dangling symlink, whose target could be created outside', () => {
    fs.symlinkSync(path.join(tmp, 'nowhere'), path.join(tmp, 'work', 'dangling'));
    refused(() => resolveTaskWorkDir(layout(), 't1', 'dangling/sub'));
  });

  it('accepts a symlink that stays inside the root, and a root reached through a symlink', () => {
    fs.mkdirSync(path.join(tmp, 'work', 'shared', 'real'), { recursive: true });
    fs.symlinkSync(path.join(tmp, 'work', 'shared', 'real'), path.join(tmp, 'work', 'inner'));
    expect(resolveTaskWorkDir(layout(), 't1', 'inner/sub')).toBe(path.join(tmp, 'work', 'inner', 'sub'));

    fs.symlinkSync(path.join(tmp, 'work'), path.join(tmp, 'alias'));
    const viaAlias = workLayout(path.join(tmp, 'alias'));
    expect(resolveTaskWorkDir(viaAlias, 't1', 'inner/sub')).toBe(path.join(tmp, 'alias', 'inner', 'sub'));
  });

  it('refuses a task id that is not a plain directory name', () => {
    expect(refused(() => resolveTaskWorkDir(layout(), '../x')).code).toBe(ErrorCode.INVALID_TASK);
    refused(() => resolveTaskWorkDir(layout(), ''));
  });
});
