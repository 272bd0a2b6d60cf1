/**
 * The peer figure: a plain implementation of the spec's task handling in a fresh `node` process,
 * the way one would write it in an afternoon: a WebSocket (ws), auth with the token, each `task`
 * spawned with `/bin/sh -c` (at most `max_concurrent` at a time, the rest queued), each stdout or
 * stderr chunk a task_log, the exit a task_result. No journal, no write-ahead outbox, no process
 * tree sweep, no task dirs, no secret masking: what the agent's guarantees cost is the gap to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO, track } from './agent.js';

const SCRIPT = String.raw`
const { spawn } = require('node:child_process');
const WebSocket = require('ws');
const [url, token, max] = process.argv.slice(1);
const ws = new WebSocket(url, { headers: { authorization: 'Bearer ' + token } });
const queue = [];
let running = 0;
const send = (frame) => ws.send(JSON.stringify(frame));
function pump() {
  while (running < Number(max) && queue.length) run(queue.shift());
}
function run(task) {
  running++;
  const started = new Date();
  const child = spawn('/bin/sh', ['-c', task.command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let seq = 0, out = '', err = '';
  const log = (stream) => (chunk) => {
    const text = chunk.toString();
    if (stream === 'stdout') out += text; else err += text;
    send({ type: 'task_log', task_id: task.task_id, level: stream === 'stdout' ? 'info' : 'error', message: text.replace(/\n$/, ''), timestamp: new Date().toISOString(), stream, seq: ++seq });
  };
  child.stdout.on('data', log('stdout'));
  child.stderr.on('data', log('stderr'));
  child.on('close', (code, signal) => {
    const finished = new Date();
    send({ type: 'task_result', task_id: task.task_id, status: code === 0 ? 'success' : 'failed', exit_code: code ?? -1, output: out, error: err, duration: (finished - started) / 1000, timestamp: finished.toISOString(), started_at: started.toISOString(), ...(signal ? { signal } : {}) });
    running--;
    pump();
  });
}
ws.on('open', () => send({ type: 'auth', token, agent_info: { agent_id: 'plain-peer', hostname: 'bench', os: process.platform, version: '0' } }));
ws.on('message', (data) => {
  const frame = JSON.parse(String(data));
  if (frame.type === 'auth_success') console.log('ready');
  else if (frame.type === 'task') { queue.push(frame); pump(); }
});
ws.on('close', () => process.exit(0));
`;

/** Starts the peer against `url` and resolves once it is authenticated. */
export function startPlainAgent(url: string, token: string, maxConcurrent: number): Promise<{ stop(): void }> {
  const child: ChildProcess = track(
    spawn(process.execPath, ['-e', SCRIPT, url, token, String(maxConcurrent)], {
      cwd: REPO, // `ws` is resolved from the repository's node_modules
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the plain peer did not authenticate within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`the plain peer exited ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (!d.toString().includes('ready')) return;
      clearTimeout(timer);
      resolve({ stop: () => child.kill('SIGKILL') });
    });
  });
}
