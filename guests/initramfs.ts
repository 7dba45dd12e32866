// Builds the guest's initramfs: /init (guests/init.c, compiled here), the fw_cfg module when the
// kernel has it as a module, and the /dev/console node. Built images are cached by a hash of
// everything that goes into them, so a matrix of boots with one kernel builds it once.
//
// Uncompressed: the kernel copies a plain newc archive (init/initramfs.c unpack_to_rootfs) instead
// of inflating it. With /init a 10 KiB program instead of a 2 MiB busybox the archive is ~11 KiB
// (plus the module for the cloud kernel) (docs/minimal-kernel.md, **The guest's /init**).

import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { hostFor } from '../harness/host/abortable.ts';
import type { Host } from '../harness/host/types.ts';
import { cacheDir as defaultCacheDir, publishFile } from '../harness/provision/cache.ts';
import { ensureBuildTools } from '../harness/provision/debian-source.ts';
import { elfLinkage } from '../harness/provision/elf.ts';
import { CacheEntryDamagedError, ProvisionError } from '../harness/provision/errors.ts';
import { withLock } from '../harness/provision/lock.ts';
import { verifyFiles, type Damage, type FileRecord } from '../harness/provision/verify.ts';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { GUEST_PATHS, INIT_COMPILE_FLAGS, initConfigHeader, readInitSource } from './init.ts';

/** Bump when the layout below changes in a way the inputs' hash cannot see. */
const LAYOUT_VERSION = 3;

export interface InitramfsInputs {
  /** qemu_fw_cfg.ko built for the kernel that will boot, or null if the kernel has none. */
  fwCfgModule: string | null;
}

/** The guest's /init could not be compiled; the message says what the compiler said. */
export class InitCompileError extends ProvisionError {
  constructor(detail: string) {
    super(`compiling the guest's /init (guests/init.c) failed: ${detail}`);
    this.name = 'InitCompileError';
  }
}

/** The C compiler the /init build runs, and its Debian package (installed when missing and root). */
const INIT_BUILD_TOOLS = [{ tool: 'gcc', pkg: 'gcc' }] as const;

/**
 * Compiles guests/init.c with this header into a static executable, in a private temp dir of
 * this machine (never a shared path: the result runs as the guest's init).
 */
export async function compileInit(source: string, header: string, opts: { host?: Host; onProgress?: (m: string) => void; signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  await ensureBuildTools(INIT_BUILD_TOOLS, sys, progress, "Compiling the guest's /init", opts.signal);
  const dir = await sys.makeTempDir('e820-init-');
  try {
    await sys.writeFile(join(dir, 'init.c'), source, 0o600);
    await sys.writeFile(join(dir, 'init-config.h'), header, 0o600);
    const out = join(dir, 'init');
    const r = await sys.exec(['gcc', ...INIT_COMPILE_FLAGS, '-o', out, join(dir, 'init.c')]);
    if (r.exitCode !== 0) throw new InitCompileError(`gcc exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(0, 20).join('\n')}`);
    // Warnings are said, not fatal: another gcc may warn where this one does not.
    for (const line of r.stderr.split('\n')) if (line.trim() !== '') progress(`gcc: ${line}`);
    const binary = await sys.readFile(out);
    const linkage = elfLinkage(binary);
    if (linkage !== 'static') throw new InitCompileError(`gcc produced ${linkage === 'dynamic' ? 'a dynamically linked executable' : 'no ELF executable'} (the guest has no libc)`);
    return binary;
  } finally {
    await sys.removeDir(dir);
  }
}

const exists = (p: string) => access(p).then(() => true, () => false);

async function readRecord(p: string): Promise<FileRecord | null> {
  try {
    const v = JSON.parse(await readFile(p, 'utf8')) as Partial<FileRecord>;
    return typeof v.size === 'number' && typeof v.sha256 === 'string' ? { size: v.size, sha256: v.sha256 } : null;
  } catch {
    return null;
  }
}

/** The archive entries, in unpack order (parents first). Exported for tests. */
export function initramfsEntries(init: Uint8Array, fwCfgModule: Uint8Array | null): CpioEntry[] {
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'dev' },
    // The kernel opens /dev/console for init's stdio before init can mount devtmpfs:
    // without this node init starts with no stdin/stdout at all.
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
  ];
  if (fwCfgModule) {
    entries.push({ type: 'dir', path: 'lib' }, { type: 'dir', path: 'lib/modules' });
    entries.push({ type: 'file', path: GUEST_PATHS.fwCfgModule, data: fwCfgModule, mode: 0o644 });
  }
  entries.push({ type: 'file', path: GUEST_PATHS.init, data: init, mode: 0o755 });
  return entries;
}

export interface BuildInitramfsOptions {
  /** Where built images are cached; default `<cacheDir()>/initramfs`. */
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

/**
 * Builds (or reuses) the initramfs for these inputs and returns the cached image's path.
 * If `out` is given the image is also copied there.
 */
export async function buildInitramfs(
  inputs: InitramfsInputs,
  out?: string,
  opts: BuildInitramfsOptions = {},
): Promise<string> {
  const module = inputs.fwCfgModule === null ? null : await readFile(inputs.fwCfgModule);
  const source = await readInitSource();
  const header = initConfigHeader({ hasFwCfgModule: module !== null });

  // Keyed by what the program is (its source, header and flags), not by the compiler's bytes:
  // another gcc gives other bytes for the same program, and the image records its own sha256.
  const h = createHash('sha256');
  for (const part of [`layout-${LAYOUT_VERSION}`, source, header, INIT_COMPILE_FLAGS.join(' '), module ?? 'no-module']) {
    h.update(createHash('sha256').update(part).digest());
  }
  const key = h.digest('hex').slice(0, 24);
  const dir = opts.cacheDir ?? join(defaultCacheDir(), 'initramfs');
  const path = join(dir, `initramfs-${key}.cpio`);

  // The image's size and sha256 sit beside it; a damaged image (or one without the record) is
  // rebuilt rather than booted into a guest that dies for no visible reason.
  const recordPath = `${path}.json`;
  const name = basename(path);
  await withLock(join(dir, '.initramfs.lock'), { purpose: 'initramfs', ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) }, async () => {
    let damage: Damage | null = null;
    if (await exists(path)) {
      const rec = await readRecord(recordPath);
      damage = rec === null ? { file: basename(recordPath), reason: 'is missing (no size/hash record of the image)' } : await verifyFiles(dir, { files: { [name]: rec }, hashed: [name] });
      if (damage === null) {
        opts.onProgress?.(`initramfs: reusing ${path}`);
        return;
      }
      opts.onProgress?.(`initramfs: ${new CacheEntryDamagedError(path, damage.file, damage.reason, false).message}`);
    }
    opts.onProgress?.(`initramfs: building ${path}`);
    const init = await compileInit(source, header, opts.onProgress ? { onProgress: opts.onProgress } : {});
    const image = writeCpio(initramfsEntries(init, module));
    const rec: FileRecord = { size: image.length, sha256: createHash('sha256').update(image).digest('hex') };
    await publishFile(path, image);
    await publishFile(recordPath, JSON.stringify({ schema: 1, ...rec }) + '\n');
    const after = await verifyFiles(dir, { files: { [name]: rec }, hashed: [name] });
    if (after) throw new CacheEntryDamagedError(path, after.file, after.reason, true);
  });
  if (out !== undefined) {
    await mkdir(dirname(out), { recursive: true });
    await copyFile(path, out);
    return out;
  }
  return path;
}
