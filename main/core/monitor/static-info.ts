/**
 * Facts about the machine that don't change while the agent runs, read once at start. On Linux
 * /proc and /etc/os-release say it all, cheaply. Elsewhere systeminformation names things well but
 * spawns helpers (and can hang on odd systems): it gets a few seconds, then plain `os` answers.
 * It is loaded only there: a resident agent should not carry the library (~11 MB) for one call.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';

export interface StaticInfo {
  cpuModel: string;
  cores: number;
  /** Linux, Windows or macOS (else what os.type() says) */
  osType: string;
  /** e.g. "Debian GNU/Linux 12 (bookworm)" */
  osVersion: string;
  kernel: string;
  /** the nominal clock, for machines whose live clock reads 0 (many VMs) */
  nominalMhz: number | null;
}

const SI_TIMEOUT_MS = 3000;

export async function readStaticInfo(): Promise<StaticInfo> {
  return process.platform === 'linux' ? readLinuxInfo() : readWithSystemInformation();
}

async function readLinuxInfo(): Promise<StaticInfo> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const cpus = os.cpus();
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() || cpus[0]?.model.trim() || 'unknown',
    cores: cpus.length || os.availableParallelism(),
    osType: 'Linux',
    osVersion: await fallbackOsVersion(),
    kernel: os.release(),
    nominalMhz: procCpuMhz(cpuinfo),
  };
}

async function readWithSystemInformation(): Promise<StaticInfo> {
  const { default: si } = await import('systeminformation');
  const [osInfo, cpu] = await Promise.all([withTimeout(si.osInfo()), withTimeout(si.cpu())]);
  const cpus = os.cpus();

  const siModel = [cpu?.manufacturer, cpu?.brand].filter(Boolean).join(' ').trim();
  const siVersion = [osInfo?.distro, osInfo?.release].filter(Boolean).join(' ').trim();
  const siSpeedGhz = cpu ? cpu.speedMax || cpu.speed : 0;

  return {
    cpuModel: siModel || cpus[0]?.model.trim() || 'unknown',
    cores: cpu?.cores || cpus.length || os.availableParallelism(),
    osType: osTypeName(),
    osVersion: siVersion ? withCodename(siVersion, osInfo?.codename) : await fallbackOsVersion(),
    kernel: osInfo?.kernel || os.release(),
    nominalMhz: siSpeedGhz > 0 ? Math.round(siSpeedGhz * 1000) : null,
  };
}

function osTypeName(): string {
  switch (process.platform) {
    case 'linux':
      return 'Linux';
    case 'win32':
      return 'Windows';
    case 'darwin':
      return 'macOS';
    default:
      return os.type();
  }
}

function withCodename(version: string, codename: string | undefined): string {
  return codename && !version.includes(codename) ? `${version} (${codename})` : version;
}

async function fallbackOsVersion(): Promise<string> {
  if (process.platform === 'linux') {
    const release = await readFile('/etc/os-release', 'utf8').catch(() => '');
    const field = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(release)?.[1];
    const pretty = field('PRETTY_NAME') ?? [field('NAME'), field('VERSION')].filter(Boolean).join(' ');
    if (pretty) return pretty;
  }
  return os.version() || os.release();
}

function procCpuMhz(cpuinfo: string): number | null {
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  return mhz > 0 ? Math.round(mhz) : null;
}

/** The value, or undefined when the call fails or takes too long. */
async function withTimeout<T>(work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, SI_TIMEOUT_MS, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
