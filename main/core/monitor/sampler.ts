/**
 * The heartbeat's `system_info`, sampled every few seconds from what Node reads in-process: no
 * child process per sample (systeminformation's live metrics run cat/df/ip on each call).
 */
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { SystemInfo, Unknown } from '../protocol/frames.js';
import { IoRates } from './io-rates.js';
import type { StaticInfo } from './static-info.js';

const MB = 1024 * 1024;

interface CpuTimes {
  idle: number;
  total: number;
}

interface Usage {
  used: number;
  free: number;
  usage_percent: number;
}

interface DiskUsage extends Usage {
  total: number;
}

export class SystemSampler {
  private cpuBefore: CpuTimes | null;
  /** a metric that fails reports its last good value (spec 2.4.2) */
  private readonly lastGood = new Map<string, unknown>();
  private readonly io = new IoRates();

  constructor(
    private readonly info: StaticInfo,
    private readonly workDir: () => string,
    /** the latest values of monitor.scripts (scripts.ts): read, never run, by a sample */
    private readonly custom: () => Record<string, number | string> = () => ({}),
  ) {
    this.cpuBefore = this.tryRead(cpuTimes);
    // the first reading only sets the baseline of the rates: one that fails leaves the first rate unknown
    this.io.prime().catch(() => undefined);
  }

  /** Never rejects: what can't be read is its last good value, else "unknown". */
  async sample(): Promise<SystemInfo> {
    const dir = this.workDir();
    const cpuUsage = this.keep('cpu', () => this.cpuUsage());
    const frequency = this.keep('frequency', () => this.frequency());
    const memory = this.keep('memory', readMemory);
    const [disk, io] = await Promise.all([this.keepAsync('disk', () => readDisk(dir)), this.io.sample()]);
    const ip = this.keep('ip', primaryIp);
    const hostname = this.keep('hostname', os.hostname);

    return {
      cpu: { usage_percent: cpuUsage, cores: this.info.cores, model: this.info.cpuModel, frequency },
      memory: {
        total: toMb(os.totalmem()),
        used: field(memory, 'used'),
        free: field(memory, 'free'),
        usage_percent: field(memory, 'usage_percent'),
        unit: 'MB',
      },
      disk: {
        total: field(disk, 'total'),
        used: field(disk, 'used'),
        free: field(disk, 'free'),
        usage_percent: field(disk, 'usage_percent'),
        unit: 'MB',
        path: dir,
      },
      network: { ip, hostname },
      os: { type: this.info.osType, version: this.info.osVersion, kernel: this.info.kernel },
      load_average: loadAverage(),
      ...io,
      custom: this.custom(),
    };
  }

  /** Busy share of all cores since the previous sample (the first: since construction). */
  private cpuUsage(): number {
    const now = cpuTimes();
    const before = this.cpuBefore;
    this.cpuBefore = now;
    const total = now.total - (before?.total ?? 0);
    const idle = now.idle - (before?.idle ?? 0);
    if (!before || total <= 0) throw new Error('no CPU time elapsed since the last sample');
    return percent(total - idle, total);
  }

  private frequency(): string {
    const mhz = os.cpus()[0]?.speed || this.info.nominalMhz;
    if (!mhz) throw new Error('CPU clock not reported');
    return `${(mhz / 1000).toFixed(1)}GHz`;
  }

  private keep<T>(name: string, read: () => T): T | Unknown {
    const value = this.tryRead(read);
    return this.remember(name, value);
  }

  private async keepAsync<T>(name: string, read: () => Promise<T>): Promise<T | Unknown> {
    const value = await read().catch(() => null);
    return this.remember(name, value);
  }

  private remember<T>(name: string, value: T | null): T | Unknown {
    if (value !== null) {
      this.lastGood.set(name, value);
      return value;
    }
    return this.lastGood.has(name) ? (this.lastGood.get(name) as T) : 'unknown';
  }

  private tryRead<T>(read: () => T): T | null {
    try {
      return read();
    } catch {
      return null;
    }
  }
}

function cpuTimes(): CpuTimes {
  const cpus = os.cpus();
  if (cpus.length === 0) throw new Error('no CPU times available');
  let idle = 0;
  let total = 0;
  for (const { times } of cpus) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

/** POSIX only: Windows reports [0, 0, 0], which would read as an idle machine. */
function loadAverage(): [number, number, number] | Unknown {
  if (process.platform === 'win32') return 'unknown';
  const [a, b, c] = os.loadavg();
  if (![a, b, c].every((x) => Number.isFinite(x))) return 'unknown';
  return [round2(a!), round2(b!), round2(c!)];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function readMemory(): Usage {
  const total = os.totalmem();
  const free = os.freemem();
  if (total <= 0) throw new Error('total memory not reported');
  return { used: toMb(total - free), free: toMb(free), usage_percent: percent(total - free, total) };
}

/** Like df: `free` is what an unprivileged user may still use, the blocks reserved for root are neither. */
async function readDisk(dir: string): Promise<DiskUsage> {
  const s = await statfs(dir);
  const used = (s.blocks - s.bfree) * s.bsize;
  const free = s.bavail * s.bsize;
  return {
    total: toMb(s.blocks * s.bsize),
    used: toMb(used),
    free: toMb(free),
    usage_percent: percent(used, used + free),
  };
}

/** The first external IPv4 address, else IPv6, else loopback. */
function primaryIp(): string {
  const external = Object.values(os.networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((a) => !a.internal);
  return (
    external.find((a) => a.family === 'IPv4')?.address ??
    external.find((a) => a.family === 'IPv6')?.address ??
    '127.0.0.1'
  );
}

function field<T extends object, K extends keyof T>(group: T | Unknown, key: K): T[K] | Unknown {
  return group === 'unknown' ? 'unknown' : group[key];
}

function toMb(bytes: number): number {
  return Math.round(bytes / MB);
}

/** 0–100 with one decimal */
function percent(part: number, whole: number): number {
  if (whole <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((part / whole) * 1000) / 10));
}
