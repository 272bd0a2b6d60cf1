// The package.json that `npm pack` puts in the tarball carries no `prepare` script: npm (11.16+)
// lists any install-time script of an installed package as unreviewed, although npm never runs
// `prepare` for a tarball or registry install. `prepare` (fetching Electron) is for this checkout only.
//   strip    the last step of `prepack`: package.json without scripts.prepare, the original kept aside
//   restore  `postpack`: the original back (also done first by `strip`, after a pack that was killed)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const manifest = new URL('../package.json', import.meta.url);
const kept = new URL('../package.json.prepack', import.meta.url);

function restore() {
  if (existsSync(kept)) renameSync(kept, manifest);
}

const command = process.argv[2];
if (command === 'restore') {
  restore();
} else if (command === 'strip') {
  restore();
  const text = readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(text);
  writeFileSync(kept, text);
  delete pkg.scripts.prepare;
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else {
  console.error('usage: pack-manifest.mjs strip|restore');
  process.exit(2);
}
