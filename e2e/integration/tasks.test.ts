/** Spec 7.1/7.2: task execution end to end, real agent process, real children, real socket. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, connectedAgent, listFiles, sleep, startPlatform, tempDir, TOKEN, waitForResult } from './harness.js';

describe('tasks', () => {
  it('runs a task: streamed stdout and stderr told apart, result, log file, env, cwd', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({
      task_id: 't-ok',
      command: 'echo out-1; echo err-1 >&2; echo "env=$TEST_ENV task=$ATS_TASK_ID"; pwd; env',
      env_vars: { TEST_ENV: 'staging' },
    });
    const result = await waitForResult(sim, 't-ok');
    const taskDir = path.join(agent.workDir, 'tasks', 't-ok');
    expect(result).toMatchObject({
      type: 'task_result',
      task_id: 't-ok',
      status: 'success',
      exit_code: 0,
      error: 'err-1\n',
    });
    expect(result.output).toContain('out-1\nenv=staging task=t-ok\n' + taskDir);
    expect(result.duration).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(result.timestamp))).toBe(false);
    const logs = sim.logs('t-ok');
    expect(logs[0]).toMatchObject({ type: 'task_log', task_id: 't-ok', seq: 1 });
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i + 1));
    expect(sim.output('t-ok', 'stderr')).toBe('err-1');
    expect(logs.find((l) => l.stream === 'stderr')).toMatchObject({ level: 'warning' });
    expect(logs.find((l) => l.stream === 'stdout')).toMatchObject({ level: 'info' });
    expect(sim.output('t-ok', 'stdout')).toContain(`ATS_TASK_DIR=${taskDir}`);
    expect(sim.output('t-ok', 'stdout')).toContain(`ATS_WORK_DIR=${agent.workDir}`);
    // the agent's token never reaches a task
    expect(sim.output('t-ok')).not.toContain(TOKEN);
    expect(sim.output('t-ok')).not.toMatch(/ATS_AGENT_TOKEN/);
    const file = readFileSync(path.join(agent.workDir, 'logs', 'tasks', 't-ok.log'), 'utf8');
    expect(file).toContain('out-1');
    expect(file).toContain('err-1');
    await agent.stop();
  });

  it('reports a failing command as failed with its exit code', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({ task_id: 't-fail', command: 'echo about to fail; exit 7' });
    expect(await waitForResult(sim, 't-fail')).toMatchObject({
      status: 'failed',
      exit_code: 7,
      output: 'about to fail\n',
    });
  });

  it('runs in a work_dir the task names, inside the work root', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({ task_id: 't-wd', command: 'pwd; touch made-here', work_dir: 'custom/place' });
    const result = await waitForResult(sim, 't-wd');
    expect(result.status).toBe('success');
    expect(result.output.trim()).toBe(path.join(agent.workDir, 'custom', 'place'));
    expect(existsSync(path.join(agent.workDir, 'custom', 'place', 'made-here'))).toBe(true);
  });

  it('refuses a work_dir outside the work root with an error result, running nothing', async () => {
    const sim = await startPlatform();
    const outside = tempDir();
    await connectedAgent(sim);
    sim.dispatch({ task_id: 't-escape', command: 'touch pwned', work_dir: outside });
    const result = await waitForResult(sim, 't-escape');
    expect(result).toMatchObject({ status: 'error', error_code: 'INVALID_TASK' });
    expect(result.error).toMatch(/outside the work root/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('times out: the result says timeout and no process of the tree survives', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim, { config: { task: { kill_grace: 1 } } });
    sim.dispatch({
      task_id: 't-slow',
      command: 'sleep 60 & echo child=$!; (trap "" TERM; sleep 60) & echo stubborn=$!; wait',
      timeout: 1,
    });
    const result = await waitForResult(sim, 't-slow');
    expect(result).toMatchObject({ status: 'timeout', error_code: 'TASK_TIMEOUT' });
    const pids = [...result.output.matchAll(/(?:child|stubborn)=(\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('cancels a running task and its whole tree; cancels a queued task at once', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({ task_id: 't-run', command: 'sh -c "sleep 60" & echo child=$!; sleep 60' });
    sim.dispatch({ task_id: 't-queued', command: 'echo never' });
    await sim.waitFor(() => sim.output('t-run').includes('child='), 10_000, 'the child pid');
    const child = Number(/child=(\d+)/.exec(sim.output('t-run'))![1]);
    expect(alive(child)).toBe(true);
    sim.cancel('t-queued');
    expect(await waitForResult(sim, 't-queued')).toMatchObject({ status: 'cancelled' });
    sim.cancel('t-run');
    expect(await waitForResult(sim, 't-run')).toMatchObject({ status: 'cancelled', error_code: 'TASK_CANCELLED' });
    expect(alive(child)).toBe(false);
    expect(sim.output('t-queued')).not.toContain('never');
  });

  it('runs one task at a time by default and two with max_concurrent 2', async () => {
    const overlap = async (maxConcurrent: number) => {
      const sim = await startPlatform();
      const agent = await connectedAgent(sim, { config: { task: { max_concurrent: maxConcurrent } } });
      for (const id of ['c1', 'c2', 'c3']) sim.dispatch({ task_id: `${id}-${maxConcurrent}`, command: 'sleep 0.6' });
      const results = await Promise.all(['c1', 'c2', 'c3'].map((id) => waitForResult(sim, `${id}-${maxConcurrent}`)));
      await agent.stop();
      const spans = results.map((r) => [Date.parse(r.started_at), Date.parse(r.timestamp)] as const);
      let most = 0;
      for (const [start] of spans) most = Math.max(most, spans.filter(([s, e]) => s <= start && start < e).length);
      return most;
    };
    expect(await overlap(1)).toBe(1);
    expect(await overlap(2)).toBe(2);
  });

  it('never runs a task_id twice: a redelivery gets the same result again', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({ task_id: 't-once', command: 'echo ran >> ../../once-marker; echo done' });
    await waitForResult(sim, 't-once');
    sim.dispatch({ task_id: 't-once', command: 'echo ran >> ../../once-marker; echo done' });
    await sim.waitFor(() => sim.results('t-once').length === 2, 10_000, 'the result sent again');
    expect(readFileSync(path.join(agent.workDir, 'once-marker'), 'utf8')).toBe('ran\n');
    expect(sim.results('t-once')[1]).toEqual(sim.results('t-once')[0]);
  });

  it('applies a cleanup policy from config_update, keeping the newest tasks', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { config: { monitor: { interval: 0.5 } } });
    for (const n of [1, 2, 3, 4]) {
      sim.dispatch({ task_id: `old-${n}`, command: 'echo x > file' });
      await waitForResult(sim, `old-${n}`);
      await sleep(20);
    }
    sim.sendConfigUpdate({ task: { cleanup: { keep_tasks: 2 } } });
    await sim.waitFor(() => readdirSync(path.join(agent.workDir, 'tasks')).length === 2, 10_000, 'cleanup');
    expect(readdirSync(path.join(agent.workDir, 'tasks')).sort()).toEqual(['old-3', 'old-4']);
    expect(readdirSync(path.join(agent.workDir, 'logs', 'tasks')).sort()).toEqual(['old-3.log', 'old-4.log']);
    // their confirmed journal entries go with them
    await sim.waitFor(
      () => readdirSync(path.join(agent.workDir, 'state', 'tasks')).length === 2,
      10_000,
      'journal pruning',
    );
    expect(readdirSync(path.join(agent.workDir, 'state', 'tasks')).sort()).toEqual(['old-3.json', 'old-4.json']);
  });

  it('batches heavy output into few frames and loses no line', async () => {
    const sim = await startPlatform();
    await connectedAgent(sim);
    sim.dispatch({ task_id: 't-many', command: 'seq 1 100000' });
    await waitForResult(sim, 't-many', 30_000);
    const lines = sim.output('t-many', 'stdout').split('\n');
    expect(lines).toHaveLength(100_000);
    expect(lines[0]).toBe('1');
    expect(lines[99_999]).toBe('100000');
    expect(sim.logs('t-many').length).toBeLessThan(1_000);
  });

  it('stops running tasks on SIGTERM, reports them, closes with 1000 and exits 0', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { config: { task: { kill_grace: 1 } } });
    const closes: number[] = [];
    sim.on('disconnect', (code: number) => closes.push(code));
    sim.dispatch({ task_id: 't-long', command: 'sleep 60 & echo child=$!; wait' });
    await sim.waitFor(() => sim.output('t-long').includes('child='), 10_000, 'the child pid');
    const child = Number(/child=(\d+)/.exec(sim.output('t-long'))![1]);
    const { code } = await agent.stop('SIGTERM');
    expect(code).toBe(0);
    expect(sim.result('t-long')).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
    expect(alive(child)).toBe(false);
    await sim.waitFor(() => closes.length > 0, 5_000, 'the close');
    expect(closes[0]).toBe(1000);
  });

  it('writes nothing outside its work dir and its temp files', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({ task_id: 'inside', command: 'echo hi > here.txt' });
    await waitForResult(sim, 'inside');
    await agent.stop();
    const files = listFiles(agent.workDir);
    expect(files).toEqual(
      expect.arrayContaining(['agent-id', 'logs/agent.log', 'logs/tasks/inside.log', 'tasks/inside/here.txt']),
    );
  });
});
