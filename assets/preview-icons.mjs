#!/usr/bin/env node
// A contact sheet of the icons, to LOOK at them: every tray image at real size and at 8x (pixels
// kept square), on a light and a dark bar, in colour and in grey scale; the macOS template images as
// the menu bar tints them (black on light, white on dark); every size inside each .ico; the app icon.
// Run: node assets/preview-icons.mjs [icons dir, default: assets] [out.png, default: icons-preview.png]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

const dir = path.resolve(process.argv[2] ?? path.dirname(fileURLToPath(import.meta.url)));
const out = path.resolve(process.argv[3] ?? 'icons-preview.png');
const STATES = ['online', 'busy', 'reconnecting', 'offline'];
const uri = (file) => `data:image/png;base64,${readFileSync(path.join(dir, file)).toString('base64')}`;
const icoB64 = Object.fromEntries(
  STATES.map((s) => [s, readFileSync(path.join(dir, 'tray', `${s}.ico`)).toString('base64')]),
);

const img = (src, px, style = '') => `<img src="${src}" style="width:${px}px;height:${px}px;${style}">`;
const bars = [
  ['light bar', '#ececec', ''],
  ['dark bar', '#1f1f1f', ''],
  ['light, grey scale', '#ececec', 'filter:grayscale(1)'],
  ['dark, grey scale', '#1f1f1f', 'filter:grayscale(1)'],
];
const row = (label, bg, cells) =>
  `<tr style="background:${bg};color:${bg === '#1f1f1f' ? '#ddd' : '#222'}"><th>${label}</th>${cells.join('')}</tr>`;
let html = `<style>body{font:12px sans-serif;margin:8px;background:#fff}td,th{padding:6px 10px;text-align:left}
img{image-rendering:pixelated;vertical-align:middle;margin-right:6px}canvas{image-rendering:pixelated;margin-right:6px;vertical-align:middle}</style>
<table><tr><th></th>${STATES.map((s) => `<th>${s}</th>`).join('')}</tr>`;
for (const [label, bg, filter] of bars)
  html += row(
    `${label}: 16, 32 (@2x at 16 css), 8x`,
    bg,
    STATES.map(
      (s) =>
        `<td>${img(uri(`tray/${s}.png`), 16, filter)}${img(uri(`tray/${s}@2x.png`), 16, filter)}${img(uri(`tray/${s}.png`), 128, filter)}</td>`,
    ),
  );
for (const [label, bg, filter] of [
  ['macOS template, light', '#ececec', ''],
  ['macOS template, dark', '#1f1f1f', 'filter:invert(1)'],
])
  html += row(
    `${label}: 16, 8x, @2x 4x`,
    bg,
    STATES.map(
      (s) =>
        `<td>${img(uri(`tray/${s}Template.png`), 16, filter)}${img(uri(`tray/${s}Template.png`), 128, filter)}${img(uri(`tray/${s}Template@2x.png`), 128, filter)}</td>`,
    ),
  );
for (const bg of ['#ececec', '#1f1f1f'])
  html += row(
    'Windows .ico frames (real size, then 4x)',
    bg,
    STATES.map((s) => `<td class="ico" data-state="${s}"></td>`),
  );
html += `</table><p>app icon, 512 and 64 and 32:</p>${img(uri('icon.png'), 256)}${img(uri('icon.png'), 64)}${img(uri('icon.png'), 32)}
<script>
const ICO = ${JSON.stringify(icoB64)};
// draws each DIB frame of the .ico: the generator's container, read back independently of it
for (const td of document.querySelectorAll('td.ico')) {
  const bytes = Uint8Array.from(atob(ICO[td.dataset.state]), (c) => c.charCodeAt(0));
  const v = new DataView(bytes.buffer);
  const frames = [];
  for (let i = 0; i < v.getUint16(4, true); i++) {
    const size = bytes[6 + i * 16], offset = v.getUint32(6 + i * 16 + 12, true);
    const data = new ImageData(size, size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const p = offset + 40 + ((size - 1 - y) * size + x) * 4, q = (y * size + x) * 4;
      data.data.set([bytes[p + 2], bytes[p + 1], bytes[p], bytes[p + 3]], q);
    }
    frames.push([size, data]);
  }
  for (const zoom of [1, 4]) for (const [size, data] of frames) {
    const c = document.createElement('canvas');
    c.width = c.height = size; c.style.width = c.style.height = size * zoom + 'px';
    c.getContext('2d').putImageData(data, 0, 0);
    td.appendChild(c);
  }
}
</script>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ deviceScaleFactor: 1, viewport: { width: 1400, height: 900 } });
await page.setContent(html);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
console.log(`wrote ${out}`);
