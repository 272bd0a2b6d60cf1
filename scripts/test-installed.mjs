#!/usr/bin/env node
// `npm run test:installed`: the agent as users get it. Packs the package (prepack builds), checks what
// the tarball holds, installs it globally into a temporary prefix with an empty npm cache and no
// network (`--offline`), then runs the integration suite and the dashboard specs against
// <prefix>/bin/ats-agent (ATS_AGENT_CMD), with the test runners started outside the repository
// (the agents themselves always start in `/`, see e2e/lib/agent-env.ts).
//
// `npm test` has just run the long soak, fuzz and flood runs against the repo's build: here they run
// shorter (what they prove of the installed files is the same). INSTALLED_FULL=1 runs them in full.
// KEEP_INSTALLED=1 keeps the temporary prefix and prints where it is; --package-only stops after the
// package checks and the install (no suites).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
/** what the tarball may weigh: 4.3 MB packed, 16.7 MB unpacked when this budget was set */
const PACKED_BUDGET = 5 * 1024 * 1024;
const UNPACKED_BUDGET = 20 * 1024 * 1024;
const SHORT_RUNS = { SOAK_TASKS: '60', FUZZ_RUNS: '500', FLOOD_SECONDS: '6' };

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};
const timings = [];

function run(label, command, args, opts = {}) {
  const started = Date.now();
  console.log(`\n[test:installed] ${label}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...opts });
  timings.push(`${label} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.error) throw result.error;
  return result;
}

// under /tmp, mode 755 all the way: the permission tests run the installed agent as nobody
const work = mkdtempSync(path.join(os.tmpdir(), 'ats-installed-'));
chmodSync(work, 0o755);
const prefix = path.join(work, 'prefix');
const agent = path.join(prefix, 'bin', process.platform === 'win32' ? 'ats-agent.cmd' : 'ats-agent');

try {
  // 1. pack
  const pack = run('pack', 'npm', ['pack', '--pack-destination', work, '--no-update-notifier'], { cwd: REPO });
  if (pack.status !== 0) throw new Error('npm pack failed');
  const tarball = path.join(work, `${pkg.name}-${pkg.version}.tgz`);

  // 2. what the tarball holds
  const listing = spawnSync('tar', ['-tvzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (listing.status !== 0) throw new Error(`cannot list ${tarball}: ${listing.stderr}`);
  const entries = listing.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      return { size: Number(fields[2]), name: fields.slice(5).join(' ') };
    });
  const names = new Set(entries.map((e) => e.name));
  const own = [...names].filter((n) => !n.startsWith('package/node_modules/'));
  for (const required of [
    'package/package.json',
    'package/dist/index.html',
    'package/dist-electron/cli.js',
    'package/dist-electron/main.js',
    'package/dist-electron/preload.cjs',
    'package/assets/bin/ats-agent',
    'package/assets/bin/ats-agent.cmd',
    'package/assets/tray/online.png',
  ])
    check(names.has(required), `the tarball lacks ${required}`);
  check(
    own.some((n) => /^package\/dist\/assets\/.+\.js$/.test(n)),
    'the tarball lacks the UI bundle (dist/assets/*.js)',
  );
  for (const name of own) {
    check(!name.endsWith('.map'), `the tarball holds a source map: ${name}`);
    check(!/\.(test|spec)\.[cm]?[jt]sx?$/.test(name), `the tarball holds a test: ${name}`);
    check(!/\.tsx?$/.test(name), `the tarball holds a TypeScript source: ${name}`);
    check(
      !/^package\/(main|preload|renderer|e2e|scripts|docs|\.ci)\//.test(name),
      `the tarball holds a source or test file: ${name}`,
    );
  }
  for (const dep of Object.keys(pkg.dependencies))
    check(names.has(`package/node_modules/${dep}/package.json`), `dependency ${dep} is not bundled`);
  const packed = statSync(tarball).size;
  const unpacked = entries.reduce((sum, e) => sum + (Number.isFinite(e.size) ? e.size : 0), 0);
  const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log(
    `[test:installed] tarball: ${entries.length} entries (${own.length} own), ${mb(packed)} packed, ${mb(unpacked)} unpacked`,
  );
  check(packed <= PACKED_BUDGET, `the tarball weighs ${mb(packed)}, over its ${mb(PACKED_BUDGET)} budget`);
  check(unpacked <= UNPACKED_BUDGET, `unpacked it weighs ${mb(unpacked)}, over its ${mb(UNPACKED_BUDGET)} budget`);
  const packedManifest = JSON.parse(
    spawnSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout,
  );
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare'])
    check(!packedManifest.scripts?.[script], `the packed package.json has a ${script} script`);

  // 3. install as a user would, with nothing to download: no registry, no cache, no Electron
  const started = Date.now();
  const install = spawnSync(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--offline',
      '--cache',
      path.join(work, 'npm-cache'),
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      tarball,
    ],
    // without CI's ELECTRON_SKIP_BINARY_DOWNLOAD: the package must not need it to install quietly
    { cwd: work, encoding: 'utf8', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' } },
  );
  timings.push(`install ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(install.stdout);
  process.stderr.write(install.stderr);
  if (install.status !== 0) throw new Error(`npm install -g of the tarball failed (${install.status})`);
  check(install.stderr.trim() === '', `installing printed on stderr:\n${install.stderr}`);

  const version = spawnSync(agent, ['--version'], { cwd: '/', encoding: 'utf8' });
  check(version.stdout.trim() === pkg.version, `${agent} --version printed ${JSON.stringify(version.stdout)}`);
  if (process.getuid?.() === 0) {
    const asNobody = spawnSync('runuser', ['-u', 'nobody', '--', agent, '--version'], { cwd: '/', encoding: 'utf8' });
    check(asNobody.stdout.trim() === pkg.version, `nobody cannot run ${agent}: ${asNobody.stderr}`);
  }
  if (failures.length) throw new Error('the package is not right');
  if (!process.argv.includes('--package-only')) runSuites();
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
} finally {
  console.log(`\n[test:installed] ${timings.join(', ')}`);
  if (process.env.KEEP_INSTALLED) console.log(`[test:installed] kept ${work} (agent: ${agent})`);
  else rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`\n[test:installed] FAILED:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(
  process.argv.includes('--package-only')
    ? '[test:installed] the package passed (--package-only: no suites run)'
    : '[test:installed] the installed agent passed',
);

function runSuites() {
  // 4. the suites against the installed agent, runners started outside the repo
  const env = { ...process.env, ATS_AGENT_CMD: agent, ...(process.env.INSTALLED_FULL ? {} : SHORT_RUNS) };
  const node = process.execPath;
  const vitest = run(
    'integration suite',
    node,
    [path.join(REPO, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', REPO, 'e2e/integration'],
    { cwd: work, env },
  );
  check(vitest.status === 0, 'the integration suite failed against the installed agent');
  const playwright = run(
    'dashboard specs',
    node,
    [
      path.join(REPO, 'node_modules', '@playwright', 'test', 'cli.js'),
      'test',
      '--config',
      path.join(REPO, 'playwright.config.ts'),
      'dashboard.spec.ts',
    ],
    { cwd: work, env },
  );
  check(playwright.status === 0, 'the dashboard specs failed against the installed agent');
}
