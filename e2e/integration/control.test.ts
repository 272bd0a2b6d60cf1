/**
 * Agent control and live config (issue 14, PROTOCOL.md second round) with the built agent, started
 * from `/`, against the simulator: pause / resume / drain frames, SIGQUIT, --ephemeral,
 * --drain-timeout, config_update's new keys, SIGHUP with a good and a broken file.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { PlatformSimulator } from '../platform/simulator.js';
import { connectedAgent, sleep, startPlatform, tempDir, waitForResult, type AgentRun } from './harness.js';

/** The close code of the agent's connection, once it has ended. */
function closeCode(sim: PlatformSimulator): Promise<number> {
  return new Promise((resolve) => sim.once('disconnect', (code: number) => resolve(code)));
}

const lastHeartbeat = (sim: PlatformSimulator) => sim.heartbeats.at(-1)?.frame;

/** The agent exits by itself within `ms`, or the test fails. */
async function exitsWithin(agent: AgentRun, ms: number) {
  return Promise.race([
    agent.exited,
    sleep(ms).then(() => {
      throw new Error(`the agent did not exit within ${ms} ms:\n${agent.stderr()}`);
    }),
  ]);
}

describe('pause and resume', () => {
  it('paused: a task received stays queued and running ones go on; the heartbeat says paused; resume runs it', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    expect(sim.authFrames[0].agent_info.features).toEqual(expect.arrayContaining(['pause', 'drain']));
    expect(lastHeartbeat(sim).agent.paused).toBe(false);
    sim.dispatch({ task_id: 'running', command: 'echo started; sleep 1; echo done' });
    await sim.waitFor(() => sim.logs('running').length > 0, 5000, 'the first task to start');
    sim.pause();
    await sim.waitFor(() => lastHeartbeat(sim)?.agent.paused === true, 5000, 'a heartbeat saying paused');
    sim.dispatch({ task_id: 'held', command: 'echo held ran' });
    expect((await waitForResult(sim, 'running')).status).toBe('success');
    await sleep(1500);
    expect(sim.result('held')).toBeUndefined();
    expect(sim.frames.some((f) => f.frame.type === 'task_log' && f.frame.task_id === 'held')).toBe(false);
    sim.resume();
    const held = await waitForResult(sim, 'held');
    expect(held).toMatchObject({ status: 'success' });
    expect(held.output).toContain('held ran');
    await sim.waitFor(() => lastHeartbeat(sim)?.agent.paused === false, 5000, 'a heartbeat saying not paused');
    expect(agent.stdout() + agent.stderr()).toMatch(/paused by the platform[\s\S]*resumed by the platform/);
  });
});

describe('drain', () => {
  it('the platform drains while a task runs and one is queued: the running one finishes, the queued one is refused, close 1000, exit 0', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.dispatch({ task_id: 'running', command: 'echo started; sleep 1.5; echo finished' });
    sim.dispatch({ task_id: 'queued', command: 'echo never' });
    await sim.waitFor(() => sim.logs('running').length > 0, 5000, 'the first task to start');
    const closed = closeCode(sim);
    sim.drain();
    await sim.waitFor(() => lastHeartbeat(sim)?.agent.draining === true, 5000, 'a heartbeat saying draining');
    expect(lastHeartbeat(sim).agent.paused).toBe(true);
    sim.resume(); // a drain is one way
    const { code } = await exitsWithin(agent, 15_000);
    expect(code).toBe(0);
    expect(await closed).toBe(1000);
    expect(sim.result('running')).toMatchObject({ status: 'success' });
    expect(sim.result('running').output).toContain('finished');
    expect(sim.result('queued')).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
    expect(sim.results('running')).toHaveLength(1);
    expect(agent.stderr()).toMatch(/resume from the platform ignored: the agent is draining/);
  });

  it('SIGQUIT drains: an idle agent closes with 1000 and exits 0 at once', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const closed = closeCode(sim);
    agent.child.kill('SIGQUIT');
    expect((await exitsWithin(agent, 10_000)).code).toBe(0);
    expect(await closed).toBe(1000);
    expect(agent.stderr()).toMatch(/draining \(SIGQUIT\)/);
  });

  it('--drain-timeout: a task that outlives it is stopped and reported; exit 0', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { args: ['--drain-timeout', '1'] });
    sim.dispatch({ task_id: 'long', command: 'echo started; sleep 60' });
    await sim.waitFor(() => sim.logs('long').length > 0, 5000, 'the task to start');
    const started = Date.now();
    agent.child.kill('SIGQUIT');
    expect((await exitsWithin(agent, 15_000)).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(sim.result('long')).toBeDefined();
    expect(sim.result('long').status).not.toBe('success');
    expect(agent.stderr()).toMatch(/drained: the drain timeout \(1 s\) passed/);
  });

  it('--ephemeral: exactly one task runs, a second one is refused, then close 1000 and exit 0', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { args: ['--ephemeral', '--max-concurrent', '2'] });
    expect(lastHeartbeat(sim).agent.paused).toBe(false);
    const closed = closeCode(sim);
    sim.dispatch({ task_id: 'one', command: 'sleep 0.5; echo the one' });
    sim.dispatch({ task_id: 'two', command: 'echo not me' });
    expect((await exitsWithin(agent, 15_000)).code).toBe(0);
    expect(await closed).toBe(1000);
    expect(sim.result('one')).toMatchObject({ status: 'success' });
    expect(sim.result('two')).toMatchObject({ status: 'error', error_code: 'AGENT_SHUTDOWN' });
  });

  it('rejects --drain-timeout that is not a positive number (exit 2)', async () => {
    const sim = await startPlatform();
    const agent = (await import('./harness.js')).spawnAgent({ url: sim.url, args: ['--drain-timeout', '-3'] });
    expect((await agent.exited).code).toBe(2);
    expect(agent.stderr()).toContain('--drain-timeout takes a number of seconds > 0');
  });
});

describe('config_update: logging.level, monitor.interval, task.timeout', () => {
  it('apply at once; a bad value is answered with an error naming the key and changes nothing', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    sim.sendConfigUpdate({ monitor: { interval: 0 }, logging: { level: 'DEBUG' } });
    const error = await sim.waitFor(() => sim.errors.find((e) => e.type === 'error'), 5000, 'an error frame');
    expect(error.message).toMatch(/^config_update: monitor\.interval: /);
    // nothing of the bad frame applied: still INFO (no debug line), still 5 s between heartbeats
    sim.dispatch({ task_id: 'quiet', command: 'true' });
    await waitForResult(sim, 'quiet');
    expect(agent.stderr()).not.toMatch(/\[debug\]/);

    sim.sendConfigUpdate({ monitor: { interval: 1 }, logging: { level: 'DEBUG' }, task: { timeout: 1 } });
    await agent.waitForOutput(/task\.timeout from the platform: 1 s/);
    const before = sim.heartbeats.length;
    await sleep(3200);
    expect(sim.heartbeats.length - before).toBeGreaterThanOrEqual(3);
    sim.dispatch({ task_id: 'slow', command: 'sleep 10' });
    expect(await waitForResult(sim, 'slow')).toMatchObject({ status: 'timeout' });
    // a task's own timeout still wins
    sim.dispatch({ task_id: 'own', command: 'sleep 1.5', timeout: 10 });
    expect(await waitForResult(sim, 'own')).toMatchObject({ status: 'success' });
    expect(agent.stderr()).toMatch(/\[debug\] \[agent\] task own received/);
  });
});

describe('SIGHUP reloads the config file', () => {
  function configFile(values: Record<string, unknown>) {
    const file = path.join(tempDir('ats-hup-'), 'agent.yaml');
    writeFileSync(file, stringify(values));
    return file;
  }

  it('live keys apply, a key that needs a restart is named; a broken file changes nothing and names the key and file', async () => {
    const sim = await startPlatform();
    const file = configFile({ task: { timeout: 60 }, monitor: { interval: 5 } });
    const agent = await connectedAgent(sim, { args: ['--config', file] });

    writeFileSync(
      file,
      stringify({ task: { timeout: 1, kill_grace: 2 }, monitor: { interval: 1 }, agent: { tags: ['after-hup'] } }),
    );
    agent.child.kill('SIGHUP');
    await agent.waitForOutput(/config reloaded \(SIGHUP\): .*task\.timeout/);
    await agent.waitForOutput(/config \(SIGHUP\): task\.kill_grace changed; it takes effect at the next start/);
    sim.dispatch({ task_id: 'after-hup', command: 'sleep 10' });
    expect(await waitForResult(sim, 'after-hup')).toMatchObject({ status: 'timeout' });

    writeFileSync(file, stringify({ task: { timeout: 60 }, monitor: { interval: -4 } }));
    agent.child.kill('SIGHUP');
    await agent.waitForOutput(/SIGHUP: the config was not reloaded/);
    expect(agent.stderr()).toContain(`config file ${file}: monitor.interval:`);
    writeFileSync(file, 'task: [not: a mapping');
    agent.child.kill('SIGHUP');
    await agent.waitForOutput(new RegExp(`config file ${file} is not valid YAML`));
    // the old values stay: 1 s heartbeats, 1 s default timeout
    const before = sim.heartbeats.length;
    await sleep(2200);
    expect(sim.heartbeats.length - before, agent.stderr()).toBeGreaterThanOrEqual(2);
    sim.dispatch({ task_id: 'still-1s', command: 'sleep 10' });
    expect(await waitForResult(sim, 'still-1s')).toMatchObject({ status: 'timeout' });
    expect(agent.child.exitCode).toBeNull();

    // the new tags reach the platform with the next auth
    sim.dropConnections();
    await sim.waitFor(() => sim.authFrames.length > 1, 15_000, 'the agent to authenticate again');
    expect(sim.authFrames.at(-1).agent_info.tags).toContain('after-hup');
  });
});
