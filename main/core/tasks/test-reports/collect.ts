/**
 * `test_reports`: the files a task's globs match inside its work dir, read after the run and summed
 * into `task_result.test_report`. Whatever is wrong with a glob or a file (it matches nothing, leads
 * outside the work dir, is not a regular file, is too large, is not a report) becomes a line in
 * `notes` and, for a file, its name in `unparsed`: the task's result never depends on it.
 */
import { constants, realpathSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import type { TestReport } from '../../protocol/frames.js';
import { ReportParser, type CaseResult } from './junit.js';

export const REPORT_LIMITS = {
  /** a file larger than this is not read (a 10 000-case JUnit file is about 2 MB) */
  fileBytes: 64 * 1024 * 1024,
  /** files read per task, over all globs */
  files: 100,
  /** entries of `failed` */
  failed: 50,
  /** lines of `notes` */
  notes: 50,
};

export async function collectTestReports(
  taskDir: string,
  patterns: string[],
  limits = REPORT_LIMITS,
): Promise<TestReport> {
  const report: TestReport = { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0, failed: [] };
  const notes: string[] = [];
  const unparsed: string[] = [];
  const note = (line: string) => {
    if (notes.length < limits.notes) notes.push(line);
  };
  let root: string;
  try {
    root = realpathSync.native(taskDir);
  } catch (err) {
    note(`the task's work dir cannot be read: ${(err as Error).message}`);
    return finish(report, notes, unparsed);
  }
  const files: string[] = [];
  for (const pattern of patterns) {
    const problem = unsafePattern(pattern);
    if (problem) {
      note(`test_reports glob ${JSON.stringify(pattern)} ${problem}; skipped`);
      continue;
    }
    let matched: string[];
    try {
      matched = await glob(pattern, {
        cwd: root,
        onlyFiles: true,
        followSymbolicLinks: false,
        expandDirectories: false,
      });
    } catch (err) {
      note(`test_reports glob ${JSON.stringify(pattern)} cannot be used: ${(err as Error).message}`);
      continue;
    }
    if (matched.length === 0)
      note(`test_reports glob ${JSON.stringify(pattern)} matches no regular file (symlinks are not followed)`);
    for (const rel of matched.sort()) if (!files.includes(rel)) files.push(rel);
  }
  if (files.length > limits.files) {
    note(`test_reports matched ${files.length} files; the first ${limits.files} were read`);
    files.length = limits.files;
  }
  let total = 0;
  for (const rel of files) {
    const problem = await readOne(root, rel, limits.fileBytes, (c) => {
      total++;
      report.time += c.time;
      if (c.outcome === 'failure') report.failures++;
      else if (c.outcome === 'error') report.errors++;
      else if (c.outcome === 'skipped') report.skipped++;
      if ((c.outcome === 'failure' || c.outcome === 'error') && report.failed.length < limits.failed)
        report.failed.push({ suite: c.suite, name: c.name, message: c.message });
    });
    if (problem) {
      unparsed.push(rel);
      note(`${rel}: ${problem}`);
    }
  }
  report.tests = total;
  const failedTotal = report.failures + report.errors;
  if (failedTotal > report.failed.length)
    note(`${failedTotal} cases failed; the first ${report.failed.length} are listed`);
  return finish(report, notes, unparsed);
}

function finish(report: TestReport, notes: string[], unparsed: string[]): TestReport {
  report.time = Math.round(report.time * 1000) / 1000;
  return { ...report, ...(unparsed.length ? { unparsed } : {}), ...(notes.length ? { notes } : {}) };
}

/** A glob must stay inside the work dir by its text too: absolute, `..`, or a drive/UNC path is refused. */
function unsafePattern(pattern: string): string | null {
  if (path.isAbsolute(pattern) || path.win32.isAbsolute(pattern) || /^[A-Za-z]:/.test(pattern))
    return 'is absolute (it must be relative to the task work dir)';
  if (pattern.split(/[\\/]/).includes('..')) return 'leaves the task work dir (..)';
  return null;
}

/**
 * Reads and parses one file; a case counts only once its file parsed whole (a file cut off midway
 * counts nothing). Returns why it could not, or null.
 */
async function readOne(
  root: string,
  rel: string,
  maxBytes: number,
  onCase: (c: CaseResult) => void,
): Promise<string | null> {
  const full = path.join(root, rel);
  let real: string;
  try {
    real = realpathSync.native(full);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (real !== root && !real.startsWith(root + path.sep))
    return 'leads outside the task work dir (a symlink); not read';
  let handle;
  try {
    // O_NOFOLLOW: the real path checked is the one opened; O_NONBLOCK: a FIFO cannot hang the agent
    handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return `cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return 'is not a regular file; not read';
    if (stat.size > maxBytes)
      return `is ${mb(stat.size)} MB, larger than the ${mb(maxBytes)} MB a report may be; not read`;
    if (stat.size === 0) return 'is empty';
    const cases: CaseResult[] = [];
    const parser = new ReportParser((c) => cases.push(c));
    let read = 0;
    const stream = handle.createReadStream({ autoClose: false, encoding: 'utf8', end: maxBytes - 1 });
    try {
      for await (const chunk of stream as AsyncIterable<string>) {
        read += Buffer.byteLength(chunk);
        parser.write(chunk);
      }
      parser.end();
    } catch (err) {
      return `not a JUnit/xUnit report: ${firstLine((err as Error).message)}`;
    } finally {
      // a read still in flight ends with an error once the loop has let go of the stream: no listener
      // would make it an uncaught exception; and it must end before the handle closes
      stream.on('error', () => undefined);
      const closed = stream.closed
        ? Promise.resolve()
        : new Promise<void>((resolve) => stream.once('close', () => resolve()));
      stream.destroy();
      await closed;
    }
    if (read >= maxBytes) return `grew past ${mb(maxBytes)} MB while read; not counted`;
    cases.forEach(onCase);
    return null;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 2 : 0);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}
