/**
 * The simulator as a stand-alone platform, for trying an agent by hand:
 *   node --import tsx e2e/platform/serve.ts --port 8000 --token T [--registration-token RT] [--work-dir D]
 * then type one of COMMANDS below (`help` lists them).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { HeartbeatFrame, TaskLogFrame, TaskResultFrame } from '../../main/core/protocol/frames.js';
import { PlatformSimulator } from './simulator.js';

const USAGE =
  'usage: serve.ts --port 8000 --token T [--token T2] [--registration-token RT] [--work-dir D] [--host 127.0.0.1]';
const COMMANDS = [
  'commands:',
  '  run <command>             dispatch a task',
  '  cancel <task_id>          cancel a queued or running task',
  '  pause | resume            no new task starts / undo it',
  '  drain                     like pause; the agent exits once nothing runs',
  '  config <json>             a config_update, e.g. config {"monitor":{"interval":1},"logging":{"level":"DEBUG"}}',
  '  register <token>          accept this registration token (ats-agent register --registration-token ...)',
  '  quit',
].join('\n');

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string', multiple: true },
    'registration-token': { type: 'string', multiple: true },
    'work-dir': { type: 'string' },
  },
});
const port = Number(values.port);
if (!values.token?.length || !Number.isInteger(port)) {
  console.error(USAGE);
  process.exit(2);
}

const sim = new PlatformSimulator({
  tokens: values.token,
  registrationTokens: values['registration-token'] ?? [],
  port,
  host: values.host,
  workDir: values['work-dir'],
});

sim.on('connection', (_ws, req) => console.log(`connection from ${req.socket.remoteAddress}`));
sim.on('auth', (info) => console.log(`agent authenticated: ${JSON.stringify(info)}`));
sim.on('disconnect', (code: number, reason: string) =>
  console.log(`agent disconnected (${code}${reason ? ` ${reason}` : ''})`),
);
sim.on('frame', (frame) => {
  switch (frame?.type) {
    case 'heartbeat':
      return console.log(describeHeartbeat(frame));
    case 'task_log':
      return printLog(frame);
    case 'task_result':
      return console.log(describeResult(frame));
    case 'error':
      return console.log(`agent error ${frame.code}: ${frame.message}`);
    case 'alert':
      return console.log(
        `alert ${frame.name} ${frame.state}: ${frame.metric} = ${frame.value} (threshold ${frame.threshold})`,
      );
    case 'register':
      return console.log(`registration from ${frame.agent_info?.hostname ?? 'an agent'}`);
  }
});

function describeHeartbeat({ system_info: s, agent }: HeartbeatFrame): string {
  const pct = (v: number | string) => (typeof v === 'number' ? `${v.toFixed(1)}%` : v);
  const control = agent?.draining ? ', draining' : agent?.paused ? ', paused' : '';
  const tasks = agent ? ` | running ${agent.running_tasks}, queued ${agent.queued_tasks}${control}` : '';
  return `heartbeat: cpu ${pct(s.cpu.usage_percent)} | mem ${pct(s.memory.usage_percent)} | disk ${pct(s.disk.usage_percent)}${tasks}`;
}

function printLog(frame: TaskLogFrame): void {
  const stream = frame.stream ?? frame.level;
  for (const line of frame.message.replace(/\n$/, '').split('\n')) console.log(`[${frame.task_id} ${stream}] ${line}`);
}

function describeResult(r: TaskResultFrame): string {
  const code = r.error_code ? ` ${r.error_code}` : '';
  const error = r.error ? ` | error: ${r.error.trim().split('\n').at(-1)}` : '';
  return `[${r.task_id}] result: ${r.status}${code}, exit ${r.exit_code}, ${r.duration}s${error}`;
}

// Ids must differ from one run of this script to the next: an agent answers a known id with its old result.
let taskCount = 0;
const newTaskId = () => `task-${Date.now().toString(36)}-${++taskCount}`;

function handle(line: string): void {
  const [word = '', ...rest] = line.trim().split(/\s+/);
  const arg = line.trim().slice(word.length).trim();
  try {
    if (word === 'run' && arg) {
      const taskId = newTaskId();
      sim.dispatch({ task_id: taskId, command: arg });
      console.log(`dispatched ${taskId}`);
    } else if (word === 'cancel' && rest.length === 1) {
      sim.cancel(arg);
    } else if ((word === 'pause' || word === 'resume' || word === 'drain') && !arg) {
      sim[word]();
      console.log(`sent ${word}`);
    } else if (word === 'config' && arg) {
      sim.sendConfigUpdate(JSON.parse(arg) as object);
      console.log('sent config_update');
    } else if (word === 'register' && rest.length === 1) {
      sim.acceptRegistrationToken(arg);
      console.log('registration token accepted: ats-agent register --registration-token <it> --server-url ...');
    } else if (word === 'quit') {
      void sim.stop().then(() => process.exit(0));
    } else if (word) {
      console.log(COMMANDS);
    }
  } catch (err) {
    console.log((err as Error).message);
  }
}

const url = await sim.start();
console.log(`platform simulator listening on ${url}`);
console.log(COMMANDS);
// stdin may be closed from the start (run in the background): keep serving until quit or Ctrl-C.
createInterface({ input: process.stdin }).on('line', handle);
