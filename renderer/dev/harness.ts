/**
 * DEV ONLY: shared pieces of the screenshot and performance scripts: a static server for dist/,
 * Chromium, and the fake agent bundled into a script for `page.addInitScript`.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FakeOptions } from './fake-agent.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
/** what to serve: dist/ (the real build) unless UI_DIST names another build of the renderer */
const dist = process.env.UI_DIST ?? path.join(repo, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export async function serveDist(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/api') {
      // like the dashboard with a wrong key
      res.writeHead(401).end('access key missing or wrong');
      return;
    }
    const file = path.join(dist, path.normalize(u.pathname === '/' ? '/index.html' : u.pathname));
    if (!file.startsWith(dist)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

let fakeScript: string | null = null;
export async function fakeAgentScript(): Promise<string> {
  if (fakeScript) return fakeScript;
  const out = await build({ entryPoints: [path.join(here, 'fake-agent.ts')], bundle: true, format: 'iife', write: false, target: 'es2022' });
  fakeScript = out.outputFiles[0]!.text;
  return fakeScript;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--headless'],
  });
}

export interface PageOptions {
  width: number;
  height: number;
  lang?: 'en' | 'zh';
  /** undefined: no fake agent (the dashboard client is used) */
  fake?: FakeOptions;
  dark?: boolean;
}

export async function openPage(browser: Browser, base: string, o: PageOptions, query = ''): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({
    viewport: { width: o.width, height: o.height },
    locale: o.lang === 'zh' ? 'zh-CN' : 'en-US',
    colorScheme: o.dark ? 'dark' : 'light',
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // tsx compiles with keepNames: functions passed to page.evaluate may call esbuild's __name helper
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  if (o.fake) {
    await page.addInitScript((opts) => {
      (window as unknown as { __FAKE_OPTIONS: unknown }).__FAKE_OPTIONS = opts;
    }, o.fake);
    await page.addInitScript({ content: await fakeAgentScript() });
  }
  await page.goto(base + query);
  return { context, page, problems };
}
