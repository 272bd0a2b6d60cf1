// Loaded into every Node process of a stand-in run through NODE_OPTIONS, active only in the headless
// agent that main.js spawns (ELECTRON_RUN_AS_NODE=1): appends each SIGTERM / SIGINT it receives to
// STANDIN_SIGNAL_LOG, so that a test can count what the forwarder sent. It adds a listener and
// nothing else: the agent's own handlers decide what a signal does.
import { appendFileSync } from 'node:fs';

const file = process.env.STANDIN_SIGNAL_LOG;
if (process.env.ELECTRON_RUN_AS_NODE === '1' && file) {
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => appendFileSync(file, `${signal}\n`));
}
