/**
 * Counts the child processes started while a function runs: the proof that a periodic job (the
 * heartbeat's sampling) forks nothing. For tests and the benchmark, not for production paths.
 */
import childProcess, { ChildProcess } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const SYNC_STARTERS = ['spawnSync', 'execSync', 'execFileSync'] as const;

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

export async function countSpawns<T>(fn: () => Promise<T>): Promise<{ result: T; spawns: number }> {
  let spawns = 0;
  const counting = (original: AnyFn): AnyFn =>
    function (this: unknown, ...args: unknown[]) {
      spawns++;
      return original.apply(this, args);
    };

  // Every asynchronous start (spawn, exec, execFile, fork) goes through ChildProcess#spawn, also from
  // modules that grabbed `require('child_process').exec` before we got here.
  const proto = ChildProcess.prototype as unknown as { spawn: AnyFn };
  const protoSpawn = proto.spawn;
  // The synchronous ones have no such choke point: wrap the exports, and refresh the ESM bindings.
  const exportsObj = childProcess as unknown as Record<string, AnyFn>;
  const originals = SYNC_STARTERS.map((name) => [name, exportsObj[name]!] as const);

  proto.spawn = counting(protoSpawn);
  for (const [name, original] of originals) exportsObj[name] = counting(original);
  syncBuiltinESMExports();
  try {
    const result = await fn();
    return { result, spawns };
  } finally {
    proto.spawn = protoSpawn;
    for (const [name, original] of originals) exportsObj[name] = original;
    syncBuiltinESMExports();
  }
}
