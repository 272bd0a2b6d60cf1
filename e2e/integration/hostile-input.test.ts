/** Bad frames from the platform: answered, logged, never a crash or a disconnect, nothing outside the work dir. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectedAgent, listFiles, sleep, startPlatform, tempDir, TOKEN, waitForResult } from './harness.js';

describe('bad frames', () => {
  it('answers every unusable frame with an error and stays connected', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim);
    const outside = tempDir();
    const bad = [
      'not json at all',
      '{"type":',
      '[]',
      '42',
      'null',
      JSON.stringify({ no_type: true }),
      JSON.stringify({ type: 'launch_missiles' }),
      JSON.stringify({ type: 'task' }),
      JSON.stringify({ type: 'task', task_id: 'x1' }),
      JSON.stringify({ type: 'task', task_id: 'x2', command: 42 }),
      JSON.stringify({ type: 'task', task_id: 'x3', command: 'echo', timeout: 'soon' }),
      JSON.stringify({ type: 'task', task_id: 'x4', command: 'echo', env_vars: 'A=1' }),
      JSON.stringify({ type: 'task', task_id: `../../${path.basename(outside)}/pwned`, command: 'echo pwned > pwned' }),
      JSON.stringify({ type: 'task', task_id: '/etc/passwd', command: 'echo' }),
      JSON.stringify({ type: 'cancel_task' }),
      JSON.stringify({ type: 'cancel_task', task_id: 'no-such-task' }),
      JSON.stringify({ type: 'config_update', task: { max_concurrent: 'lots' } }),
      JSON.stringify({ type: 'auth_success', environment_id: 5 }),
      JSON.stringify({ type: 'ack' }),
      JSON.stringify({ type: 'ack', task_id: 'x2', seq: 'all' }),
      JSON.stringify({ type: 'ack', task_id: 'x2', seq: 1, result: true }),
    ];
    for (const frame of bad) sim.sendRaw(frame);
    await sim.waitFor(
      () => sim.errors.filter((e) => e.type === 'error').length >= bad.length - 1,
      10_000,
      'an error reply per bad frame',
    );
    // a task frame that names its task still gets one error result for it
    expect(await waitForResult(sim, 'x2')).toMatchObject({ status: 'error', error_code: 'INVALID_TASK' });
    const traversal = sim.results(`../../${path.basename(outside)}/pwned`);
    expect(traversal[0]).toMatchObject({ status: 'error', error_code: 'INVALID_TASK' });
    expect(sim.errors.find((e) => e.type === 'error' && /unknown frame type/.test(e.message))).toBeDefined();
    expect(sim.errors.find((e) => e.code === 'TASK_NOT_FOUND')).toBeDefined();
    // still the first connection, still working
    expect(sim.authCount).toBe(1);
    sim.dispatch({ task_id: 'still-works', command: 'echo fine' });
    expect(await waitForResult(sim, 'still-works')).toMatchObject({ status: 'success', output: 'fine\n' });
    // a broken frame naming a task that already ran gets an error frame, never a second result
    const errorsBefore = sim.errors.length;
    sim.sendRaw(JSON.stringify({ type: 'task', task_id: 'still-works', command: 42 }));
    await sim.waitFor(() => sim.errors.length > errorsBefore, 10_000, 'the error frame');
    expect(sim.results('still-works')).toHaveLength(1);
    // well-formed but hostile acks: an unknown task, a seq never sent, repeated: no crash, nothing lost
    for (const ack of [
      { type: 'ack', task_id: 'no-such-task', seq: 5 },
      { type: 'ack', task_id: 'still-works', seq: 1e9 },
      { type: 'ack', task_id: 'still-works', result: true },
      { type: 'ack', task_id: 'still-works', result: true },
    ])
      sim.sendRaw(JSON.stringify(ack));
    sim.dispatch({ task_id: 'after-acks', command: 'echo ok' });
    expect(await waitForResult(sim, 'after-acks')).toMatchObject({ status: 'success', output: 'ok\n' });
    expect(sim.output('after-acks')).toBe('ok');
    expect(existsSync(path.join(outside, 'pwned'))).toBe(false);
    expect(agent.child.exitCode).toBeNull();
    expect((await agent.stop()).code).toBe(0);
    for (const file of listFiles(agent.workDir))
      expect(file).toMatch(
        /^(agent-id|logs\/agent\.log|logs\/tasks\/(still-works|after-acks)\.log|tasks\/(still-works|after-acks)\/?.*|state\/(tasks|task-dirs)\/[\w.-]+\.json|state\/outbox\.log)$/,
      );
  });
});

describe('the token stays secret', () => {
  it('is absent from agent.log at DEBUG, from task env and from the process command line', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, { args: ['--log-level', 'DEBUG', '--token', TOKEN], token: null });
    expect(readFileSync(`/proc/${agent.child.pid}/cmdline`, 'utf8')).not.toContain(TOKEN);
    sim.dispatch({
      task_id: 'env-dump',
      command: 'env; cat /proc/$PPID/cmdline 2>/dev/null; ps -ef 2>/dev/null || true',
    });
    const result = await waitForResult(sim, 'env-dump');
    expect(result.output).not.toContain(TOKEN);
    sim.dropConnections();
    await sim.waitFor(() => sim.authCount >= 2, 15_000, 'a reconnect (logs the URL again)');
    await agent.stop();
    const log = readFileSync(path.join(agent.workDir, 'logs', 'agent.log'), 'utf8');
    expect(log).toMatch(/\[debug\]/);
    expect(log).toMatch(/connecting to ws:\/\/127\.0\.0\.1:\d+\/ws\/agent\?token=\*\*\*/);
    expect(log).not.toContain(TOKEN);
    expect(agent.stdout() + agent.stderr()).not.toContain(TOKEN);
  });
});

describe('agent.log rotation', () => {
  it('keeps logging.backup_count numbered backups of logging.max_size', async () => {
    const sim = await startPlatform();
    const agent = await connectedAgent(sim, {
      config: { logging: { level: 'DEBUG', max_size: 2048, backup_count: 2 }, monitor: { interval: 0.5 } },
    });
    for (let i = 0; i < 25; i++) sim.dispatch({ task_id: `rot-${i}`, command: 'true' });
    await waitForResult(sim, 'rot-24');
    await sleep(200);
    await agent.stop();
    const logs = path.join(agent.workDir, 'logs');
    expect(existsSync(path.join(logs, 'agent.log.1'))).toBe(true);
    expect(existsSync(path.join(logs, 'agent.log.2'))).toBe(true);
    expect(existsSync(path.join(logs, 'agent.log.3'))).toBe(false);
    expect(readFileSync(path.join(logs, 'agent.log.1'), 'utf8').length).toBeLessThan(2048 + 1024);
  });
});
