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
// Runtime dependencies stay in node_modules (electron-builder ships them); everything else is bundled.
const external = ['electron', ...Object.keys(pkg.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const node = (entry: string, name: string) => ({
  entry: { [name]: at(entry) },
  // keep `npm run build` from launching Electron: the build must work where its binary is absent
  onstart: () => undefined,
  vite: {
    build: {
      outDir: at('dist-electron'),
      emptyOutDir: false,
      minify: false,
      sourcemap: true,
      rolldownOptions: { external },
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
      node('main/cli.ts', 'cli'),
      node('main/electron/main.ts', 'main'),
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
