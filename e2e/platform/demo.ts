/**
 * `npm run demo`: the built headless agent (dist-electron/cli.js) against the simulated platform,
 * end to end over a real loopback WebSocket. Prints what a platform would see; exits non-zero when
 * something the protocol promises did not happen. `--verbose` also shows the agent's own console.
 * The sample commands are POSIX shell.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SystemInfo, TaskLogFrame, TaskResultFrame, TaskStatus } from '../../main/core/protocol/frames.js';
import { PlatformSimulator, type DispatchedTask } from './simulator.js';
import { BUILT_CLI, agentEnv } from '../lib/agent-env.js';

const verbose = process.argv.includes('--verbose');
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const [bold, dim, red, green, yellow, cyan, magenta] = [1, 2, 31, 32, 33, 36, 35].map(paint);

interface Sample {
  title: string;
  task: DispatchedTask;
  status: TaskStatus;
  exitCode?: number;
  stdoutIncludes?: string;
  /** output must arrive while the task runs, not all at the end */
  live?: boolean;
  cancelAfterMs?: number;
  /** test_report counts the result must carry */
  testReport?: { tests: number; failures: number; skipped: number };
  /** files the simulator serves for the task, by name, before it is sent */
  serve?: Record<string, string>;
  /** the artifacts the simulator must have received, and their content */
  uploaded?: Record<string, string>;
}

const GREET = '#!/bin/sh\necho "$(cat data/who.txt) says hello" | tee out/greeting.txt\n';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const samples: Sample[] = [
  {
    title: 'a one-liner',
    task: { task_id: 'echo', command: 'echo hello' },
    status: 'success',
    exitCode: 0,
    stdoutIncludes: 'hello',
  },
  {
    title: 'output streamed over ~2 s',
    task: { task_id: 'loop', command: 'for i in 1 2 3 4 5; do echo step $i; sleep 0.4; done' },
    status: 'success',
    exitCode: 0,
    stdoutIncludes: 'step 5',
    live: true,
  },
  {
    title: 'stderr and exit 3',
    task: { task_id: 'stderr', command: 'echo checking; echo "something went wrong" >&2; exit 3' },
    status: 'failed',
    exitCode: 3,
  },
  {
    title: 'env_vars reach the task',
    task: { task_id: 'env', command: 'echo "TEST_ENV=$TEST_ENV"', env_vars: { TEST_ENV: 'staging' } },
    status: 'success',
    exitCode: 0,
    stdoutIncludes: 'TEST_ENV=staging',
  },
  {
    title: 'a downloaded script (sha256, mode 0755) and an uploaded artifact',
    task: {
      task_id: 'files',
      command: 'mkdir -p out && ./bin/greet.sh',
      files: [
        { url: 'greet.sh', path: 'bin/greet.sh', sha256: sha256(GREET), mode: '0755' },
        { url: 'who.txt', path: 'data/who.txt' },
      ],
      artifacts: { paths: ['out/*.txt'], upload_url: 'files' },
    },
    status: 'success',
    exitCode: 0,
    stdoutIncludes: 'the platform says hello',
    serve: { 'greet.sh': GREET, 'who.txt': 'the platform' },
    uploaded: { 'out/greeting.txt': 'the platform says hello\n' },
  },
  {
    title: 'a JUnit report, parsed into task_result.test_report',
    task: {
      task_id: 'junit',
      command:
        'mkdir -p reports && printf \'%s\' \'<testsuite name="demo"><testcase classname="demo.Math" name="adds" time="0.1"/>' +
        '<testcase classname="demo.Math" name="divides" time="0.2"><failure message="expected 2, got 3">at math.test.js:7</failure></testcase>' +
        '<testcase classname="demo.Net" name="offline"><skipped/></testcase></testsuite>\' > reports/junit.xml; exit 1',
      test_reports: ['reports/*.xml'],
    },
    status: 'failed',
    exitCode: 1,
    testReport: { tests: 3, failures: 1, skipped: 1 },
  },
  {
    title: 'depends_on a task that succeeded: it runs',
    task: { task_id: 'after-echo', command: 'echo "echo succeeded, so this runs"', depends_on: ['echo'] },
    status: 'success',
    exitCode: 0,
    stdoutIncludes: 'so this runs',
  },
  {
    title: 'depends_on a task that failed: DEPENDENCY_FAILED, nothing runs',
    task: { task_id: 'after-stderr', command: 'echo "never printed"', depends_on: ['stderr'] },
    status: 'error',
    exitCode: -1,
  },
  {
    title: 'killed by its 1 s timeout',
    task: { task_id: 'timeout', command: 'sleep 30', timeout: 1 },
    status: 'timeout',
  },
  {
    title: 'cancelled by the platform after 1 s',
    task: { task_id: 'cancel', command: 'echo "waiting to be cancelled"; sleep 30' },
    status: 'cancelled',
    cancelAfterMs: 1000,
  },
];

const RESULT_TIMEOUT_MS = 30_000;
const cli = BUILT_CLI;
const problems: string[] = [];
const agentTail: string[] = [];

if (!existsSync(cli)) {
  console.error(red(`${cli} is missing: build the agent first (npm run build; npm run demo does both).`));
  process.exit(1);
}

const token = `demo-${randomBytes(12).toString('hex')}`;
const root = await mkdtemp(join(tmpdir(), 'ats-agent-demo-'));
const workDir = join(root, 'work');
const sim = new PlatformSimulator({ tokens: [token], workDir });
const url = await sim.start();
console.log(bold(`platform simulator on ${url}, work dir ${workDir}`));

// The token goes through the environment: a command line is visible to every user of the machine.
const agent = spawn(process.execPath, [cli, '--server-url', url, '--work-dir', workDir, '--log-level', 'INFO'], {
  env: agentEnv(token),
  stdio: ['ignore', 'pipe', 'pipe'],
});
for (const stream of [agent.stdout, agent.stderr]) {
  createInterface({ input: stream }).on('line', (line) => {
    agentTail.push(line);
    if (agentTail.length > 30) agentTail.shift();
    if (verbose) console.log(dim(`  agent │ ${line}`));
  });
}
// 'close', not 'exit': the agent's last console lines are in agentTail by then.
const exited = new Promise<string>((resolve) => {
  agent.once('close', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
  agent.once('error', (err) => resolve(`spawn error: ${err.message}`));
});
/** sim.waitFor, but failing at once if the agent dies instead of running into the timeout */
const until = <T>(check: () => T | undefined | null | false, ms: number, what: string) =>
  Promise.race([
    sim.waitFor(check, ms, what),
    exited.then((how) => Promise.reject(new Error(`the agent ended (${how}) while the demo waited for ${what}`))),
  ]);

process.on('SIGINT', () => {
  agent.kill('SIGTERM');
  process.exit(130);
});

const dispatchedAt = new Map<string, number>();
const seen = new Set<string>();
let closeCode: number | undefined;
sim.on('disconnect', (code: number) => (closeCode = code));
sim.on('frame', (frame) => {
  if (frame?.type === 'task_log') printLog(frame);
  if (frame?.type === 'error') {
    console.log(red(`  agent answered with an error frame: ${JSON.stringify(frame)}`));
    problems.push(`unexpected error frame ${frame.code}`);
  }
});

try {
  const auth = await until(() => sim.connected && sim.authFrames.at(-1), 20_000, 'the agent to authenticate');
  console.log(`agent authenticated: ${JSON.stringify(auth.agent_info)}`);
  const heartbeat = await until(() => sim.heartbeats[0], 10_000, 'the first heartbeat');
  printSystemInfo(heartbeat.frame.system_info);

  for (const sample of samples) await runSample(sample);

  await demoDrain();
  for (const { task } of samples) {
    const count = sim.results(task.task_id).length;
    if (count > 1) problems.push(`${task.task_id}: result reported ${count} times`);
  }
  await printLogLocation();
} catch (err) {
  problems.push((err as Error).message);
  agent.kill('SIGKILL');
}

await sim.stop();
if (problems.length === 0) {
  console.log(green('\n✔ demo finished: everything the protocol promises happened'));
  process.exit(0);
}
console.log(red(`\n✘ ${problems.length} problem(s):`));
for (const problem of problems) console.log(red(`  - ${problem}`));
if (!verbose && agentTail.length) console.log(dim(`the agent's last console lines:\n  ${agentTail.join('\n  ')}`));
console.log(dim(`work dir kept for inspection: ${workDir}`));
process.exit(1);

/**
 * The end of a maintenance window: the platform drains the agent while a task runs and another
 * waits. The running one finishes, the waiting one comes back refused (to be run elsewhere), and the
 * agent closes with 1000 and exits 0 by itself.
 */
async function demoDrain(): Promise<void> {
  console.log(bold('\n▶ drain: the platform sends {"type":"drain"} while a task runs and one waits'));
  const last = { task_id: 'last', command: 'echo "finishing my work"; sleep 1; echo done' };
  const waiting = { task_id: 'waiting', command: 'echo "I should not run"' };
  dispatchedAt.set(last.task_id, Date.now()).set(waiting.task_id, Date.now());
  sim.dispatch(last);
  sim.dispatch(waiting);
  await until(() => sim.logs(last.task_id).length > 0, RESULT_TIMEOUT_MS, 'the last task to start');
  sim.drain();
  const draining = await until(
    () => sim.heartbeats.find((h) => h.frame.agent?.draining === true),
    10_000,
    'a heartbeat saying draining',
  );
  console.log(`  heartbeat: paused ${draining.frame.agent.paused}, draining ${draining.frame.agent.draining}`);
  const how = await Promise.race([exited, sleep(20_000).then(() => undefined)]);
  if (!how) {
    agent.kill('SIGKILL');
    problems.push('the agent did not exit within 20 s of the drain');
    return;
  }
  // the process can be gone a moment before the server sees its socket close
  await sim.waitFor(() => !sim.connected, 2000, 'the connection to end').catch(() => {});
  const lastResult = sim.result(last.task_id);
  const waitingResult = sim.result(waiting.task_id);
  console.log(
    `  ${last.task_id} ⇒ ${lastResult?.status}; ${waiting.task_id} ⇒ ${waitingResult?.status} ${waitingResult?.error_code ?? ''}`,
  );
  console.log(`agent ended with ${how}; it closed the connection with ${closeCode ?? 'nothing'}`);
  if (lastResult?.status !== 'success')
    problems.push(`drain: the running task should finish, got ${lastResult?.status}`);
  if (waitingResult?.error_code !== 'AGENT_SHUTDOWN')
    problems.push(`drain: the waiting task should be refused with AGENT_SHUTDOWN, got ${waitingResult?.error_code}`);
  if (how !== 'exit code 0') problems.push(`a drained agent should exit 0, got ${how}`);
  if (closeCode !== 1000) problems.push(`a drained agent should close the WebSocket with 1000, got ${closeCode}`);
}

async function runSample(sample: Sample): Promise<void> {
  const id = sample.task.task_id;
  console.log(`\n${bold(`▶ ${id}: ${sample.title}`)}  ${dim(`$ ${sample.task.command}`)}`);
  dispatchedAt.set(id, Date.now());
  // the sample names the simulator's files and artifact prefix; here they become its URLs
  const task = {
    ...sample.task,
    ...(sample.task.files
      ? {
          files: sample.task.files.map((f) => ({
            ...f,
            url: sim.serveFile(f.url, { content: sample.serve![f.url]! }),
          })),
        }
      : {}),
    ...(sample.task.artifacts
      ? { artifacts: { ...sample.task.artifacts, upload_url: sim.artifactsUrl(sample.task.artifacts.upload_url) } }
      : {}),
  };
  sim.dispatch(task);
  if (sample.cancelAfterMs) {
    await sleep(sample.cancelAfterMs);
    sim.cancel(id);
  }
  const result: TaskResultFrame = await until(() => sim.result(id), RESULT_TIMEOUT_MS, `the result of task ${id}`);
  const wrong: string[] = [];
  if (result.status !== sample.status) wrong.push(`status ${result.status}, expected ${sample.status}`);
  if (sample.exitCode !== undefined && result.exit_code !== sample.exitCode)
    wrong.push(`exit code ${result.exit_code}, expected ${sample.exitCode}`);
  if (sample.stdoutIncludes && !sim.output(id, 'stdout').includes(sample.stdoutIncludes))
    wrong.push(`no "${sample.stdoutIncludes}" in the streamed output`);
  if (sample.stdoutIncludes && !result.output?.includes(sample.stdoutIncludes))
    wrong.push(`no "${sample.stdoutIncludes}" in the result's output`);
  if (sample.live && arrivalSpread(id) < 1000) wrong.push('its output arrived all at once, not while it ran');
  if (!result.usage) wrong.push('no usage in the result');
  if (sample.testReport) {
    const r = result.test_report;
    const got = r ? { tests: r.tests, failures: r.failures, skipped: r.skipped } : null;
    if (JSON.stringify(got) !== JSON.stringify(sample.testReport))
      wrong.push(`test_report ${JSON.stringify(got)}, expected ${JSON.stringify(sample.testReport)}`);
    else
      for (const f of r!.failed)
        console.log(yellow(`  test report: ${f.suite} › ${f.name}: ${f.message.split('\n')[0]}`));
  }
  for (const [rel, content] of Object.entries(sample.uploaded ?? {})) {
    const got = sim.uploads.get(`${sample.task.artifacts!.upload_url}/${rel}`);
    const listed = result.artifacts?.find((a) => a.path === rel);
    if (got?.content?.toString() !== content) wrong.push(`artifact ${rel} did not arrive as written`);
    else if (!listed?.uploaded || listed.sha256 !== sha256(content))
      wrong.push(`artifact ${rel} is not listed as uploaded with its sha256 in task_result.artifacts`);
    else console.log(green(`  artifact ${rel} uploaded (${listed.size} bytes, sha256 ${listed.sha256.slice(0, 12)}…)`));
  }
  const extra = [result.error_code, result.signal].filter(Boolean).join(', ');
  const report = result.test_report
    ? `, tests ${result.test_report.tests}, ${result.test_report.failures} failed, ${result.test_report.skipped} skipped`
    : '';
  const used = result.usage
    ? `, cpu ${result.usage.cpu_seconds} s, peak ${result.usage.peak_rss_mb} MB (${result.usage.source})`
    : '';
  const line = `  ${id} ⇒ ${result.status} (exit ${result.exit_code}, ${result.duration} s${extra ? `, ${extra}` : ''}${report}${used})`;
  console.log(wrong.length ? red(`${line}: ${wrong.join('; ')}`) : green(line));
  problems.push(...wrong.map((w) => `${id}: ${w}`));
}

/** ms between the task's first log frame and its result */
function arrivalSpread(id: string): number {
  const at = (type: string) => sim.frames.find((f) => f.frame?.type === type && f.frame.task_id === id)?.at;
  const first = at('task_log');
  const done = at('task_result');
  return first !== undefined && done !== undefined ? done - first : 0;
}

function printLog(frame: TaskLogFrame): void {
  if (seen.has(`${frame.task_id}#${frame.seq}`)) return; // redelivered after a reconnect
  seen.add(`${frame.task_id}#${frame.seq}`);
  const elapsed = ((Date.now() - (dispatchedAt.get(frame.task_id) ?? Date.now())) / 1000).toFixed(1);
  const colour = frame.stream === 'stderr' ? yellow : frame.stream === 'agent' ? magenta : (s: string) => s;
  const prefix = cyan(
    `  ${frame.task_id.padEnd(8)}${`+${elapsed}s`.padStart(6)} ${(frame.stream ?? frame.level).padEnd(6)} │`,
  );
  for (const line of String(frame.message).replace(/\n$/, '').split('\n')) console.log(`${prefix} ${colour(line)}`);
}

function printSystemInfo(s: SystemInfo): void {
  const pct = (v: number | string) => (typeof v === 'number' ? `${v.toFixed(1)} %` : v);
  const gb = (v: number | string) => (typeof v === 'number' ? `${(v / 1024).toFixed(1)} GB` : v);
  try {
    console.log(bold('first heartbeat:'));
    console.log(
      `  host    ${s.network.hostname} (${s.network.ip}), ${s.os.type} ${s.os.version}, kernel ${s.os.kernel}`,
    );
    console.log(`  cpu     ${s.cpu.cores} × ${s.cpu.model} @ ${s.cpu.frequency}, ${pct(s.cpu.usage_percent)} busy`);
    console.log(`  memory  ${pct(s.memory.usage_percent)} of ${gb(s.memory.total)} used`);
    console.log(
      `  disk    ${pct(s.disk.usage_percent)} of ${gb(s.disk.total)} used${s.disk.path ? ` on ${s.disk.path}` : ''}`,
    );
  } catch {
    console.log(red(`  not the spec's system_info shape: ${JSON.stringify(s)}`));
    problems.push("the heartbeat's system_info is not in the spec's shape");
  }
}

async function printLogLocation(): Promise<void> {
  const logs = join(workDir, 'logs');
  const entries = await readdir(logs).catch((): string[] => []);
  console.log(`agent logs: ${logs}${entries.length ? ` (${entries.join(', ')})` : ''}`);
  if (!entries.includes('agent.log')) problems.push(`no agent.log in ${logs} (spec 2.3.1)`);
}
