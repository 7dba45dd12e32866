// The download/extract cache, and the one way things get into it: build in a temp dir
// beside the destination, then rename. A half-finished download or extract therefore
// never sits at the final path, and a killed run leaves only a `.tmp-<pid>-*` dir, which the
// next start sweeps (sweepStaleCacheTemps) once that pid is gone.

import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pidAlive } from '../pid.ts';

export const CACHE_APP_DIR = 'e820-conformance';

/** `$E820_CACHE_DIR`, else `$XDG_CACHE_HOME/e820-conformance`, else `~/.cache/e820-conformance`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.E820_CACHE_DIR) return env.E820_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, CACHE_APP_DIR);
  return join(env.HOME || homedir(), '.cache', CACHE_APP_DIR);
}

/**
 * Produces `dest` (a directory) atomically: `fill` writes into a fresh temp dir beside it,
 * which is then renamed into place. If another run finished first, its result is kept.
 */
export async function publishDir(dest: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dest), tempPrefix()));
  try {
    await fill(tmp);
    try {
      await rename(tmp, dest);
    } catch (err) {
      // ENOTEMPTY/EEXIST: a concurrent run published the same entry; theirs is as good.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Writes a file atomically (temp file in the same dir, then rename). */
export async function publishFile(dest: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dest), tempPrefix()));
  try {
    const f = join(tmp, 'file');
    await writeFile(f, data);
    await rename(f, dest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Temp names carry the owner's pid, so what a killed run left can be told from a live run's. */
const tempPrefix = (): string => `.tmp-${process.pid}-`;
/** `.tmp-<pid>-…` (publishDir, publishFile) and `.tmp-damaged-<entry>-<pid>` (verify.ts). */
const OWNED_TEMP = /^\.tmp-(?:(\d+)-|damaged-.*-(\d+)$)/;
/** Temps from before names carried a pid: removed once surely abandoned. */
const UNOWNED_TEMP_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the temp dirs a killed run left in the cache (its root and each entry kind's folder):
 * those whose owner pid is gone, and unowned ones older than a day. Returns what it removed.
 */
export async function sweepStaleCacheTemps(cache: string = cacheDir()): Promise<string[]> {
  const removed: string[] = [];
  const kinds = await readdir(cache, { withFileTypes: true }).catch(() => []);
  for (const dir of [cache, ...kinds.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => join(cache, d.name))]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.tmp-')) continue;
      const m = OWNED_TEMP.exec(name);
      const pid = m ? Number(m[1] ?? m[2]) : null;
      const path = join(dir, name);
      const abandoned = pid !== null ? pid !== process.pid && !pidAlive(pid) : Date.now() - ((await lstat(path).catch(() => null))?.mtimeMs ?? Date.now()) > UNOWNED_TEMP_AGE_MS;
      if (!abandoned) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
  }
  return removed;
}

export const MANIFEST_NAME = 'manifest.json';

/** Reads a cache entry's manifest; null when absent or unreadable (then the entry is not cached). */
export async function readManifest<T>(dir: string, isValid: (v: unknown) => v is T): Promise<T | null> {
  try {
    const v: unknown = JSON.parse(await readFile(join(dir, MANIFEST_NAME), 'utf8'));
    return isValid(v) ? v : null;
  } catch {
    return null;
  }
}

export async function writeManifest(dir: string, value: unknown): Promise<void> {
  await writeFile(join(dir, MANIFEST_NAME), JSON.stringify(value, null, 2) + '\n');
}
