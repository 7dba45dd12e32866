// Verified cache entries. When an entry is made, the size and sha256 of every regular file in it go
// into its manifest (`verify`); on every use each file's size is checked and the files a boot
// depends on most (`verify.hashed`: kernel, module, BIOS images, initramfs, a QEMU root's loader,
// libc and the libraries QEMU loads up to a byte budget) are hashed again. A damaged entry is said
// to be damaged — which entry, which file — and rebuilt through the normal provisioning path,
// instead of being booted and blamed on the guest or the command line.

import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { lstat, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

import { MANIFEST_NAME, publishDir, publishFile, readManifest } from './cache.ts';
import { CacheEntryDamagedError } from './errors.ts';

export interface FileRecord {
  size: number;
  sha256: string;
}

export interface EntryRecords {
  /** Every regular file of the entry (relative path), the manifest excepted. */
  files: Record<string, FileRecord>;
  /** Files hashed again on every use; the others get their size checked. */
  hashed: string[];
}

export interface Damage {
  file: string;
  reason: string;
}

export const sha256File = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

async function walkFiles(dir: string, base = dir, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walkFiles(p, base, out);
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out;
}

/** Sizes and hashes of every regular file under `dir` (made once, when the entry is built). */
export async function recordFiles(dir: string, hashed: readonly string[]): Promise<EntryRecords> {
  const files: Record<string, FileRecord> = {};
  for (const rel of (await walkFiles(dir)).sort()) {
    if (rel === MANIFEST_NAME) continue;
    files[rel] = { size: (await lstat(join(dir, rel))).size, sha256: await sha256File(join(dir, rel)) };
  }
  return { files, hashed: hashed.filter((h) => files[h] !== undefined) };
}

const isRecords = (v: unknown): v is EntryRecords => {
  const r = v as Partial<EntryRecords> | null;
  return typeof r === 'object' && r !== null && typeof r.files === 'object' && r.files !== null && Array.isArray(r.hashed);
};

/** The first damage found, or null. Sizes of all files (in parallel), then the hashed ones. */
export async function verifyFiles(dir: string, rec: EntryRecords): Promise<Damage | null> {
  // Synchronous on purpose: ~2 µs a file, where 1,750 fs.promises.lstat calls took ~50 ms.
  for (const [rel, want] of Object.entries(rec.files)) {
    const st = lstatSync(join(dir, rel), { throwIfNoEntry: false });
    if (!st) return { file: rel, reason: 'is missing' };
    if (!st.isFile()) return { file: rel, reason: 'is no longer a regular file' };
    if (st.size !== want.size) return { file: rel, reason: `is ${st.size} bytes, ${want.size} when cached (${st.size < want.size ? 'cut short' : 'grown'})` };
  }
  for (const rel of rec.hashed) {
    const want = rec.files[rel];
    if (want && createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex') !== want.sha256) {
      return { file: rel, reason: 'has other content than when cached (sha256 differs)' };
    }
  }
  return null;
}

/**
 * Truncation visible without a record (entries cached before records existed): an ELF whose
 * section headers lie past its end, a bzImage shorter than its header's syssize, a BIOS image
 * whose size is not a multiple of 64 KiB (QEMU's own rule).
 */
export function structuralDamage(name: string, b: Uint8Array): string | null {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length === 0) return 'is empty';
  if (buf.length >= 64 && buf.readUInt32BE(0) === 0x7f454c46 && buf[4] === 2) {
    const end = Number(buf.readBigUInt64LE(0x28)) + buf.readUInt16LE(0x3a) * buf.readUInt16LE(0x3c);
    return end > buf.length ? `is ${buf.length} bytes, its ELF section headers end at ${end} (cut short)` : null;
  }
  if (buf.length >= 0x210 && buf.toString('latin1', 0x202, 0x206) === 'HdrS') {
    const end = ((buf[0x1f1] || 4) + 1) * 512 + buf.readUInt32LE(0x1f4) * 16;
    return buf.length < end ? `is ${buf.length} bytes, its bzImage header says ${end} (cut short)` : null;
  }
  if (name.endsWith('.bin') && buf.length % 65536 !== 0) return `is ${buf.length} bytes, not a multiple of 64 KiB (cut short)`;
  return null;
}

export interface EntrySpec<M extends object> {
  /** The entry directory. */
  dir: string;
  /** Prefix of progress messages, e.g. "kernel". */
  label: string;
  isValid: (v: unknown) => v is M;
  progress: (m: string) => void;
  /** Files of a filled entry (relative) to hash on every use. */
  hashed: (dir: string, m: M) => Promise<string[]>;
  /** Builds the entry's files in `tmp` and returns its manifest (records are added here). */
  fill: (tmp: string) => Promise<M>;
  /** Extra checks of an entry cached before records existed, before they are recorded. */
  adoptCheck?: (dir: string, m: M) => Promise<Damage | null>;
}

export type Verified<M> = M & { verify: EntryRecords };

/** Moves a damaged entry out of the way (rename first, so a crash mid-delete leaves only a .tmp-*). */
export async function discardEntry(dir: string): Promise<void> {
  const aside = join(dirname(dir), `.tmp-damaged-${basename(dir)}-${process.pid}`);
  try {
    await rename(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}

async function writeManifestAtomic(dir: string, value: unknown): Promise<void> {
  await publishFile(join(dir, MANIFEST_NAME), JSON.stringify(value, null, 2) + '\n');
}

/**
 * The entry's manifest when it is complete and verifies (records present, sizes and hashed files
 * as recorded), else null, changing nothing: the warm path (resolved.ts). Anything else goes
 * through verifiedEntry, which names the damage and rebuilds.
 */
export async function usableEntry<M extends object>(dir: string, isValid: (v: unknown) => v is M): Promise<Verified<M> | null> {
  const m = await readManifest(dir, isValid);
  const rec = (m as { verify?: unknown } | null)?.verify;
  if (m === null || !isRecords(rec)) return null;
  return (await verifyFiles(dir, rec)) === null ? (m as Verified<M>) : null;
}

/**
 * The entry, checked; rebuilt when damaged or without a manifest. An entry cached before records
 * existed is checked structurally, then its records are written (it is not downloaded again).
 * Callers hold the entry's lock (lock.ts), so nobody else builds or discards it meanwhile.
 */
export async function verifiedEntry<M extends object>(spec: EntrySpec<M>): Promise<{ manifest: Verified<M>; reused: boolean }> {
  const { dir, label, progress } = spec;
  const m = await readManifest(dir, spec.isValid);
  let damage: Damage | null = null;
  if (m !== null) {
    const rec = (m as { verify?: unknown }).verify;
    if (isRecords(rec)) {
      damage = await verifyFiles(dir, rec);
      if (damage === null) return { manifest: m as Verified<M>, reused: true };
    } else {
      const hashed = await spec.hashed(dir, m).catch((err: unknown) => {
        damage = { file: '(entry)', reason: `cannot be inspected: ${(err as Error).message}` };
        return [];
      });
      for (const rel of hashed) {
        if (damage) break;
        const bytes = await readFile(join(dir, rel)).catch(() => null);
        const why = bytes === null ? 'is missing' : structuralDamage(rel, bytes);
        if (why) damage = { file: rel, reason: why };
      }
      damage ??= (await spec.adoptCheck?.(dir, m)) ?? null;
      if (damage === null) {
        const manifest = { ...m, verify: await recordFiles(dir, hashed) };
        await writeManifestAtomic(dir, manifest);
        progress(`${label}: recorded sizes and hashes of ${dir} (cached before entries were verified)`);
        return { manifest, reused: true };
      }
    }
  } else if (await lstat(dir).then(() => true, () => false)) {
    damage = { file: MANIFEST_NAME, reason: 'is missing or unreadable (an unfinished or damaged entry)' };
  }
  if (damage !== null) {
    progress(`${label}: ${new CacheEntryDamagedError(dir, damage.file, damage.reason, false).message}`);
    await discardEntry(dir);
  }
  await publishDir(dir, async (tmp) => {
    const filled = await spec.fill(tmp);
    const manifest: Verified<M> = { ...filled, verify: await recordFiles(tmp, await spec.hashed(tmp, filled)) };
    // Written last: without it the entry is never taken as cached.
    await writeFile(join(tmp, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
  });
  const made = await readManifest(dir, spec.isValid);
  const rec = (made as { verify?: unknown } | null)?.verify;
  if (made === null || !isRecords(rec)) throw new CacheEntryDamagedError(dir, MANIFEST_NAME, 'is missing after building the entry', true);
  const after = await verifyFiles(dir, rec);
  if (after) throw new CacheEntryDamagedError(dir, after.file, after.reason, true);
  if (damage !== null) progress(`${label}: rebuilt ${dir}`);
  return { manifest: made as Verified<M>, reused: false };
}

/**
 * Greedy pick of files to hash on every use: `always` first, then `more` in the given order while
 * the total stays within `budgetBytes` (hashing runs at roughly 0.5–1 GB/s here).
 */
export async function pickHashed(dir: string, always: readonly string[], more: readonly string[], budgetBytes: number): Promise<string[]> {
  const out: string[] = [];
  let total = 0;
  const sizeOf = async (rel: string) => (await lstat(join(dir, rel)).catch(() => null))?.size ?? null;
  for (const rel of always) {
    const s = await sizeOf(rel);
    if (s === null || out.includes(rel)) continue;
    out.push(rel);
    total += s;
  }
  const sized = (await Promise.all(more.map(async (rel) => [rel, await sizeOf(rel)] as const))).filter(
    (x): x is readonly [string, number] => x[1] !== null && !out.includes(x[0]),
  );
  for (const [rel, s] of sized.sort((a, b) => a[1] - b[1])) {
    if (total + s > budgetBytes) break;
    out.push(rel);
    total += s;
  }
  return out;
}
