import childProcess, { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { countSpawns } from './spawn-counter.js';

const require = createRequire(import.meta.url);
// grabbed before counting starts, the way CommonJS libraries like systeminformation do
const { exec: grabbedExec } = require('node:child_process') as typeof childProcess;

describe('countSpawns', () => {
  it('counts a real execFileSync and returns the result', async () => {
    const { result, spawns } = await countSpawns(async () => execFileSync('true').length);
    expect(result).toBe(0);
    expect(spawns).toBe(1);
  });

  it('counts each asynchronous start once, also through a reference taken beforehand', async () => {
    const { spawns } = await countSpawns(async () => {
      await new Promise((resolve) => grabbedExec('true', resolve)); // exec → execFile → spawn
      await new Promise((resolve) => childProcess.execFile('true', resolve));
      await new Promise((resolve) => childProcess.spawn('true').on('close', resolve));
      spawnSync('true');
    });
    expect(spawns).toBe(4);
  });

  it('counts nothing for work that starts no process, and restores child_process afterwards', async () => {
    const proto = childProcess.ChildProcess.prototype as unknown as { spawn: unknown };
    const before = { spawn: proto.spawn, execSync: childProcess.execSync, spawnSync };
    const { spawns } = await countSpawns(async () => JSON.stringify({ a: 1 }));
    expect(spawns).toBe(0);
    expect(proto.spawn).toBe(before.spawn);
    expect(childProcess.execSync).toBe(before.execSync);
    expect(spawnSync).toBe(before.spawnSync);
    // nothing left counting: a later run starts from zero
    execFileSync('true');
    expect((await countSpawns(async () => undefined)).spawns).toBe(0);
  });

  it('restores child_process when the function throws', async () => {
    const original = childProcess.execFileSync;
    await expect(countSpawns(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(childProcess.execFileSync).toBe(original);
  });
});
