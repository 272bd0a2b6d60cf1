/**
 * DEV ONLY: how the task log copes with 100,000 lines (built UI + fake agent, Chromium headless).
 *   npx vite build && node --import tsx renderer/dev/log-perf.ts [lines=100000]
 * Prints: time from selecting the task to the lines being shown, time to jump to the end, frame
 * times while scrolling through the whole log, search time, and frame times while 20,000 more
 * lines stream in with follow on.
 */
import { launch, openPage, serveDist } from './harness.js';

const LINES = Number(process.argv[2] ?? 100_000);

const server = await serveDist();
const browser = await launch();
try {
  const { page, problems } = await openPage(browser, server.url, { width: 1440, height: 1000, lang: 'en', fake: { live: false } });
  await page.getByTestId('task-log').waitFor();
  const taskId = await page.evaluate((n) => window.__fake!.bulkTask(n), LINES);
  const row = page.getByTestId(`task-row-${taskId}`);
  await row.waitFor();

  const t0 = Date.now();
  await row.locator('button.link-button').click();
  await page.locator(`[data-testid="task-log"][data-task-id="${taskId}"] [data-testid="log-line"]`).first().waitFor();
  await page.getByText(`${LINES.toLocaleString('en')} lines`).waitFor();
  const openMs = Date.now() - t0;
  const rendered = await page.getByTestId('log-line').count();

  // jump to the end (follow is on, so the view is there already; scroll to the top and back)
  const jump = await page.evaluate(async () => {
    const el = document.querySelector<HTMLElement>('.log-view')!;
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    el.scrollTop = 0;
    await frame();
    await frame();
    const s = performance.now();
    el.scrollTop = el.scrollHeight;
    await frame();
    await frame();
    const last = [...document.querySelectorAll('[data-testid="log-line"]')].map((e) => Number(e.getAttribute('data-index')));
    return { ms: performance.now() - s, lastIndex: Math.max(...last), scrollHeight: el.scrollHeight };
  });

  // scroll through the whole log in 240 steps, one per frame
  const scroll = await page.evaluate(async () => {
    const el = document.querySelector<HTMLElement>('.log-view')!;
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    el.scrollTop = 0;
    await frame();
    const times: number[] = [];
    let prev = await frame();
    const steps = 240;
    for (let i = 1; i <= steps; i++) {
      el.scrollTop = (el.scrollHeight * i) / steps;
      const t = await frame();
      times.push(t - prev);
      prev = t;
    }
    times.sort((a, b) => a - b);
    return { median: times[times.length >> 1]!, p95: times[Math.floor(times.length * 0.95)]!, max: times[times.length - 1]! };
  });

  // search every line
  const s0 = Date.now();
  await page.getByRole('searchbox').fill('failed');
  await page.getByText(/^1 of /).waitFor();
  const searchMs = Date.now() - s0 - 120; // minus the input debounce
  const matches = await page.locator('.match-count').innerText();
  await page.getByRole('searchbox').fill('');

  // stream 20,000 more lines (50 per chunk, 400 chunks over ~2 s) with follow on
  await page.getByRole('button', { name: /resume|Follow/ }).first().click();
  await page.evaluate(() => {
    const el = document.querySelector<HTMLElement>('.log-view')!;
    el.scrollTop = el.scrollHeight;
  });
  const stream = await page.evaluate(async (id) => {
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    const times: number[] = [];
    let prev = await frame();
    for (let i = 0; i < 400; i++) {
      window.__fake!.stream(id, 50, 50);
      if (i % 4 === 3) {
        const t = await frame();
        times.push(t - prev);
        prev = t;
      }
    }
    for (let i = 0; i < 5; i++) await frame();
    const el = document.querySelector<HTMLElement>('.log-view')!;
    times.sort((a, b) => a - b);
    return {
      median: times[times.length >> 1]!,
      p95: times[Math.floor(times.length * 0.95)]!,
      max: times[times.length - 1]!,
      atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < 20,
      lines: document.querySelector('.log-task .small')?.textContent,
    };
  }, taskId);
  const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);

  console.log(`lines: ${LINES.toLocaleString('en')}`);
  console.log(`select task → lines shown: ${openMs} ms (${rendered} line elements in the DOM)`);
  console.log(`jump to the end: ${jump.ms.toFixed(1)} ms (last rendered line index ${jump.lastIndex}, scrollHeight ${jump.scrollHeight}px)`);
  console.log(`scroll top→bottom in 240 frames: median ${scroll.median.toFixed(1)} ms, p95 ${scroll.p95.toFixed(1)} ms, max ${scroll.max.toFixed(1)} ms per frame`);
  console.log(`search "failed": ~${searchMs} ms → ${matches}`);
  console.log(`streaming 20,000 more lines: frame median ${stream.median.toFixed(1)} ms, p95 ${stream.p95.toFixed(1)} ms, max ${stream.max.toFixed(1)} ms; still at bottom: ${stream.atBottom}; ${stream.lines}`);
  console.log(`JS heap: ${(heap / 1024 / 1024).toFixed(0)} MB`);
  if (problems.length) console.log(problems.join('\n'));
} finally {
  await browser.close();
  await server.close();
}
