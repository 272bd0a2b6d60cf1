#!/usr/bin/env node
/**
 * npm run dist:headless: the headless agent as one executable for this machine (Node's single
 * executable application), release/ats-agent-<os>-<arch>[.exe] and its .sha256.
 *
 *   1. vite builds the UI (dist/) and, with vite.sea.config.ts, the CLI as one CommonJS file;
 *   2. node --experimental-sea-config turns that file and dist/ (as assets ui/<path>) into a blob;
 *   3. postject puts the blob into a copy of this Node binary and flips its SEA fuse.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p) => path.join(root, ...p);
const run = (file, args) => execFileSync(file, args, { cwd: root, stdio: 'inherit' });
const os = { win32: 'win', darwin: 'macos' }[process.platform] ?? process.platform;
const name = `ats-agent-${os}-${process.arch}${process.platform === 'win32' ? '.exe' : ''}`;
const work = at('release', 'sea');
const out = at('release', name);
const vite = at('node_modules', 'vite', 'bin', 'vite.js');

// the Electron entries share dist-electron/ (no build may empty it): what an older build left goes first
rmSync(at('dist-electron'), { recursive: true, force: true });
run(process.execPath, [vite, 'build', '--logLevel', 'warn']);
run(process.execPath, [vite, 'build', '--config', 'vite.sea.config.ts', '--logLevel', 'warn']);

// every file of dist/ under ui/, in a stable order (the blob, and so the sha256, depends only on the inputs)
const dist = at('dist');
const files = readdirSync(dist, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => path.relative(dist, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
  .sort();
if (!files.includes('index.html')) throw new Error('vite build made no dist/index.html');
const seaConfig = {
  main: path.join(work, 'ats-agent.cjs'),
  output: path.join(work, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  assets: Object.fromEntries(files.map((f) => [`ui/${f}`, path.join(dist, f)])),
};
writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
run(process.execPath, ['--experimental-sea-config', path.join(work, 'sea-config.json')]);

rmSync(out, { force: true });
copyFileSync(process.execPath, out);
chmodSync(out, 0o755);
// Node's debug symbols (12 MB here) are of no use on a server; keep them where strip is missing
if (process.platform === 'linux') {
  try {
    execFileSync('strip', [out]);
  } catch {
    console.warn('strip is not available: the file keeps the debug symbols of Node');
  }
}
if (process.platform === 'darwin') run('codesign', ['--remove-signature', out]);
const postject = at('node_modules', 'postject', 'dist', 'cli.js');
run(process.execPath, [
  postject,
  out,
  'NODE_SEA_BLOB',
  seaConfig.output,
  '--sentinel-fuse',
  'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []),
]);
// unsigned binaries do not start on Apple silicon: sign ad hoc (a release signs with its own identity)
if (process.platform === 'darwin') run('codesign', ['--sign', '-', out]);

// the file must start on its own and be this version
const version = execFileSync(out, ['--version'], { cwd: path.parse(root).root, env: {}, encoding: 'utf8' }).trim();
const expected = JSON.parse(readFileSync(at('package.json'), 'utf8')).version;
if (version !== expected) throw new Error(`${name} --version says ${version}, package.json ${expected}`);

const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
writeFileSync(`${out}.sha256`, `${sha}  ${name}\n`);
console.log(`${path.relative(root, out)}: ${(readFileSync(out).length / 2 ** 20).toFixed(1)} MiB, sha256 ${sha}`);
