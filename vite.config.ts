/**
 * One build: the React renderer (dist/), and with vite-plugin-electron the Electron main, the
 * sandboxed preload (one CommonJS file) and the headless CLI (dist-electron/), each its own entry.
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import electron from 'vite-plugin-electron';
import pkg from './package.json' with { type: 'json' };

const root = path.dirname(fileURLToPath(import.meta.url));
const at = (p: string) => path.join(root, p);
const builtins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
// The Electron main leaves runtime dependencies in node_modules (electron-builder ships them).
const external = ['electron', ...Object.keys(pkg.dependencies), ...builtins];
// The headless CLI bundles its pure-JS dependencies: one module graph instead of hundreds costs an
// idle agent ~4 MB less (npm run bench). Kept out: ws with its native masking (bufferutil), and what
// only some agents load (systeminformation off Linux, prom-client with --dashboard).
const cliExternal = ['ws', 'bufferutil', 'systeminformation', 'prom-client', ...builtins];
const node = (entry: string, name: string, externals: string[]) => ({
  entry: { [name]: at(entry) },
  // keep `npm run build` from launching Electron: the build must work where its binary is absent
  onstart: () => undefined,
  vite: {
    build: {
      outDir: at('dist-electron'),
      emptyOutDir: false,
      minify: false,
      sourcemap: true,
      rolldownOptions: { external: externals },
    },
  },
});

export default defineConfig({
  root: at('renderer'),
  base: './',
  build: { outDir: at('dist'), emptyOutDir: true },
  plugins: [
    react(),
    electron([
      node('main/cli.ts', 'cli', cliExternal),
      node('main/electron/main.ts', 'main', external),
      {
        onstart: ({ reload }) => reload(),
        vite: {
          build: {
            outDir: at('dist-electron'),
            emptyOutDir: false,
            minify: false,
            rolldownOptions: {
              input: { preload: at('preload/index.ts') },
              external: ['electron'],
              // sandboxed preloads must be one CommonJS file
              output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
            },
          },
        },
      },
    ]),
  ],
});
