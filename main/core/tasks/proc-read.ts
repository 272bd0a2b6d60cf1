/**
 * Small procfs files read through one reused buffer. readFileSync allocates 64 KiB for every
 * procfs file (their size reads as 0), which a look at every process made a large part of the
 * agent's cost per task. The files read this way are far smaller: stat is under 1 KiB (comm is at
 * most 16 bytes), io a few lines, status's VmHWM comes in its first 1 KiB, loadavg one line.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const scratch = Buffer.allocUnsafe(16 * 1024);

/** The file's first 16 KiB as latin1, or undefined when it cannot be read (the process is gone). */
export function readProcText(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return scratch.toString('latin1', 0, readSync(fd, scratch, 0, scratch.length, 0));
  } catch {
    return undefined; // a process that exits between open and read reads as ESRCH
  } finally {
    closeSync(fd);
  }
}
