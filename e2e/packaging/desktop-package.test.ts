/**
 * The desktop package as electron-builder makes it from electron-builder.yml: the Linux `--dir`
 * layout (what the AppImage and the deb wrap), built here with a STAND-IN for Electron's binary.
 *
 * The stand-in is Node's own binary laid out as an unpacked Electron distribution (`electronDist`:
 * an `electron` executable and a `resources/` folder). With ELECTRON_RUN_AS_NODE=1, which the
 * headless launcher sets, Electron runs as plain Node, so Node can play it for the headless path.
 * Only for the stand-in, the config is overridden: no fuses (flipping them needs Electron's own
 * binary), no native rebuild (it would download Electron's headers).
 *
 * What this proves: electron-builder accepts the config; the package holds the built UI, main,
 * preload and CLI and only production dependencies, within a size budget; the launcher, icons and
 * app icon are where the app looks for them; the launcher finds the executable beside `resources/`
 * and runs the whole headless agent from `/` as an unprivileged user, signals included.
 * What the stand-in does NOT prove: that the real Electron binary starts (Chromium, the GUI, the
 * tray, a display), that Electron's Node reads app.asar (Node cannot: the run below uses an
 * `asar: false` build; with asar the launcher's path is the same but only Electron can open it),
 * that the fuses are flipped, code signing, or the installers (AppImage, deb, nsis, dmg) — those
 * need `npx electron-builder` on a machine where Electron's zip can be downloaded.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Arch, Platform, build } from 'electron-builder';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../lib/agent-env.js';
import { connectedAgent, startPlatform, TOKEN, waitForResult } from '../integration/harness.js';
import { trayImageFile } from '../../main/electron/tray-icon-files.js';
import { TRAY_ICONS } from '../../main/electron/tray-state.js';

/**
 * app.asar's budget. Measured 7.52 MB (electron-builder 26.17, 2026-12): the built app 1.3 MB, zod
 * 2.3, re2js 0.8, systeminformation 0.7, yaml 0.6, the rest under 0.4 each. 9 MB (+20 %) leaves room
 * for dependencies' minor releases; what it catches: dev dependencies or TypeScript sources leaking
 * in (they make it 12.4 MB), or a new dependency heavy enough to deserve a decision.
 */
const ASAR_BUDGET = 9_000_000;
/** the whole resources/ folder (app.asar, unpacked native modules, launchers, icons): measured 7.92 MB */
const RESOURCES_BUDGET = 9_600_000;

/** The part of @electron/asar this test reads; resolved through electron-builder, which depends on it. */
interface Asar {
  listPackage(archive: string, options: { isPack: boolean }): string[];
  extractFile(archive: string, filename: string): Buffer;
  statFile(archive: string, filename: string): { size?: number };
}
const asar = createRequire(createRequire(path.join(REPO, 'package.json')).resolve('app-builder-lib'))(
  '@electron/asar',
) as Asar;

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const builderConfig = parse(readFileSync(path.join(REPO, 'electron-builder.yml'), 'utf8')) as {
  electronVersion: string;
  executableName: string;
};

let root: string;

beforeAll(() => {
  for (const built of ['dist/index.html', 'dist-electron/main.js', 'dist-electron/cli.js', 'dist-electron/preload.cjs'])
    if (!existsSync(path.join(REPO, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  // readable by nobody, who runs the packaged agent below
  root = mkdtempSync(path.join(os.tmpdir(), 'ats-package-'));
  chmodSync(root, 0o755);
  const dist = path.join(root, 'electron-dist');
  mkdirSync(path.join(dist, 'resources'), { recursive: true });
  copyFileSync(process.execPath, path.join(dist, 'electron'));
  chmodSync(path.join(dist, 'electron'), 0o755);
  writeFileSync(path.join(dist, 'version'), builderConfig.electronVersion);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** `electron-builder --linux dir` from the real config, with the stand-in's overrides only. */
async function buildLinuxDir(asarMode: boolean): Promise<string> {
  const output = path.join(root, asarMode ? 'out-asar' : 'out-dir');
  const arch = Arch[process.arch as keyof typeof Arch];
  await build({
    projectDir: REPO,
    targets: Platform.LINUX.createTarget('dir', arch),
    publish: 'never',
    config: {
      electronDist: path.join(root, 'electron-dist'),
      electronFuses: null,
      npmRebuild: false,
      asar: asarMode,
      directories: { output },
    },
  });
  const unpacked = readdirSync(output).find((d) => d.endsWith('-unpacked'));
  if (!unpacked) throw new Error(`no *-unpacked folder in ${output}: ${readdirSync(output).join(', ')}`);
  return path.join(output, unpacked);
}

function treeSize(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(path.join(e.parentPath, e.name)).size, 0);
}

/** package names under every node_modules/ of a file list (nested ones too), e.g. `@scope/name` */
function packagesIn(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    for (let i = 0; i < parts.length - 1; i++)
      if (parts[i] === 'node_modules' && parts[i + 1]) {
        const scoped = parts[i + 1].startsWith('@');
        if (scoped && !parts[i + 2]) continue; // the scope's own folder
        names.add(scoped ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1]);
      }
  }
  names.delete('.bin');
  return names;
}

/** Production packages by the lockfile: every installed package npm does not mark dev-only. */
function productionPackages(): { prod: Set<string>; devOnly: Set<string> } {
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const prod = new Set<string>();
  const devOnly = new Set<string>();
  for (const [where, info] of Object.entries(lock.packages)) {
    if (!where.includes('node_modules/')) continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    (info.dev ? devOnly : prod).add(name);
  }
  for (const name of prod) devOnly.delete(name);
  return { prod, devOnly };
}

/** runs `start` with ATS_AGENT_CMD (e2e/lib/agent-env.ts) set to `command` */
async function withAgentCommand<T>(command: string, start: () => Promise<T>): Promise<T> {
  const previous = process.env.ATS_AGENT_CMD;
  process.env.ATS_AGENT_CMD = command;
  try {
    return await start();
  } finally {
    if (previous === undefined) delete process.env.ATS_AGENT_CMD;
    else process.env.ATS_AGENT_CMD = previous;
  }
}

describe('desktop package (Linux --dir, Electron stand-in): asar build', () => {
  let app: string;
  let archive: string;
  let files: string[];
  beforeAll(async () => {
    app = await buildLinuxDir(true);
    archive = path.join(app, 'resources', 'app.asar');
    files = asar.listPackage(archive, { isPack: false }).map((f) =>
      f
        .replace(/^[/\\]/, '')
        .split(path.sep)
        .join('/'),
    );
  }, 180_000);

  it('puts the executable, named by the config, beside resources/', () => {
    const exe = path.join(app, builderConfig.executableName);
    expect(statSync(exe).mode & 0o111).not.toBe(0);
    expect(statSync(exe).size).toBe(statSync(process.execPath).size); // the stand-in, renamed
  });

  it('app.asar holds the UI, main, preload and CLI, and no sources, tests or source maps', () => {
    for (const file of [
      'dist/index.html',
      'dist-electron/main.js',
      'dist-electron/cli.js',
      'dist-electron/preload.cjs',
    ])
      expect(files, file).toContain(file);
    const top = new Set(files.map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['dist', 'dist-electron', 'node_modules', 'package.json']);
    expect(files.filter((f) => /\.(map|ts|cts|mts|tsx)$/.test(f))).toEqual([]);
    const manifest = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { main: string };
    expect(manifest.main).toBe('dist-electron/main.js');
  });

  it('ships every production dependency and no dev-only package', () => {
    const unpacked = readdirSync(path.join(app, 'resources', 'app.asar.unpacked'), { recursive: true })
      .map(String)
      .map((f) => f.split(path.sep).join('/'));
    const shipped = packagesIn([...files, ...unpacked]);
    const { prod, devOnly } = productionPackages();
    for (const dep of Object.keys(pkg.dependencies)) expect(shipped, dep).toContain(dep);
    expect([...shipped].filter((name) => !prod.has(name))).toEqual([]);
    expect([...shipped].filter((name) => devOnly.has(name))).toEqual([]);
    for (const dev of ['electron', 'electron-builder', 'react', 'vite', 'vitest', 'typescript'])
      expect(shipped, dev).not.toContain(dev);
  });

  it(`stays within its size budget: app.asar ≤ ${ASAR_BUDGET / 1e6} MB, resources/ ≤ ${RESOURCES_BUDGET / 1e6} MB`, () => {
    const asarSize = statSync(archive).size;
    const resources = treeSize(path.join(app, 'resources'));
    console.log(`app.asar ${(asarSize / 1e6).toFixed(2)} MB, resources/ ${(resources / 1e6).toFixed(2)} MB`);
    expect(asarSize).toBeLessThanOrEqual(ASAR_BUDGET);
    expect(resources).toBeLessThanOrEqual(RESOURCES_BUDGET);
  });

  it('its launcher hands the executable app.asar/dist-electron/cli.js, as Node, also through a symlink', () => {
    // the stand-in's Node cannot read inside app.asar: a recording "executable" shows what would run
    const recorder = path.join(root, 'record-args');
    writeFileSync(recorder, '#!/bin/sh\necho "ELECTRON_RUN_AS_NODE=$ELECTRON_RUN_AS_NODE $*"\n', { mode: 0o755 });
    const link = path.join(root, 'ats-agent-link');
    rmSync(link, { force: true });
    symlinkSync(path.join(app, 'resources', 'bin', 'ats-agent'), link);
    const cli = path.join(app, 'resources', 'app.asar', 'dist-electron', 'cli.js');
    expect(files).toContain('dist-electron/cli.js');
    for (const launcher of [path.join(app, 'resources', 'bin', 'ats-agent'), link]) {
      const out = execFileSync(launcher, ['--no-gui', '--version'], {
        cwd: '/',
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ATS_AGENT_ELECTRON: recorder },
      });
      expect(out).toBe(`ELECTRON_RUN_AS_NODE=1 ${cli} --no-gui --version\n`);
    }
  });

  it('ships the launchers and the icons each platform loads (extraResources)', () => {
    const resources = path.join(app, 'resources');
    expect(statSync(path.join(resources, 'bin', 'ats-agent')).mode & 0o111).not.toBe(0);
    expect(existsSync(path.join(resources, 'bin', 'ats-agent.cmd'))).toBe(true);
    expect(existsSync(path.join(resources, 'icon.png'))).toBe(true);
    for (const platform of ['linux', 'darwin', 'win32'] as const)
      for (const icon of TRAY_ICONS) {
        const { file } = trayImageFile(platform, icon);
        const wanted = file.endsWith('.png') ? [file, file.replace(/\.png$/, '@2x.png')] : [file];
        for (const f of wanted)
          expect(existsSync(path.join(resources, 'tray', f)), `${platform}: tray/${f}`).toBe(true);
      }
  });
});

describe('desktop package (Linux --dir, Electron stand-in): asar: false build, headless launcher', () => {
  let app: string;
  beforeAll(async () => {
    app = await buildLinuxDir(false);
  }, 180_000);

  it('resources/bin/ats-agent prints the package version', () => {
    const out = execFileSync(path.join(app, 'resources', 'bin', 'ats-agent'), ['--version'], {
      cwd: '/',
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(out.trim()).toBe(pkg.version);
  });

  it('runs the whole headless agent from / as nobody: auth, heartbeat, a task, agent.log, a clean stop', async () => {
    const launcher = path.join(app, 'resources', 'bin', 'ats-agent');
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) console.log('not root: the packaged agent runs as the current user, not nobody');
    const workRoot = mkdtempSync(path.join(root, 'run-'));
    chmodSync(workRoot, 0o755);
    const workDir = path.join(workRoot, 'work');
    mkdirSync(workDir);
    if (asRoot) chownSync(workDir, 65534, 65534);

    const sim = await startPlatform();
    // the harness starts "the agent under test": here, the packaged launcher
    const agent = await withAgentCommand(launcher, () =>
      connectedAgent(sim, { workDir, args: ['--no-gui'], ...(asRoot ? { uid: 65534, gid: 65534 } : {}) }),
    );
    expect(sim.authFrames[0].token).toBe(TOKEN);
    expect(sim.heartbeats.length).toBeGreaterThan(0);
    // the launcher exec'd the packaged executable (not a Node from PATH), as the same process
    expect(readlinkSync(`/proc/${agent.child.pid}/exe`)).toBe(path.join(app, builderConfig.executableName));

    sim.dispatch({
      task_id: 't-packaged',
      command: 'echo "ran as $(id -un) in $PWD, ELECTRON_RUN_AS_NODE=${ELECTRON_RUN_AS_NODE:-unset}"',
    });
    const result = await waitForResult(sim, 't-packaged');
    expect(result).toMatchObject({ status: 'success', exit_code: 0 });
    // the launcher's ELECTRON_RUN_AS_NODE stays the agent's own: a task that starts an Electron app
    // under test must get a real Electron, not a Node
    expect(result.output).toBe(
      `ran as ${asRoot ? 'nobody' : os.userInfo().username} in ${path.join(workDir, 'tasks', 't-packaged')}, ELECTRON_RUN_AS_NODE=unset\n`,
    );

    expect(await agent.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const log = readFileSync(path.join(workDir, 'logs', 'agent.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(TOKEN);
  }, 60_000);
});
