import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupTasks } from './cleanup.js';
import { prepareWorkDir, type WorkLayout } from './layout.js';
import { TaskDirs } from './task-dirs.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-06-15T12:00:00Z');

let tmp: string;
let layout: WorkLayout;
let dirs: TaskDirs;
const idle = { ids: new Set<string>(), dirs: [] };

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-cleanup-'));
  layout = await prepareWorkDir(path.join(tmp, 'work'));
  dirs = new TaskDirs(path.join(layout.root, 'state'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function setAge(p: string, daysAgo: number) {
  const t = new Date(NOW - daysAgo * DAY);
  fs.utimesSync(p, t, t);
}

/** the task-dir records being written (TaskDirs.prepare writes them off the task's start path) */
const records: Promise<void>[] = [];

/** cleanupTasks once every record written so far has landed */
async function cleanup(...args: Parameters<typeof cleanupTasks>): ReturnType<typeof cleanupTasks> {
  await Promise.all(records.splice(0));
  return cleanupTasks(...args);
}

/** A finished task: its dir (made by the agent, with a file) and its log, both `daysAgo` old. */
function task(id: string, daysAgo: number, { dir = true, log = true } = {}) {
  if (dir) {
    records.push(dirs.prepare(id, layout.taskDir(id)));
    fs.writeFileSync(path.join(layout.taskDir(id), 'out.txt'), id);
    setAge(layout.taskDir(id), daysAgo);
  }
  if (log) {
    fs.writeFileSync(layout.taskLogFile(id), `${id}\n`);
    setAge(layout.taskLogFile(id), daysAgo);
  }
}

const remaining = () => ({
  dirs: fs.readdirSync(layout.tasksDir).sort(),
  logs: fs.readdirSync(layout.taskLogsDir).sort(),
});

describe('cleanupTasks', () => {
  it('keeps the keep_tasks newest and removes dir and log of the others', async () => {
    for (const [i, id] of ['t1', 't2', 't3', 't4', 't5'].entries()) task(id, 5 - i); // t5 newest
    const removed = await cleanup(layout, { keep_tasks: 2, keep_days: 0 }, idle, dirs, NOW);
    expect(removed.sort()).toEqual(['t1', 't2', 't3']);
    expect(remaining()).toEqual({ dirs: ['t4', 't5'], logs: ['t4.log', 't5.log'] });
  });

  it('removes tasks older than keep_days', async () => {
    task('old', 8);
    task('edge', 6.9);
    task('new', 0.1);
    const removed = await cleanup(layout, { keep_tasks: 0, keep_days: 7 }, idle, dirs, NOW);
    expect(removed).toEqual(['old']);
    expect(remaining()).toEqual({ dirs: ['edge', 'new'], logs: ['edge.log', 'new.log'] });
  });

  it('applies both limits together, and none when both are 0', async () => {
    task('a', 10);
    task('b', 3);
    task('c', 2);
    task('d', 1);
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 0 }, idle, dirs, NOW)).toEqual([]);
    expect(remaining().dirs).toEqual(['a', 'b', 'c', 'd']);
    const removed = await cleanup(layout, { keep_tasks: 3, keep_days: 2.5 }, idle, dirs, NOW);
    expect(removed.sort()).toEqual(['a', 'b']);
    expect(remaining().dirs).toEqual(['c', 'd']);
  });

  it('dates a task by the newer of its dir and its log', async () => {
    task('fresh-log', 30);
    setAge(layout.taskLogFile('fresh-log'), 1);
    task('stale', 30);
    const removed = await cleanup(layout, { keep_tasks: 0, keep_days: 7 }, idle, dirs, NOW);
    expect(removed).toEqual(['stale']);
    expect(remaining()).toEqual({ dirs: ['fresh-log'], logs: ['fresh-log.log'] });
  });

  it('finds tasks that only have a dir or only a log', async () => {
    task('dir-only', 9, { log: false });
    task('log-only', 9, { dir: false });
    const removed = await cleanup(layout, { keep_tasks: 0, keep_days: 7 }, idle, dirs, NOW);
    expect(removed.sort()).toEqual(['dir-only', 'log-only']);
    expect(remaining()).toEqual({ dirs: [], logs: [] });
  });

  it('never touches active tasks', async () => {
    task('running', 30);
    task('done', 30);
    const removed = await cleanup(
      layout,
      { keep_tasks: 1, keep_days: 1 },
      { ids: new Set(['running']), dirs: [] },
      dirs,
      NOW,
    );
    expect(removed).toEqual(['done']);
    expect(remaining()).toEqual({ dirs: ['running'], logs: ['running.log'] });
  });

  it('ignores names that are not task ids, files that are not task logs, and dirs it has no record of', async () => {
    fs.mkdirSync(path.join(layout.tasksDir, '.hidden'));
    fs.mkdirSync(path.join(layout.tasksDir, 'looks-like-a-task'));
    fs.writeFileSync(path.join(layout.tasksDir, 'plainfile'), '');
    fs.writeFileSync(path.join(layout.taskLogsDir, 'notes.txt'), '');
    fs.writeFileSync(path.join(layout.taskLogsDir, '-bad.log'), '');
    for (const p of ['.hidden', 'looks-like-a-task', 'plainfile']) setAge(path.join(layout.tasksDir, p), 100);
    for (const p of ['notes.txt', '-bad.log']) setAge(path.join(layout.taskLogsDir, p), 100);
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW)).toEqual([]);
    expect(remaining()).toEqual({
      dirs: ['.hidden', 'looks-like-a-task', 'plainfile'],
      logs: ['-bad.log', 'notes.txt'],
    });
  });

  it('a work dir whose record cannot be written is made, the write fails, and cleanup leaves the dir alone', async () => {
    const recordsDir = path.join(layout.root, 'state', 'task-dirs');
    fs.rmSync(recordsDir, { recursive: true });
    fs.writeFileSync(recordsDir, 'not a directory');
    await expect(dirs.prepare('t-unrecorded', layout.taskDir('t-unrecorded'))).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
    expect(fs.statSync(layout.taskDir('t-unrecorded')).isDirectory()).toBe(true);
    fs.writeFileSync(layout.taskLogFile('t-unrecorded'), 'x');
    setAge(layout.taskDir('t-unrecorded'), 30);
    setAge(layout.taskLogFile('t-unrecorded'), 30);
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW)).toEqual(['t-unrecorded']);
    // its log went; the directory, not known as the agent's, stays
    expect(remaining()).toEqual({ dirs: ['t-unrecorded'], logs: [] });
  });

  it('never removes a directory a queued or running task uses, nor one holding it (issue 11: tasks/shared)', async () => {
    // t-old created tasks/shared; t-now (running) works in it too; t-nested runs below another's dir
    await dirs.prepare('t-old', path.join(layout.tasksDir, 'shared'));
    await dirs.prepare('t-now', path.join(layout.tasksDir, 'shared'));
    task('t-parent', 30);
    fs.mkdirSync(path.join(layout.taskDir('t-parent'), 'inner'));
    for (const id of ['t-old', 't-now']) fs.writeFileSync(layout.taskLogFile(id), id);
    for (const p of [path.join(layout.tasksDir, 'shared'), layout.taskLogFile('t-old'), layout.taskLogFile('t-now')])
      setAge(p, 30);
    setAge(layout.taskDir('t-parent'), 30);
    const inUse = {
      ids: new Set(['t-now', 't-inner']),
      dirs: [path.join(layout.tasksDir, 'shared'), path.join(layout.taskDir('t-parent'), 'inner')],
    };
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, inUse, dirs, NOW)).toEqual([]);
    expect(remaining().dirs).toEqual(['shared', 't-parent']);
    // once nothing uses it, the task that created it takes it along
    expect((await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW)).sort()).toEqual([
      't-now',
      't-old',
      't-parent',
    ]);
    expect(remaining()).toEqual({ dirs: [], logs: [] });
  });

  it('keeps a work_dir that existed before its task (a shared checkout) unless the config opts in', async () => {
    const checkout = path.join(layout.root, 'checkout');
    fs.mkdirSync(checkout);
    fs.writeFileSync(path.join(checkout, 'repo.txt'), 'platform data');
    await dirs.prepare('uses-checkout', checkout);
    fs.writeFileSync(layout.taskLogFile('uses-checkout'), 'x');
    setAge(checkout, 30);
    setAge(layout.taskLogFile('uses-checkout'), 30);
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW)).toEqual(['uses-checkout']);
    expect(fs.readFileSync(path.join(checkout, 'repo.txt'), 'utf8')).toBe('platform data');
    expect(remaining().logs).toEqual([]);

    await dirs.prepare('opted-in', checkout);
    setAge(checkout, 30);
    const optIn = { keep_tasks: 0, keep_days: 1, remove_existing_dirs: true };
    expect(await cleanup(layout, optIn, idle, dirs, NOW)).toEqual(['opted-in']);
    expect(fs.existsSync(checkout)).toBe(false);
  });

  it('removes the parents it created for a nested work_dir, while they are empty', async () => {
    const nested = path.join(layout.root, 'made', 'for', 'it');
    await dirs.prepare('nested', nested);
    await dirs.prepare('sibling', path.join(layout.root, 'made', 'other'));
    setAge(nested, 30);
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW)).toContain('nested');
    expect(fs.existsSync(path.join(layout.root, 'made', 'for'))).toBe(false);
    // 'made' was created for 'nested' but 'sibling' still has its dir in it
    expect(fs.existsSync(path.join(layout.root, 'made', 'other'))).toBe(true);
  });

  it('removes a symlink inside a task dir without following it out', async () => {
    const outside = path.join(tmp, 'precious');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'data.txt'), 'keep me');
    task('linker', 30);
    fs.symlinkSync(outside, path.join(layout.taskDir('linker'), 'link'));
    setAge(layout.taskDir('linker'), 30);
    expect(await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW)).toEqual(['linker']);
    expect(fs.existsSync(layout.taskDir('linker'))).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'data.txt'), 'utf8')).toBe('keep me');
  });

  it('goes on with the others when one task cannot be removed', async () => {
    task('a', 30);
    task('broken', 30, { log: false });
    // a directory where the task's log file should be: rm without recursive fails on it, even as root
    fs.mkdirSync(layout.taskLogFile('broken'));
    fs.writeFileSync(path.join(layout.taskLogFile('broken'), 'x'), '');
    task('z', 30);
    const removed = await cleanup(layout, { keep_tasks: 0, keep_days: 1 }, idle, dirs, NOW);
    expect(removed.sort()).toEqual(['a', 'z']);
    expect(remaining().logs).toEqual(['broken.log']);
  });
});
