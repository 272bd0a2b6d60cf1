/**
 * The stand-alone simulator (e2e/platform/serve.ts) as a person drives it: its REPL pauses, resumes,
 * sends a config_update, accepts a registration token and drains the built agent.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_CWD, REPO, agentCommand, agentEnv } from '../lib/agent-env.js';
import { unusedPort } from '../lib/ports.js';
import { TOKEN, spawnAgent, tempDir } from './harness.js';

const stops: Array<() => void> = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

async function serve(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'e2e/platform/serve.ts'), ...args], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  stops.push(() => child.kill('SIGKILL'));
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    waiters.forEach((w) => w());
  });
  const waitForLine = (pattern: RegExp, ms = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = lines.find((l) => pattern.test(l));
        if (!hit) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no line matching ${pattern} within ${ms} ms:\n${lines.join('\n')}`));
      }, ms);
      waiters.add(check);
      check();
    });
  const type = (line: string) => child.stdin.write(`${line}\n`);
  return { lines, waitForLine, type };
}

describe('the simulator REPL (serve.ts)', () => {
  it('pause, resume, config and drain reach the agent; register accepts a token', async () => {
    const port = await unusedPort();
    const repl = await serve(['--port', String(port), '--token', TOKEN]);
    await repl.waitForLine(/platform simulator listening on/);
    const agent = spawnAgent({ url: `ws://127.0.0.1:${port}/ws/agent`, workDir: path.join(tempDir(), 'work') });
    await repl.waitForLine(/^agent authenticated/);

    repl.type('pause');
    await repl.waitForLine(/^heartbeat: .*, paused$/);
    repl.type('config {"monitor":{"interval":1}}');
    await agent.waitForOutput(/monitor\.interval from the platform: 1 s/);
    repl.type('run echo from-the-repl');
    await repl.waitForLine(/^dispatched task-/);
    await repl.waitForLine(/^heartbeat: .*queued 1, paused$/);
    repl.type('resume');
    await repl.waitForLine(/\] result: success, exit 0/);
    expect(repl.lines.some((l) => /\[task-\S+ stdout\] from-the-repl/.test(l))).toBe(true);

    repl.type('register reg-typed-in');
    await repl.waitForLine(/^registration token accepted/);
    const tokenFile = path.join(tempDir(), 'agent.token');
    const command = agentCommand();
    const register = spawn(
      command.file,
      [...command.args, 'register', '--server-url', `ws://127.0.0.1:${port}/ws/agent`, '--token-file', tokenFile],
      { cwd: AGENT_CWD, env: agentEnv(null, { ATS_AGENT_REGISTRATION_TOKEN: 'reg-typed-in' }) },
    );
    expect(await new Promise((resolve) => register.on('exit', resolve))).toBe(0);
    await repl.waitForLine(/^registration from /);
    expect(readFileSync(tokenFile, 'utf8')).toMatch(/^tok-reg-/);
    repl.type('config {"monitor":{"interval":0}}');
    await repl.waitForLine(/^agent error INVALID_MESSAGE: config_update: monitor\.interval/);
    repl.type('drain');
    await repl.waitForLine(/^agent disconnected \(1000/);
    expect((await agent.exited).code).toBe(0);
  });
});
