/**
 * DEV ONLY: builds just the renderer (no Electron/CLI entries), by default into /tmp/ui-dist so that
 * the screenshot/perf harness is not disturbed by other builds emptying dist/ meanwhile.
 *   npx vite build --config renderer/vite.dev.config.ts && UI_DIST=/tmp/ui-dist node --import tsx renderer/dev/screenshot.ts
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  build: { outDir: process.env.UI_DIST ?? '/tmp/ui-dist', emptyOutDir: true },
  plugins: [react()],
});
