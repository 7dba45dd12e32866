// Shared by the harness tests: paths of the fake QEMUs and "is that process really gone".

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fake-qemu');
export const fake = (name: string) => join(FAKE_DIR, name);

/** Alive and not a zombie (PID 1 in a container may never reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Pids the fake QEMUs recorded in FAKE_QEMU_PIDFILE. */
export function recordedPids(pidFile: string): number[] {
  if (!existsSync(pidFile)) return [];
  return readFileSync(pidFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** The runner's temp dir, recovered from the `-serial file:PATH` it put in the argv. */
export function tempDirOf(argv: readonly string[]): string {
  const i = argv.indexOf('-serial');
  const spec = argv[i + 1];
  if (i < 0 || spec === undefined || !spec.startsWith('file:')) throw new Error(`no -serial file: in ${argv.join(' ')}`);
  return dirname(spec.slice('file:'.length));
}
