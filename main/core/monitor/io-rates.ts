/**
 * Network and disk throughput from the kernel's counters (/proc/net/dev, /proc/diskstats): read as
 * files, no process spawned. A rate is the change since the previous reading; anything unreadable
 * (not Linux, no /proc, a counter that went backwards) is "unknown" for that sample.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Unknown } from '../protocol/frames.js';

export interface NetworkIo {
  rx_bytes_per_s: number;
  tx_bytes_per_s: number;
}

export interface DiskIo {
  read_bytes_per_s: number;
  write_bytes_per_s: number;
}

/** /proc/diskstats counts 512-byte sectors whatever the device's own sector size */
const SECTOR = 512;

interface Counters {
  a: number;
  b: number;
  at: number;
}

export interface IoSources {
  read: (file: string) => Promise<string>;
  now: () => number;
  /** whole disks (/sys/block), so that a partition is not counted twice */
  disks: () => string[] | null;
}

const defaultSources: IoSources = {
  read: (file) => readFile(file, 'utf8'),
  now: () => performance.now(),
  disks: () => {
    try {
      return readdirSync('/sys/block');
    } catch {
      return null;
    }
  },
};

export class IoRates {
  private net: Counters | null = null;
  private disk: Counters | null = null;
  private readonly disks: Set<string> | null;

  constructor(private readonly sources: IoSources = defaultSources) {
    const disks = sources.disks();
    // stacked devices (device mapper, md RAID) and memory-backed ones would count the same bytes again
    this.disks = disks ? new Set(disks.filter((d) => !/^(loop|ram|zram|dm-|md)/.test(d))) : null;
  }

  /** Reads both counters now, so that the first sample() has a rate. */
  async prime(): Promise<void> {
    await this.sample();
  }

  async sample(): Promise<{ network_io: NetworkIo | Unknown; disk_io: DiskIo | Unknown }> {
    const [net, disk] = await Promise.all([
      this.sources.read('/proc/net/dev').then(parseNetDev, () => null),
      this.sources.read('/proc/diskstats').then(
        (text) => parseDiskstats(text, this.disks),
        () => null,
      ),
    ]);
    const at = this.sources.now();
    const n = rate(this.net, net, at);
    const d = rate(this.disk, disk, at);
    this.net = net ? { ...net, at } : null;
    this.disk = disk ? { ...disk, at } : null;
    return {
      network_io: n ? { rx_bytes_per_s: n.a, tx_bytes_per_s: n.b } : 'unknown',
      disk_io: d ? { read_bytes_per_s: d.a, write_bytes_per_s: d.b } : 'unknown',
    };
  }
}

function rate(before: Counters | null, now: { a: number; b: number } | null, at: number) {
  if (!before || !now) return null;
  const seconds = (at - before.at) / 1000;
  const da = now.a - before.a;
  const db = now.b - before.b;
  if (seconds <= 0 || da < 0 || db < 0) return null;
  return { a: Math.round(da / seconds), b: Math.round(db / seconds) };
}

/** Received (a) and sent (b) bytes of every interface but loopback. */
export function parseNetDev(text: string): { a: number; b: number } | null {
  let rx = 0;
  let tx = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (name === 'lo' || fields.length < 16 || fields.some((f) => !Number.isFinite(f))) continue;
    rx += fields[0]!;
    tx += fields[8]!;
    seen = true;
  }
  return seen ? { a: rx, b: tx } : null;
}

/** Read (a) and written (b) bytes of the whole disks (all devices when the list is unknown). */
export function parseDiskstats(text: string, disks: Set<string> | null): { a: number; b: number } | null {
  let read = 0;
  let written = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (disks ? !disks.has(f[2]!) : /^(loop|ram|zram|dm-|md)/.test(f[2]!)) continue;
    const sectorsRead = Number(f[5]);
    const sectorsWritten = Number(f[9]);
    if (!Number.isFinite(sectorsRead) || !Number.isFinite(sectorsWritten)) continue;
    read += sectorsRead * SECTOR;
    written += sectorsWritten * SECTOR;
    seen = true;
  }
  return seen ? { a: read, b: written } : null;
}
