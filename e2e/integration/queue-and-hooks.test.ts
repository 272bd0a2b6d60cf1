/**
 * PROTOCOL.md second round, against the built agent from `/` and the real simulator: `priority` and
 * `depends_on` (docs/protocol.md decides failed, unknown and late dependencies, restarts), and the
 * operator's `hooks` (pre_task, post_task, timeout), which a task frame can never set.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectedAgent, spawnAgent, startPlatform, tempDir, waitForResult } from './harness.js';

const isRoot = process.getuid?.() === 0;

/** A file every task appends its name to: the order in which they ran. */
function orderFile(): string {
  const dir = tempDir('ats-order-');
  chmodSync(dir, 0o777);
  return path.join(dir, 'order');
}

const agentLines = (sim: Awaited<ReturnType<typeof startPlatform>>, id: string) =>
  sim
    .logs(id)
    .filter((f) => f.stream === 'agent')
    .map((f) => f.message as string)
    .join('\n');

describe('priority and depends_on', () => {
  it('starts the highest priority first, FIFO among equals; a dependent waits for its dependency, and a failed one stops it', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    const order = orderFile();
    const step = (name: string, then = '') => `echo ${name} >> ${order}${then}`;
    sim.dispatch({ task_id: 'blocker', command: `sleep 0.8; ${step('blocker')}` });
    sim.dispatch({ task_id: 'low', command: step('low') });
    sim.dispatch({ task_id: 'bad', command: step('bad', '; exit 4') });
    sim.dispatch({ task_id: 'high', command: step('high'), priority: 5 });
    sim.dispatch({ task_id: 'child', command: step('child'), depends_on: ['high'] });
    sim.dispatch({ task_id: 'after-bad', command: step('after-bad'), depends_on: ['bad'] });
    for (const id of ['blocker', 'low', 'bad', 'high', 'child']) await waitForResult(sim, id);
    const afterBad = await waitForResult(sim, 'after-bad');
    expect(readFileSync(order, 'utf8').split('\n').filter(Boolean)).toEqual(['blocker', 'high', 'low', 'bad', 'child']);
    expect(sim.result('child')).toMatchObject({ status: 'success' });
    expect(afterBad).toMatchObject({ status: 'error', error_code: 'DEPENDENCY_FAILED', exit_code: -1 });
    expect(afterBad.error).toContain('dependency bad ended failed');
    expect(agentLines(sim, 'after-bad')).toContain('dependency bad ended failed');
    // the heartbeat counts the waiting ones as queued: all done now
    const hb = await sim.waitFor(() => sim.heartbeats.at(-1)?.frame, 10_000);
    expect(hb.agent.queued_tasks).toBe(0);
    expect(sim.authFrames.at(-1).agent_info.features).toEqual(
      expect.arrayContaining(['priority', 'depends_on', 'hooks']),
    );
  });

  it('a dependency that finished before a restart counts (the journal knows); one that never arrives ends the wait', async () => {
    const sim = await startPlatform();
    const first = await connectedAgent(sim);
    sim.dispatch({ task_id: 'built', command: 'echo built' });
    await waitForResult(sim, 'built');
    expect((await first.stop()).code).toBe(0);

    await connectedAgent(sim, { workDir: first.workDir, config: { task: { dependency_timeout: 1 } } });
    sim.dispatch({ task_id: 'tested', command: 'echo tested', depends_on: ['built'] });
    expect(await waitForResult(sim, 'tested')).toMatchObject({ status: 'success', output: 'tested\n' });

    const sent = Date.now();
    sim.dispatch({ task_id: 'orphan', command: 'echo never', depends_on: ['sent-elsewhere'] });
    const orphan = await waitForResult(sim, 'orphan', 10_000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    expect(orphan).toMatchObject({ status: 'error', error_code: 'DEPENDENCY_FAILED', output: '' });
    expect(orphan.error).toContain('sent-elsewhere never arrived on this agent within 1 s');
  });

  it('bad priority or depends_on is refused INVALID_TASK naming the field; a cycle is refused DEPENDENCY_FAILED', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({ task_id: 'frac', command: 'echo x', priority: 0.5 });
    sim.dispatch({ task_id: 'path-dep', command: 'echo x', depends_on: ['../etc'] });
    sim.dispatch({ task_id: 'loop', command: 'echo x', depends_on: ['loop'] });
    expect(await waitForResult(sim, 'frac')).toMatchObject({ status: 'error', error_code: 'INVALID_TASK' });
    expect(sim.result('frac').error).toContain('priority');
    expect(await waitForResult(sim, 'path-dep')).toMatchObject({ error_code: 'INVALID_TASK' });
    expect(await waitForResult(sim, 'loop')).toMatchObject({ error_code: 'DEPENDENCY_FAILED' });
    expect(sim.result('loop').error).toContain('cycle (loop → loop)');
  });
});

describe('hooks', () => {
  it('pre_task and post_task run around the command in its dir with its env, output as agent lines; post sees ATS_TASK_STATUS', async () => {
    const sim = await startPlatform();
    const order = orderFile();
    await connectedAgent(sim, {
      config: {
        hooks: {
          pre_task: `echo "pre $ATS_TASK_ID $STAGE $(basename "$PWD")"; echo pre >> ${order}`,
          post_task: `echo "post $ATS_TASK_STATUS"; echo "post $ATS_TASK_STATUS" >> ${order}`,
        },
      },
    });
    // a task's env_vars cannot tell post_task a better status than the real one
    sim.dispatch({
      task_id: 'hooked',
      command: `echo cmd >> ${order}; exit 2`,
      env_vars: { STAGE: 'ci', ATS_TASK_STATUS: 'success' },
    });
    const result = await waitForResult(sim, 'hooked');
    expect(result).toMatchObject({ status: 'failed', exit_code: 2 });
    expect(readFileSync(order, 'utf8')).toBe('pre\ncmd\npost failed\n');
    const lines = agentLines(sim, 'hooked');
    expect(lines).toContain('[pre_task] pre hooked ci hooked');
    expect(lines).toContain('[post_task] post failed');
    expect(sim.logs('hooked').every((f) => f.stream !== 'stdout')).toBe(true);
  });

  it('a failing pre_task: error / HOOK_FAILED and the command never runs; post_task runs after a timeout and a cancel', async () => {
    const sim = await startPlatform();
    const dir = tempDir('ats-hook-');
    chmodSync(dir, 0o777);
    await connectedAgent(sim, {
      config: {
        task: { kill_grace: 1, max_concurrent: 4 },
        hooks: {
          pre_task: 'if [ "$FAIL_PRE" = 1 ]; then echo "no device attached" >&2; exit 9; fi',
          post_task: `echo "$ATS_TASK_STATUS" > ${dir}/post-$ATS_TASK_ID; echo "masked $API_TOKEN"`,
          timeout: 5,
        },
      },
    });
    sim.dispatch({ task_id: 'pre-fails', command: `touch ${dir}/ran`, env_vars: { FAIL_PRE: '1' } });
    sim.dispatch({ task_id: 'too-slow', command: 'sleep 30', timeout: 0.5 });
    sim.dispatch({ task_id: 'cancel-me', command: 'sleep 30', env_vars: { API_TOKEN: 'tk-9f8e7d6c5b' } });
    const pre = await waitForResult(sim, 'pre-fails');
    expect(pre).toMatchObject({ status: 'error', error_code: 'HOOK_FAILED', exit_code: -1 });
    expect(pre.error).toBe('the pre_task hook exited with 9: no device attached; the command did not run');
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
    expect(await waitForResult(sim, 'too-slow')).toMatchObject({ status: 'timeout' });
    await sim.waitFor(() => sim.logs('cancel-me').length > 0, 10_000, 'cancel-me to start');
    sim.cancel('cancel-me');
    expect(await waitForResult(sim, 'cancel-me')).toMatchObject({ status: 'cancelled' });
    const post = (id: string) => readFileSync(path.join(dir, `post-${id}`), 'utf8').trim();
    expect([post('pre-fails'), post('too-slow'), post('cancel-me')]).toEqual(['error', 'timeout', 'cancelled']);
    expect(agentLines(sim, 'cancel-me')).toContain('[post_task] masked ***');
    expect(JSON.stringify(sim.frames)).not.toContain('tk-9f8e7d6c5b');
  });

  it('a task frame cannot set hooks: an agent without hooks runs none of them', async () => {
    const sim = await startPlatform();
    const dir = tempDir('ats-hook-');
    await connectedAgent(sim);
    sim.dispatch({
      task_id: 'sneaky',
      command: 'echo plain',
      hooks: { pre_task: `touch ${dir}/pwned`, post_task: `touch ${dir}/pwned`, timeout: 1 },
    });
    expect(await waitForResult(sim, 'sneaky')).toMatchObject({ status: 'success', output: 'plain\n' });
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(agentLines(sim, 'sneaky')).toBe('');
  });

  it.runIf(isRoot)('hooks run as the task user (task.run_as), never with more rights than the task', async () => {
    const sim = await startPlatform();
    const parent = tempDir('ats-open-');
    chmodSync(parent, 0o777);
    await connectedAgent(sim, {
      workDir: path.join(parent, 'work'),
      config: { task: { run_as: 'nobody' }, hooks: { pre_task: 'echo "pre uid $(id -u)"' } },
    });
    sim.dispatch({ task_id: 'as-nobody', command: 'id -u' });
    expect(await waitForResult(sim, 'as-nobody')).toMatchObject({ status: 'success', output: '65534\n' });
    expect(agentLines(sim, 'as-nobody')).toContain('[pre_task] pre uid 65534');
  });

  it('a bad hooks value stops the agent at start with exit 2 naming the key', async () => {
    const agent = spawnAgent({ url: 'ws://127.0.0.1:9/ws/agent', config: { hooks: { timeout: 'soon' } } });
    const { code } = await agent.exited;
    expect(code).toBe(2);
    expect(agent.stderr()).toMatch(/hooks\.timeout: .*expected number/);
  });
});
