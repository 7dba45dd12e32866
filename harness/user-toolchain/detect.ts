// Detection: the versions of the user's components, read from the components themselves (QEMU
// `--version` and `-M help`, the version string in a SeaBIOS image, the bzImage header).

import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { elfLinkage } from '../provision/elf.ts';
import { parseQemuVersion } from '../provision/host-tools.ts';
import { bzImageRelease } from '../provision/kernel.ts';
import { identifySeabiosImage, type SeabiosImageInfo } from '../provision/seabios-image.ts';
import { UserComponentError } from '../user-toolchain-flags.ts';
import { compareVersions } from './profile-choice.ts';
import type { UserComponents } from './spec.ts';

export interface DetectedQemu {
  binary: string;
  /** `QEMU emulator version X.Y.Z` of `--version`. */
  version: string;
  /** First line of `--version`. */
  versionLine: string;
  /** The newest `pc-i440fx-X.Y` that `-M help` lists (null when it lists none). */
  newestMachine: string | null;
}

export interface DetectedKernel {
  image: string;
  /** `uname -r` from the header. */
  release: string;
  /** The whole kernel_version string of the header (`7.2.13+deb14-cloud-amd64 (debian-kernel@…) #1 SMP … Debian 7.2.13-1 …`). */
  banner: string;
  /** X.Y.Z of the release (Debian's `Debian X.Y.Z-N` in the banner when the release is `X.Y.0-N-…`). */
  version: string;
  fwCfgModule: string | null;
}

export interface DetectedComponents {
  spec: UserComponents;
  qemu: DetectedQemu | null;
  seabios: SeabiosImageInfo | null;
  kernel: DetectedKernel | null;
}

async function mustBeFile(option: string, path: string, what: string): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserComponentError(option, path, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`, `give the path of ${what}`);
  }
  if (!s.isFile()) throw new UserComponentError(option, path, 'is not a regular file', `give the path of ${what}`);
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UserComponentError(option, path, 'is not readable', `fix its permissions or give another ${what}`);
  }
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function detectQemu(binary: string, option = '--qemu-binary'): Promise<DetectedQemu> {
  await mustBeFile(option, binary, 'a qemu-system-x86_64 binary');
  try {
    await access(binary, constants.X_OK);
  } catch {
    throw new UserComponentError(option, binary, 'is not executable', 'chmod +x it, or give the path of a qemu-system-x86_64 binary');
  }
  // No shell: the path is exec'd as given, with argv as a list.
  const v = await execa(binary, ['--version'], { timeout: 10_000, reject: false, stdin: 'ignore' });
  const version = v.exitCode === 0 ? parseQemuVersion(v.stdout) : null;
  if (version === null) {
    const said = `${v.stdout}${v.stderr}`.trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new UserComponentError(option, binary, `is not a QEMU: \`--version\` ${v.exitCode === 0 ? 'printed' : `exited ${String(v.exitCode ?? v.signal)} and printed`} ${JSON.stringify(said)}, not "QEMU emulator version X.Y.Z"`, 'give the path of a qemu-system-x86_64 binary');
  }
  const m = await execa(binary, ['-M', 'help'], { timeout: 10_000, reject: false, stdin: 'ignore' });
  const machines = [...m.stdout.matchAll(/^pc-i440fx-(\d+\.\d+)\s/gm)].map((x) => x[1]!).sort((a, b) => compareVersions(a, b, 2));
  return { binary, version, versionLine: (v.stdout.split('\n')[0] ?? '').trim(), newestMachine: machines.at(-1) ?? null };
}

/** The bzImage's kernel_version string (boot protocol ≥ 2.00: header "HdrS" at 0x202, pointer at 0x20e). */
function bzImageBanner(head: Buffer): string | null {
  if (bzImageRelease(head) === null) return null;
  const off = head.readUInt16LE(0x20e) + 0x200;
  const end = head.indexOf(0, off);
  return head.toString('latin1', off, end < 0 ? Math.min(head.length, off + 256) : end);
}

export async function detectKernel(image: string, fwCfgModule: string | null, option = '--bzimage'): Promise<DetectedKernel> {
  await mustBeFile(option, image, 'a bzImage (vmlinuz)');
  const head = await readHead(image, 64 * 1024);
  const banner = bzImageBanner(head);
  const release = banner?.split(' ')[0] ?? null;
  if (banner === null || release === null || !/^\d+\.\d+/.test(release)) {
    throw new UserComponentError(option, image, 'is not a bzImage (no "HdrS" boot header with a kernel version at 0x202)', 'give the path of an x86 bzImage (vmlinuz)');
  }
  // Debian names releases `5.10.0-32-cloud-amd64`; the upstream patch level is in `Debian 5.10.223-1`.
  const debian = /\bDebian (\d+\.\d+\.\d+)/.exec(banner)?.[1];
  const version = debian ?? /^\d+\.\d+(?:\.\d+)?/.exec(release)![0];
  if (fwCfgModule !== null) {
    await mustBeFile('--fw-cfg-module', fwCfgModule, 'qemu_fw_cfg.ko of the same kernel build');
    if (elfLinkage(await readHead(fwCfgModule, 4096)) === 'not-elf') {
      throw new UserComponentError('--fw-cfg-module', fwCfgModule, 'is not an ELF kernel module', 'give the uncompressed qemu_fw_cfg.ko of the --bzimage build (unxz a .ko.xz first)');
    }
  }
  return { image, release, banner, version, fwCfgModule };
}

export interface DetectDeps {
  identifySeabiosImage: (path: string) => Promise<SeabiosImageInfo>;
}

/** Reads every user component once: errors name the component's path and flag. */
export async function detectComponents(spec: UserComponents, deps: Partial<DetectDeps> = {}): Promise<DetectedComponents> {
  const o = spec.origin;
  if (spec.fwCfgModule !== undefined && spec.bzimage === undefined) {
    throw new UserComponentError(o.fwCfgModule ?? '--fw-cfg-module', spec.fwCfgModule, 'goes with the kernel it was built for, and no --bzimage was given', 'add --bzimage PATH, or drop --fw-cfg-module (the provisioned kernel brings its own)');
  }
  const qemu = spec.qemuBinary !== undefined ? await detectQemu(spec.qemuBinary, o.qemuBinary) : null;
  let seabios: SeabiosImageInfo | null = null;
  if (spec.bios !== undefined) {
    await mustBeFile(o.bios ?? '--bios', spec.bios, 'a SeaBIOS image (bios-256k.bin or bios.bin)');
    try {
      seabios = await (deps.identifySeabiosImage ?? identifySeabiosImage)(spec.bios);
    } catch (err) {
      throw new UserComponentError(o.bios ?? '--bios', spec.bios, `is not a SeaBIOS image (${(err as Error).message})`, 'give the path of a SeaBIOS bios-256k.bin or bios.bin');
    }
  }
  const kernel = spec.bzimage !== undefined ? await detectKernel(spec.bzimage, spec.fwCfgModule ?? null, o.bzimage) : null;
  return { spec, qemu, seabios, kernel };
}
