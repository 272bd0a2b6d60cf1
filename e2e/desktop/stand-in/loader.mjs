// Node module-resolution hook (module.register): the bare specifier `electron` resolves to the
// recorded stand-in (electron.mjs) for every importer, main.js and electron-store alike, so the
// built main.js runs unmodified. Every other resolved module is appended to STANDIN_MODULE_LOG, which
// lets a test see what a path loaded (the headless path must load no GUI module).
import { appendFileSync } from 'node:fs';

const STAND_IN = new URL('./electron.mjs', import.meta.url).href;
const log = process.env.STANDIN_MODULE_LOG;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'electron') return { url: STAND_IN, shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}
