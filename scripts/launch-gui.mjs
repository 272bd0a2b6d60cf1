#!/usr/bin/env node
// `npm run gui`: starts the desktop app from the build (dist-electron/main.js), or says clearly why
// it cannot. `--no-gui` runs the headless agent with this Node instead (dist-electron/cli.js).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function run(command, argv, env) {
  const child = spawn(command, argv, { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    console.error(`ats-agent: cannot start ${command}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : signal ? 143 : 1)));
}

/**
 * Whether the binary is there, checked WITHOUT require('electron'): since electron 45.x its index.js
 * starts a download when the binary is missing, which hangs or fails slowly offline.
 */
function electronInstalled() {
  let pkgDir;
  try {
    pkgDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return false;
  }
  const pathFile = path.join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return false;
  const rel = readFileSync(pathFile, 'utf8').trim();
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(pkgDir, 'dist');
  return rel !== '' && existsSync(path.join(dist, rel));
}

if (args.includes('--no-gui')) {
  const cli = path.join(root, 'dist-electron', 'cli.js');
  if (!existsSync(cli)) {
    console.error(`ats-agent: ${cli} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
  run(process.execPath, [cli, ...args], process.env);
} else {
  let electron;
  let why = '';
  if (electronInstalled()) {
    try {
      electron = require('electron'); // the binary's path
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
  } else {
    why = 'node_modules/electron/path.txt or dist/ is missing';
  }
  if (typeof electron !== 'string' || !existsSync(electron)) {
    console.error(
      [
        'ats-agent: the desktop app is unavailable: the Electron binary is not installed' +
          (why ? ` (${why.split('\n')[0]})` : electron ? ` (${electron} does not exist)` : '') +
          '.',
        '  It was not downloaded (offline install, or ELECTRON_SKIP_BINARY_DOWNLOAD). To get it, set',
        '  ELECTRON_MIRROR to a reachable mirror and run: node node_modules/electron/install.js',
        '  The headless agent works without it: npm start -- --token <token> [--server-url ws://...]',
        '  (or: npm run gui -- --no-gui --token <token>)',
      ].join('\n'),
    );
    process.exit(1);
  }
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // inherited, it would turn the app into plain Node
  run(electron, [root, ...args], env);
}
