import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/codes.js';
import { prepareWorkDir, resolveTaskWorkDir, TaskRefusedError, workLayout } from './layout.js';
import { confineWorkDir } from './work-dir-guard.js';

let tmp: string;
let root: string;
beforeEach(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-guard-')));
  root = path.join(tmp, 'work');
  await prepareWorkDir(root);
  fs.mkdirSync(path.join(root, 'state', 'tasks'), { recursive: true });
  fs.writeFileSync(path.join(root, 'agent-id'), 'id\n');
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function refusal(requested: string, c = {}): string {
  try {
    confineWorkDir(requested, root, c);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${requested} was accepted`);
}

describe('confineWorkDir: the agent keeps its own files out of every task', () => {
  it.each([
    ['.', /is the work root .* itself/],
    ['', /is the work root .* itself/],
    ['./', /is the work root .* itself/],
    ['tasks/..', /is the work root .* itself/],
    ['state', /inside the agent's own .*\/state;/],
    ['state/tasks', /inside the agent's own .*\/state;/],
    ['./state/tasks/x', /inside the agent's own .*\/state;/],
    ['logs', /inside the agent's own .*\/logs;/],
    ['logs/tasks', /inside the agent's own .*\/logs;/],
    ['cache', /inside the agent's own .*\/cache;/],
    ['cache/sub', /inside the agent's own .*\/cache;/],
    ['agent-id', /inside the agent's own .*\/agent-id;/],
    ['tasks', /is the tasks folder .* itself/],
    ['tasks/', /is the tasks folder .* itself/],
    ['tasks/x/../../state', /inside the agent's own .*\/state;/],
    ['..', /outside the work root/],
    ['/etc', /outside the work root/],
    ['a\u0000b', /NUL character/],
  ])('refuses %j', (requested, rule) => {
    expect(refusal(requested)).toMatch(rule);
  });

  it('accepts tasks/<name>/…, any other directory below the root, and the spec example {work_dir}/task-uuid', () => {
    expect(confineWorkDir('tasks/shared', root).dir).toBe(path.join(root, 'tasks', 'shared'));
    expect(confineWorkDir('tasks/shared/deep/er', root).dir).toBe(path.join(root, 'tasks', 'shared', 'deep', 'er'));
    expect(confineWorkDir('task-uuid', root).dir).toBe(path.join(root, 'task-uuid'));
    expect(confineWorkDir(path.join(root, 'task-uuid'), root).dir).toBe(path.join(root, 'task-uuid'));
    expect(confineWorkDir('states', root).dir).toBe(path.join(root, 'states'));
    expect(confineWorkDir('logs-of-mine/x', root).dir).toBe(path.join(root, 'logs-of-mine', 'x'));
  });

  it('follows symlinks: one into the agent files or out of the root is refused, also with the rest not yet made', () => {
    fs.symlinkSync(path.join(root, 'state'), path.join(root, 'tasks', 'to-state'));
    fs.symlinkSync(root, path.join(root, 'to-root'));
    fs.symlinkSync(tmp, path.join(root, 'to-parent'));
    fs.symlinkSync('..', path.join(root, 'tasks', 'up'));
    expect(refusal('tasks/to-state')).toMatch(/leads through a symlink to .*\/state, which is inside the agent's own/);
    expect(refusal('tasks/to-state/tasks/new/deeper')).toMatch(/through a symlink .* inside the agent's own .*state/);
    expect(refusal('to-root')).toMatch(/through a symlink to .*work, which is the work root .* itself/);
    expect(refusal('to-parent/work/state')).toMatch(/through a symlink .*inside the agent's own/);
    expect(refusal('to-parent/elsewhere')).toMatch(/through a symlink .* outside the work root/);
    expect(refusal('tasks/up')).toMatch(/through a symlink .* work root .* itself/);
  });

  it("keeps the local root's journal out of reach when the platform's work root holds it", () => {
    // the platform names a parent of the local root as its work root
    const platformRoot = tmp;
    const local = root;
    const c = { agentRoots: [local] };
    expect(() => confineWorkDir('work/state', platformRoot, c)).toThrow(/inside the agent's own .*work\/state/);
    expect(() => confineWorkDir('work', platformRoot, c)).toThrow(/is the work root .*work itself/);
    expect(() => confineWorkDir('.', platformRoot, c)).toThrow(/is the work root/);
    expect(confineWorkDir('work/tasks/x', platformRoot, c).dir).toBe(path.join(local, 'tasks', 'x'));
    expect(confineWorkDir('other', platformRoot, c).dir).toBe(path.join(tmp, 'other'));
  });

  it('task.allowed_work_dirs: inside a listed root is fine; the root itself, or one holding the agent, is not', () => {
    const shared = path.join(tmp, 'shared');
    const c = { allowedRoots: [shared, tmp] };
    expect(confineWorkDir(path.join(shared, 'repo'), root, c).dir).toBe(path.join(shared, 'repo'));
    expect(refusal(shared, c)).toMatch(/is the root .*shared of task.allowed_work_dirs itself/);
    expect(refusal(tmp, c)).toMatch(/allowed_work_dirs itself/);
    // tmp is allowed, but a dir holding the work root is never a task's
    fs.mkdirSync(shared);
    fs.symlinkSync(root, path.join(shared, 'agent-link'));
    expect(refusal(path.join(shared, 'agent-link'), c)).toMatch(/through a symlink .* work root .* itself/);
    expect(refusal('/etc', c)).toMatch(/outside the work root .* or any root of task.allowed_work_dirs/);
  });

  it("refuses a directory that holds the agent's config or token file, also through a symlink; a sibling is fine", () => {
    const shared = path.join(tmp, 'shared');
    const etc = path.join(shared, 'agent-etc');
    fs.mkdirSync(etc, { recursive: true });
    const token = path.join(etc, 'token');
    fs.writeFileSync(token, 'secret\n');
    const c = { allowedRoots: [shared], agentFiles: [token, path.join(tmp, 'agent.yaml')] };
    expect(refusal(etc, c)).toMatch(/contains the agent's own .*agent-etc\/token; a task's directory may not hold/);
    expect(confineWorkDir(path.join(shared, 'checkout'), root, c).dir).toBe(path.join(shared, 'checkout'));
    fs.symlinkSync(etc, path.join(shared, 'etc-link'));
    expect(refusal(path.join(shared, 'etc-link'), c)).toMatch(/through a symlink .* contains the agent's own .*token/);
    // without the file list the same directory is an ordinary one
    expect(confineWorkDir(etc, root, { allowedRoots: [shared] }).dir).toBe(etc);
  });
});

describe('resolveTaskWorkDir: refusals are INVALID_TASK and name the rule', () => {
  it('refuses "state" with INVALID_TASK; checks the default dir for a planted symlink too', () => {
    const layout = workLayout(root);
    let caught: unknown;
    try {
      resolveTaskWorkDir(layout, 't1', 'state');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TaskRefusedError);
    expect((caught as TaskRefusedError).code).toBe(ErrorCode.INVALID_TASK);
    expect((caught as TaskRefusedError).message).toMatch(/work_dir "state" .* inside the agent's own/);
    fs.symlinkSync(path.join(root, 'logs'), path.join(root, 'tasks', 'planted'));
    expect(() => resolveTaskWorkDir(layout, 'planted')).toThrow(/through a symlink .* logs/);
  });
});
