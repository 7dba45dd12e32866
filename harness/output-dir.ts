// Writing into directories a user names (results, kept logs, explore runs). The tool runs as
// root, and such a directory may be shared: a symlink planted there must never redirect a write
// (it truncated a root-owned file elsewhere), and a directory that cannot take the results must
// be found before the first boot, not after the last.
//
// Files are written to a fresh temp name created with O_EXCL|O_NOFOLLOW (never an existing file,
// never through a link), then renamed over the final name (rename replaces a link, it does not
// follow it). Directories are walked component by component: a symlink is followed only when root
// or this user owns it — the rule Linux applies to sticky world-writable directories
// (fs.protected_symlinks), applied everywhere here.

import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';
import { acquireLock } from './provision/lock.ts';
import { CacheLockTimeoutError } from './provision/errors.ts';

/** Free space a results directory needs before a run starts: results.json, junit.xml and kept logs. */
export const MIN_FREE_BYTES = 64n * 1024n * 1024n;

/** The output directory cannot be used; says which path and why. */
export class OutputDirError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    hint = 'choose another directory (--results DIR) or fix this one',
  ) {
    super(`cannot write results into ${path}: ${reason}; ${hint}`);
    this.name = 'OutputDirError';
  }
}

const euid = (): number => process.geteuid?.() ?? -1;

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/**
 * Makes `dir` and its missing parents, refusing to pass through a symlink owned by anyone but
 * root or this user, or through something that is not a directory. Returns the absolute path.
 */
export async function ensureOwnDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  const { root } = parse(abs);
  let at = root;
  for (const part of abs.slice(root.length).split(sep).filter(Boolean)) {
    at = join(at, part);
    let st = await lstat(at).catch((err: unknown) => (errnoOf(err) === 'ENOENT' ? null : Promise.reject(err)));
    if (st === null) {
      await mkdir(at).catch((err: unknown) => {
        if (errnoOf(err) !== 'EEXIST') throw new OutputDirError(at, `cannot create it (${errnoOf(err)})`);
      });
      st = await lstat(at);
    }
    if (st.isSymbolicLink()) {
      if (st.uid !== 0 && st.uid !== euid()) throw new OutputDirError(at, `it is a symlink owned by uid ${st.uid}, another user (never followed)`);
      st = await stat(at); // root's or ours: followed; what it points at must be a directory
    }
    if (!st.isDirectory()) throw new OutputDirError(at, 'it exists and is not a directory');
  }
  return abs;
}

function freshTemp(dir: string, name: string): string {
  // node:crypto on first use, not at import: `e820 predict` imports this module and writes only with --html.
  const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes `name` inside `dir` (made if missing) without following any link planted there. */
export async function writeInside(dir: string, name: string, data: string | Uint8Array): Promise<string> {
  const abs = await ensureOwnDir(dir);
  const final = join(abs, name);
  const tmp = freshTemp(abs, name);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await fh.writeFile(data);
    await fh.close();
    await rename(tmp, final);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return final;
}

/** Copies `src` to `name` inside `dir`, the same way (a fresh O_EXCL file, then a rename). */
export async function copyInside(dir: string, name: string, src: string): Promise<string> {
  const abs = await ensureOwnDir(dir);
  const final = join(abs, name);
  const tmp = freshTemp(abs, name);
  try {
    // COPYFILE_EXCL: the temp name is created, never opened if something is already there.
    await copyFile(src, tmp, constants.COPYFILE_EXCL);
    await rename(tmp, final);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return final;
}

/**
 * Before the first boot: the directory exists (made here), a file can be created and renamed in
 * it, and its file system has MIN_FREE_BYTES free. Throws OutputDirError naming what is wrong.
 */
export async function prepareOutputDir(dir: string, minFreeBytes: bigint = MIN_FREE_BYTES): Promise<string> {
  let abs: string;
  try {
    abs = await ensureOwnDir(dir);
  } catch (err) {
    if (err instanceof OutputDirError) throw err;
    throw new OutputDirError(resolve(dir), errnoOf(err));
  }
  try {
    const probe = await writeInside(abs, '.e820-write-probe', 'e820 checks that results can be written here\n');
    await rm(probe, { force: true });
  } catch (err) {
    throw new OutputDirError(abs, `a test file cannot be written (${errnoOf(err)})`);
  }
  const fs = await statfs(abs, { bigint: true });
  const free = fs.bavail * fs.bsize;
  if (free < minFreeBytes) {
    throw new OutputDirError(abs, `its file system has ${free / 1024n} KiB free, and a run needs at least ${minFreeBytes / 1024n / 1024n} MiB for results and logs`);
  }
  return abs;
}

/** The lock a run holds on its results directory (see lockOutputDir). */
export const OUTPUT_LOCK_NAME = '.e820-run.lock';

/**
 * Takes `dir` for one run: a second run on the same directory is refused at once, naming the
 * run that holds it (it would silently replace the first one's results). A lock left by a run
 * that died is taken over. Returns the release.
 */
export async function lockOutputDir(dir: string, purpose: string): Promise<() => Promise<void>> {
  try {
    return await acquireLock(join(dir, OUTPUT_LOCK_NAME), { purpose, timeoutMs: 0 });
  } catch (err) {
    if (err instanceof CacheLockTimeoutError) {
      throw new OutputDirError(dir, `another e820 run is writing its results there: ${err.holder}`, 'wait for it to finish, or give this run another directory (--results DIR)');
    }
    throw err;
  }
}
