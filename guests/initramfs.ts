// Builds the guest's initramfs: static busybox, its applet links, the fw_cfg module, /init and
// the /dev/console node. Built images are cached by a hash of everything that goes into them, so
// a matrix of boots with one kernel builds it once.
//
// Uncompressed: the kernel copies a plain newc archive (init/initramfs.c unpack_to_rootfs) instead
// of inflating it, which under TCG took ~70 ms of every boot for the gzip image (~1.0 MiB gzipped,
// ~2.0 MiB plain). The larger initrd QEMU places at the top of low RAM was booted at the lowest
// -m each minimal kernel's layer is claimed at (docs/minimal-kernel.md, **Initramfs**).

import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { cacheDir as defaultCacheDir, publishFile } from '../harness/provision/cache.ts';
import { CacheEntryDamagedError } from '../harness/provision/errors.ts';
import { withLock } from '../harness/provision/lock.ts';
import { verifyFiles, type Damage, type FileRecord } from '../harness/provision/verify.ts';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { GUEST_PATHS, INIT_APPLETS, initScript, type InitOptions } from './init.ts';

/** Bump when the layout below changes in a way the inputs' hash cannot see. */
const LAYOUT_VERSION = 2;

export interface InitramfsInputs {
  /** A statically linked busybox (the guest has no libc). */
  busybox: string;
  /** qemu_fw_cfg.ko built for the kernel that will boot, or null if the kernel has none. */
  fwCfgModule: string | null;
  init?: Omit<InitOptions, 'hasFwCfgModule'>;
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
export function initramfsEntries(busybox: Uint8Array, fwCfgModule: Uint8Array | null, init: string): CpioEntry[] {
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'dir', path: 'dev' },
    // The kernel opens /dev/console for init's stdio before init can mount devtmpfs:
    // without this node init starts with no stdin/stdout at all.
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: GUEST_PATHS.busybox, data: busybox, mode: 0o755 },
    ...INIT_APPLETS.map((a): CpioEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
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
  const busybox = await readFile(inputs.busybox);
  const module = inputs.fwCfgModule === null ? null : await readFile(inputs.fwCfgModule);
  const init = initScript({ ...inputs.init, hasFwCfgModule: module !== null });

  const h = createHash('sha256');
  for (const part of [`layout-${LAYOUT_VERSION}`, busybox, module ?? 'no-module', init]) {
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
    const image = writeCpio(initramfsEntries(busybox, module, init));
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
