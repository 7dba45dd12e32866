// Builds the guest's gzipped initramfs: static busybox, its applet links, the fw_cfg module,
// /init and the /dev/console node. Built images are cached by a hash of everything that goes
// into them, so a matrix of boots with one kernel builds it once.

import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { cacheDir as defaultCacheDir, publishFile } from '../harness/provision/cache.ts';
import { writeCpioGz, type CpioEntry } from './cpio.ts';
import { GUEST_PATHS, INIT_APPLETS, initScript, type InitOptions } from './init.ts';

/** Bump when the layout below changes in a way the inputs' hash cannot see. */
const LAYOUT_VERSION = 1;

export interface InitramfsInputs {
  /** A statically linked busybox (the guest has no libc). */
  busybox: string;
  /** qemu_fw_cfg.ko built for the kernel that will boot, or null if the kernel has none. */
  fwCfgModule: string | null;
  init?: Omit<InitOptions, 'hasFwCfgModule'>;
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
  const path = join(dir, `initramfs-${key}.cpio.gz`);

  let cached = true;
  try {
    await access(path);
  } catch {
    cached = false;
  }
  if (cached) {
    opts.onProgress?.(`initramfs: reusing ${path}`);
  } else {
    opts.onProgress?.(`initramfs: building ${path}`);
    await publishFile(path, writeCpioGz(initramfsEntries(busybox, module, init)));
  }
  if (out !== undefined) {
    await mkdir(dirname(out), { recursive: true });
    await copyFile(path, out);
    return out;
  }
  return path;
}
