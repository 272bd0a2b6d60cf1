/**
 * The single-file agent's code (npm run dist:headless): the headless CLI and every dependency in one
 * CommonJS file, the form Node's single-executable application runs. Its own config so that the
 * regular build (vite.config.ts) stays as it is.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));
const NATIVE = ['bufferutil', 'utf-8-validate'];

/**
 * Native add-ons cannot be inside the file, and the single file's require() loads only built-ins (with
 * a warning on stderr for anything else). ws asks for them in a try/catch: here they fail to load at
 * once, silently, and ws uses its JavaScript masking and UTF-8 check instead.
 */
const nativeAddonsAbsent: Plugin = {
  name: 'native-addons-absent',
  enforce: 'pre',
  resolveId: (id) => (NATIVE.includes(id) ? `\0absent:${id}` : null),
  load: (id) =>
    id.startsWith('\0absent:')
      ? `throw new Error(${JSON.stringify(`${id.slice(8)} is a native add-on: not in the single file`)});`
      : null,
};

export default defineConfig({
  root,
  publicDir: false,
  plugins: [nativeAddonsAbsent],
  // a Node program: no browser fields, every dependency inside the bundle
  ssr: { target: 'node', noExternal: true },
  build: {
    ssr: path.join(root, 'main/cli.ts'),
    outDir: path.join(root, 'release/sea'),
    emptyOutDir: true,
    minify: false,
    sourcemap: false,
    rolldownOptions: {
      output: { format: 'cjs', entryFileNames: 'ats-agent.cjs', codeSplitting: false },
    },
  },
});
