import { describe, expect, it } from 'vitest';
import { IoRates, parseDiskstats, parseNetDev, type IoSources } from './io-rates.js';

const netDev = (rx: number, tx: number) => `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0
  eth0: ${rx} 10 0 0 0 0 0 0 ${tx} 10 0 0 0 0 0 0
`;
const diskstats = (readSectors: number, writtenSectors: number) =>
  [
    `   7       0 loop0 5 0 ${readSectors * 10} 0 0 0 ${writtenSectors * 10} 0 0 0 0 0 0 0 0 0 0`,
    ` 254       0 vda 100 0 ${readSectors} 0 50 0 ${writtenSectors} 0 0 0 0 0 0 0 0 0 0`,
    ` 254       1 vda1 100 0 ${readSectors} 0 50 0 ${writtenSectors} 0 0 0 0 0 0 0 0 0 0`,
  ].join('\n');

function fakeSources(files: Record<string, string | Error>) {
  const clock = { now: 0 };
  const sources: IoSources = {
    read: async (file) => {
      const v = files[file];
      if (v === undefined || v instanceof Error) throw v ?? new Error('ENOENT');
      return v;
    },
    now: () => clock.now,
    disks: () => ['loop0', 'vda'],
  };
  return { sources, clock };
}

describe('IoRates', () => {
  it('gives bytes per second since the previous reading, loopback, loop devices and partitions left out', async () => {
    const files: Record<string, string> = { '/proc/net/dev': netDev(1000, 500), '/proc/diskstats': diskstats(10, 20) };
    const { sources, clock } = fakeSources(files);
    const io = new IoRates(sources);
    expect(await io.sample()).toEqual({ network_io: 'unknown', disk_io: 'unknown' });
    clock.now = 2000;
    files['/proc/net/dev'] = netDev(5000, 2500);
    files['/proc/diskstats'] = diskstats(30, 60);
    expect(await io.sample()).toEqual({
      network_io: { rx_bytes_per_s: 2000, tx_bytes_per_s: 1000 },
      disk_io: { read_bytes_per_s: 5120, write_bytes_per_s: 10240 },
    });
  });

  it('is "unknown" where the files cannot be read (not Linux) and after a counter went backwards', async () => {
    const files: Record<string, string | Error> = {
      '/proc/net/dev': netDev(1000, 500),
      '/proc/diskstats': new Error('EACCES'),
    };
    const { sources, clock } = fakeSources(files);
    const io = new IoRates(sources);
    await io.prime();
    clock.now = 1000;
    files['/proc/net/dev'] = netDev(10, 10); // interface re-created: its counters restarted
    expect(await io.sample()).toEqual({ network_io: 'unknown', disk_io: 'unknown' });
    clock.now = 2000;
    files['/proc/net/dev'] = netDev(1010, 110);
    expect((await io.sample()).network_io).toEqual({ rx_bytes_per_s: 1000, tx_bytes_per_s: 100 });
  });

  it('ignores garbage lines and reports nothing when nothing parses', () => {
    expect(parseNetDev('garbage\nxx: 1 2 3\n')).toBeNull();
    expect(parseDiskstats('1 2 vda x y z\n', new Set(['vda']))).toBeNull();
  });
});
