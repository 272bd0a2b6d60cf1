// Electron's own postinstall is denied in package.json (allowScripts) so that an install never fails
// where its binary cannot be downloaded: the headless agent needs no Electron. This fetches the
// binary when it can and explains what to do when it cannot.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

// It runs as `prepare`, not `postinstall`: npm runs `prepare` on `npm install` / `npm ci` in this
// checkout (and for a git dependency, which builds from source), never for a tarball or registry
// install; the packed package.json drops it anyway (scripts/pack-manifest.mjs).
const require = createRequire(import.meta.url);
let installer;
try {
  installer = require.resolve('electron/install.js');
} catch {
  process.exit(0); // production install without devDependencies: headless only
}
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  console.log(
    'ats-agent: ELECTRON_SKIP_BINARY_DOWNLOAD is set; the desktop app is unavailable, the headless agent works.',
  );
  process.exit(0);
}
const run = spawnSync(process.execPath, [installer], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
const binary = existsSync(new URL('../node_modules/electron/path.txt', import.meta.url));
if (run.status !== 0 || !binary) {
  const reason =
    String(run.stderr ?? '')
      .split('\n')
      .find((l) => l.trim()) ?? 'unknown error';
  console.warn(
    `ats-agent: Electron's binary could not be downloaded (${reason.trim()}).\n` +
      '  The headless agent works without it (npm run demo, npm start -- --token ...).\n' +
      '  For the desktop app, set ELECTRON_MIRROR to a reachable mirror and run: node node_modules/electron/install.js',
  );
}
