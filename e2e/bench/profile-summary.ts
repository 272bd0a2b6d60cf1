/**
 * Summarise a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): the functions with the most self
 * time, and the most total (inclusive) time, with their source location.
 *
 *   node --import tsx e2e/bench/profile-summary.ts bench-results/profiles/burst/*.cpuprofile [--top 30] [--match text] [--after ms]
 *
 * --after skips the first ms of the profile (start-up), e.g. to look at an idle agent only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const top = Number(args[args.indexOf('--top') + 1]) || 25;
const match = args.includes('--match') ? args[args.indexOf('--match') + 1]! : null;
const afterMs = args.includes('--after') ? Number(args[args.indexOf('--after') + 1]) : 0;
const files = args.filter((a, i) => a.endsWith('.cpuprofile') && args[i - 1] !== '--match');

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // time per sample from timeDeltas (µs)
  const selfUs = new Map<number, number>();
  let at = 0;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    if (at < afterMs * 1000) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0));
  });
  const key = (n: Node) => {
    const f = n.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    self.set(key(n), (self.get(key(n)) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue; // recursion counts once
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  const wallMs = (p.endTime - p.startTime) / 1000 - afterMs;
  const idleMs = (self.get('(idle)') ?? 0) / 1000;
  console.log(
    `\n${file}\n  wall ${wallMs.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms, busy ${(wallMs - idleMs).toFixed(0)} ms`,
  );
  const show = (title: string, m: Map<string, number>) => {
    console.log(`  ${title}`);
    [...m]
      .filter(([k]) => !['(idle)', '(root)', '(program)'].includes(k) || title.startsWith('self'))
      .filter(([k]) => !match || k.includes(match))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .forEach(([k, us]) => console.log(`    ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`));
  };
  show('self time', self);
  show('total time (inclusive)', total);
}
