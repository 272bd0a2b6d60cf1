// Loaded into every Node process of a stand-in run through NODE_OPTIONS, to count signals on both
// sides of main.js's forwarder:
// - in the headless agent that main.js spawns (ELECTRON_RUN_AS_NODE=1): each SIGTERM / SIGINT it
//   receives goes to STANDIN_SIGNAL_LOG (a listener and nothing else: the agent's own handlers decide
//   what a signal does). Two signals sent back to back may arrive as one (POSIX does not queue them),
//   hence the other side:
// - in main.js's process: each ChildProcess.kill() goes to STANDIN_FORWARD_LOG.
import { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const received = process.env.STANDIN_SIGNAL_LOG;
const forwarded = process.env.STANDIN_FORWARD_LOG;
if (process.env.ELECTRON_RUN_AS_NODE === '1') {
  if (received)
    for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => appendFileSync(received, `${signal}\n`));
} else if (forwarded) {
  const kill = ChildProcess.prototype.kill;
  ChildProcess.prototype.kill = function (signal) {
    appendFileSync(forwarded, `${signal ?? 'SIGTERM'}\n`);
    return kill.call(this, signal);
  };
}
