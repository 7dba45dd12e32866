// The boot temp dirs' names and their sweep, apart from run-qemu.ts so that every command can
// sweep at start-up without loading the QEMU runner (harness/cli/main.ts).

import { lstat, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from './pid.ts';

export const BOOT_DIR_PREFIX = 'e820-boot-';
const OWNED_BOOT_DIR = /^e820-boot-(\d+)-/;

/**
 * Removes boot temp dirs whose owner (the pid in the name) is dead: what a SIGKILLed process
 * left. Only directories (never symlinks) owned by our uid, so a name planted in a shared
 * /tmp by someone else is never removed for them. Returns the paths removed.
 */
export async function sweepStaleBootDirs(dir = tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const m = OWNED_BOOT_DIR.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}
