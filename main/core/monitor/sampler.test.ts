import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SystemInfo } from '../protocol/frames.js';
import { SystemSampler } from './sampler.js';
import { countSpawns } from './spawn-counter.js';
import { readStaticInfo, type StaticInfo } from './static-info.js';

const info: StaticInfo = {
  cpuModel: 'Test CPU',
  cores: 4,
  osType: 'Linux',
  osVersion: 'Test OS 1',
  kernel: '1.2.3',
  nominalMhz: 3600,
};

const onLinux = { skip: process.platform !== 'linux' };

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-sampler-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const burn = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

function isPercent(v: unknown) {
  expect(typeof v).toBe('number');
  expect(v as number).toBeGreaterThanOrEqual(0);
  expect(v as number).toBeLessThanOrEqual(100);
  expect(Math.round((v as number) * 10) / 10).toBe(v);
}

describe('SystemSampler', () => {
  it('reports memory close to /proc/meminfo', onLinux, async () => {
    const s = await new SystemSampler(info, () => tmp).sample();
    const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
    const mb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)![1]) / 1024;
    expect(s.memory.total).toBe(Math.round(mb('MemTotal')));
    expect(s.memory.unit).toBe('MB');
    const used = s.memory.used as number;
    const free = s.memory.free as number;
    // memory moves between the two reads: a 5% window around MemAvailable
    expect(Math.abs(free - mb('MemAvailable'))).toBeLessThan(mb('MemTotal') / 20);
    expect(Math.abs(used + free - s.memory.total)).toBeLessThanOrEqual(1);
    isPercent(s.memory.usage_percent);
  });

  it('reports the disk holding the work dir like df does', async () => {
    const s = await new SystemSampler(info, () => tmp).sample();
    const st = fs.statfsSync(tmp);
    const mb = (blocks: number) => Math.round((blocks * st.bsize) / 1024 / 1024);
    expect(s.disk.path).toBe(tmp);
    expect(s.disk.total).toBe(mb(st.blocks));
    // other processes write meanwhile: some slack
    expect(Math.abs((s.disk.used as number) - mb(st.blocks - st.bfree))).toBeLessThan(64);
    expect(Math.abs((s.disk.free as number) - mb(st.bavail))).toBeLessThan(64);
    for (const v of [s.disk.total, s.disk.used, s.disk.free]) expect(Number.isInteger(v)).toBe(true);
    isPercent(s.disk.usage_percent);
  });

  it('measures CPU use since the previous sample, the rest from static facts and os', async () => {
    const sampler = new SystemSampler(info, () => tmp);
    burn(300);
    const s = await sampler.sample();
    isPercent(s.cpu.usage_percent);
    // one core spun the whole time: about 1/cores of the machine at least
    expect(s.cpu.usage_percent as number).toBeGreaterThan(100 / os.cpus().length / 2);
    expect(s.cpu).toMatchObject({ cores: 4, model: 'Test CPU' });
    expect(s.cpu.frequency).toMatch(/^\d+\.\dGHz$/);
    expect(s.os).toEqual({ type: 'Linux', version: 'Test OS 1', kernel: '1.2.3' });
    expect(s.network.hostname).toBe(os.hostname());
    const external = Object.values(os.networkInterfaces())
      .flatMap((a) => a ?? [])
      .filter((a) => !a.internal);
    const ipv4 = external.filter((a) => a.family === 'IPv4').map((a) => a.address);
    if (ipv4.length > 0) expect(s.network.ip).toBe(ipv4[0]);
    else expect([...external.map((a) => a.address), '127.0.0.1']).toContain(s.network.ip);
  });

  it('takes 20 samples without starting a single process', async () => {
    const sampler = new SystemSampler(await readStaticInfo(), () => tmp);
    const { result, spawns } = await countSpawns(async () => {
      const samples: SystemInfo[] = [];
      for (let i = 0; i < 20; i++) samples.push(await sampler.sample());
      return samples;
    });
    expect(result).toHaveLength(20);
    expect(spawns).toBe(0);
    // the extras are in those samples: load average, and on Linux the /proc rates
    const last = result.at(-1)!;
    if (process.platform !== 'win32') expect(last.load_average).toEqual(os.loadavg().map(() => expect.any(Number)));
    if (process.platform === 'linux') {
      expect(last.network_io).toEqual({ rx_bytes_per_s: expect.any(Number), tx_bytes_per_s: expect.any(Number) });
      expect(last.disk_io).toEqual({ read_bytes_per_s: expect.any(Number), write_bytes_per_s: expect.any(Number) });
    }
  });

  it('carries the latest script values it is given in system_info.custom', async () => {
    const values: Record<string, number | string> = { queue_depth: 3 };
    const sampler = new SystemSampler(
      info,
      () => tmp,
      () => values,
    );
    expect((await sampler.sample()).custom).toEqual({ queue_depth: 3 });
    values.queue_depth = 'unknown';
    expect((await sampler.sample()).custom).toEqual({ queue_depth: 'unknown' });
  });

  it("is measured by a counter that does see systeminformation's live metrics fork", onLinux, async () => {
    const si = (await import('systeminformation')).default;
    const { result, spawns } = await countSpawns(() => si.fsSize());
    expect(result.length).toBeGreaterThan(0);
    expect(spawns).toBeGreaterThan(0);
  });

  it('keeps the last good disk values when the work dir disappears, and "unknown" without any', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'gone-'));
    const sampler = new SystemSampler(info, () => dir);
    const good = await sampler.sample();
    expect(typeof good.disk.total).toBe('number');
    fs.rmSync(dir, { recursive: true });
    const after = await sampler.sample();
    expect(after.disk).toEqual(good.disk);

    const never = await new SystemSampler(info, () => path.join(tmp, 'missing')).sample();
    expect(never.disk).toMatchObject({
      total: 'unknown',
      used: 'unknown',
      free: 'unknown',
      usage_percent: 'unknown',
      unit: 'MB',
    });
  });
});

describe('readStaticInfo', () => {
  it('names the OS and CPU of this machine', async () => {
    const s = await readStaticInfo();
    const names: Record<string, string> = { linux: 'Linux', win32: 'Windows', darwin: 'macOS' };
    expect(s.osType).toBe(names[process.platform] ?? os.type());
    expect(s.kernel).toBe(os.release());
    expect(s.cores).toBe(os.cpus().length);
    expect(s.cpuModel.length).toBeGreaterThan(0);
    if (process.platform === 'linux') {
      const release = fs.readFileSync('/etc/os-release', 'utf8');
      const field = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(release)?.[1] ?? '';
      expect(s.osVersion).toContain(field('NAME'));
      expect(s.osVersion).toContain(field('VERSION_ID'));
    }
  });
});
