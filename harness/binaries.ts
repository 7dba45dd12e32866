// What a boot really ran, down to the bytes: the sha256 and the Debian package version of the QEMU
// binary, the SeaBIOS image, the kernel and the initramfs of a finished capture, read from the QEMU
// argv the harness ran (ObservationMeta.argv). The history (harness/report/history.ts) keys its
// records by them, so "the firmware map changed" can be told apart from "the BIOS image changed".
//
// Which SeaBIOS image QEMU loads: `-bios NAME` (a path, or a name looked up in the -L directories
// in order, then QEMU's data directory), else the machine type's default, bios-256k.bin, or bios.bin
// on isapc and pc-i440fx ≤ 1.7 (the rule harness/capture.ts states in ObservationMeta.seabiosImage),
// microvm's qboot.rom without ACPI, bios-microvm.bin with it.
// Package versions: a cache entry's manifest.json
// (harness/provision: kernels, suites' QEMU and SeaBIOS, firmware builds), else dpkg's database.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { localHost } from './host/local.ts';

export interface BinaryRecord {
  /** The file read (symlinks resolved); for another suite's QEMU, the binary inside its root, not the wrapper. */
  path: string;
  /** Hex sha256 of the file; null when it could not be read (the reason in `note`). */
  sha256: string | null;
  /** Debian package and version it came from, e.g. `qemu-system-x86 1:7.2+dfsg-7+deb12u18+b3`; null when not from a package. */
  package: string | null;
  note?: string;
}

export interface BootBinaries {
  qemu: BinaryRecord | null;
  bios: BinaryRecord | null;
  kernel: BinaryRecord | null;
  initramfs: BinaryRecord | null;
}

/** Where Debian's QEMU looks for firmware after the -L directories (its configured firmware path). */
const HOST_FIRMWARE_PATH = ['/usr/share/qemu', '/usr/share/seabios', '/usr/lib/ipxe/qemu'];

function optionValue(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    for (const n of names) {
      if (a === n && i + 1 < argv.length) out.push(argv[i + 1]!);
      else if (a.startsWith(`${n}=`)) out.push(a.slice(n.length + 1));
    }
  }
  return out;
}

/** The machine type named by -M/-machine (its first property, or type=), null for QEMU's default. */
export function machineTypeOf(argv: readonly string[]): string | null {
  const values = optionValue(argv, ['-M', '-machine', '--machine']);
  let type: string | null = null;
  for (const v of values) {
    for (const part of v.split(',')) {
      if (part.startsWith('type=')) type = part.slice(5);
      else if (!part.includes('=') && part !== '' && part === v.split(',')[0]) type = part;
    }
  }
  return type;
}

/**
 * The image name QEMU loads when no -bios is given. microvm: bios-microvm.bin with ACPI, qboot.rom
 * without (hw/i386/microvm.c microvm_devices_init; `acpiOff`: the argv says acpi=off).
 */
export function defaultBiosName(machine: string | null, acpiOff = false): string {
  if (machine === null) return 'bios-256k.bin';
  if (machine === 'microvm') return acpiOff ? 'qboot.rom' : 'bios-microvm.bin';
  if (machine === 'isapc') return 'bios.bin';
  const m = /^pc-(?:i440fx-)?(\d+)\.(\d+)$/.exec(machine);
  if (m && (Number(m[1]) === 0 || (Number(m[1]) === 1 && Number(m[2]) <= 7))) return 'bios.bin';
  return 'bios-256k.bin';
}

/** A suite QEMU's wrapper (harness/provision/suite-qemu.ts): ENTRY/bin/qemu-system-x86_64 beside ENTRY/root. */
async function suiteRootOf(binary: string): Promise<string | null> {
  const entry = dirname(dirname(binary));
  if (basename(dirname(binary)) !== 'bin') return null;
  const root = join(entry, 'root');
  const inner = join(root, 'usr', 'bin', basename(binary));
  return (await stat(inner).catch(() => null))?.isFile() ? root : null;
}

const hashCache = new Map<string, Promise<string>>();

function sha256Of(path: string, size: number, mtimeMs: number): Promise<string> {
  const key = `${path}\u0000${size}\u0000${mtimeMs}`;
  let h = hashCache.get(key);
  if (!h) {
    h = new Promise<string>((resolveHash, reject) => {
      const hash = createHash('sha256');
      createReadStream(path)
        .on('data', (d) => hash.update(d))
        .on('error', reject)
        .on('end', () => resolveHash(hash.digest('hex')));
    });
    hashCache.set(key, h);
    h.catch(() => hashCache.delete(key));
  }
  return h;
}

const packageCache = new Map<string, Promise<string | null>>();

/** The package a file came from: the nearest cache manifest.json above it, else `dpkg -S`. */
function packageOf(path: string): Promise<string | null> {
  let p = packageCache.get(path);
  if (!p) {
    p = (async () => {
      for (let dir = dirname(path), i = 0; i < 6 && dir !== dirname(dir); dir = dirname(dir), i++) {
        const text = await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => null);
        if (text === null) continue;
        try {
          const m = JSON.parse(text) as { package?: string; packageName?: string; packageVersion?: string; packages?: Array<{ name: string; version: string }> };
          // A suite QEMU's root holds that suite's SeaBIOS too: its own entry in the manifest's list.
          const seabios = path.includes('/usr/share/seabios/') ? m.packages?.find((p) => p.name === 'seabios') : undefined;
          if (seabios !== undefined) return `seabios ${seabios.version}`;
          if (typeof m.packageVersion === 'string') return `${m.packageName ?? m.package ?? 'package'} ${m.packageVersion}`;
        } catch {
          // not one of ours: keep looking
        }
      }
      if (!path.startsWith('/usr/') && !path.startsWith('/boot/')) return null;
      const owner = await localHost.exec(['dpkg', '-S', path], { timeoutMs: 20_000 });
      const name = owner.exitCode === 0 ? /^([^:,\s]+)(?::[^:\s]+)?:\s/.exec(owner.stdout)?.[1] : undefined;
      if (name === undefined) return null;
      const v = await localHost.exec(['dpkg-query', '-W', '-f', '${Version}', name], { timeoutMs: 20_000 });
      return v.exitCode === 0 && v.stdout.trim() !== '' ? `${name} ${v.stdout.trim()}` : name;
    })();
    packageCache.set(path, p);
  }
  return p;
}

async function record(path: string): Promise<BinaryRecord> {
  const real = await realpath(path).catch(() => null);
  if (real === null) return { path, sha256: null, package: null, note: 'not found when the run finished' };
  const st = await stat(real);
  try {
    return { path: real, sha256: await sha256Of(real, st.size, st.mtimeMs), package: await packageOf(real) };
  } catch (err) {
    return { path: real, sha256: null, package: null, note: `not readable: ${(err as Error).message}` };
  }
}

async function firstExisting(dirs: readonly string[], name: string): Promise<string | null> {
  for (const d of dirs) if ((await stat(join(d, name)).catch(() => null))?.isFile()) return join(d, name);
  return null;
}

/** The binaries of one boot, from the full QEMU argv the harness ran (argv[0] the binary). */
export async function bootBinaries(qemuArgv: readonly string[]): Promise<BootBinaries> {
  if (qemuArgv.length === 0) return { qemu: null, bios: null, kernel: null, initramfs: null };
  const binary = qemuArgv[0]!;
  const root = await suiteRootOf(binary);
  const qemu = await record(root !== null ? join(root, 'usr', 'bin', basename(binary)) : binary);
  // A suite wrapper adds its own -L dirs after the user's: the search order QEMU sees.
  const dataDirs = [...optionValue(qemuArgv, ['-L']), ...(root !== null ? [join(root, 'usr', 'share', 'qemu'), join(root, 'usr', 'share', 'seabios')] : HOST_FIRMWARE_PATH)];
  const asked = optionValue(qemuArgv, ['-bios']).at(-1);
  const acpiOff = optionValue(qemuArgv, ['-M', '-machine', '--machine']).some((v) => v.split(',').includes('acpi=off')) || qemuArgv.includes('-no-acpi');
  const name = asked ?? defaultBiosName(machineTypeOf(qemuArgv), acpiOff);
  const biosPath = asked !== undefined && (isAbsolute(asked) || asked.includes('/')) ? asked : await firstExisting(dataDirs, name);
  const bios = biosPath !== null ? await record(biosPath) : { path: name, sha256: null, package: null, note: `${name} is in none of ${dataDirs.join(', ')}` };
  const kernel = optionValue(qemuArgv, ['-kernel']).at(-1);
  const initrd = optionValue(qemuArgv, ['-initrd']).at(-1);
  return {
    qemu,
    bios,
    kernel: kernel !== undefined ? await record(kernel) : null,
    initramfs: initrd !== undefined ? await record(initrd) : null,
  };
}

/**
 * Boots on another machine ran that machine's files: harness/host/remote-stage.ts registers, per
 * host label, how to hash them there (the same records, computed on the host).
 */
const elsewhere = new Map<string, (argv: readonly string[]) => Promise<BootBinaries>>();

export function recordBinariesOn(hostLabel: string, read: (argv: readonly string[]) => Promise<BootBinaries>): void {
  elsewhere.set(hostLabel, read);
}

/** Sets `binaries` on every booted result (each distinct file is read once); results that did not boot are left alone. `ranOn`: the host it booted on (CellResult.ranOn). */
export async function addBootBinaries(results: ReadonlyArray<{ qemuArgv: readonly string[] | null; binaries?: BootBinaries; ranOn?: string }>): Promise<void> {
  for (const r of results) {
    if (r.qemuArgv === null || r.qemuArgv.length === 0) continue;
    const remote = r.ranOn !== undefined && r.ranOn !== 'local';
    const read = remote ? elsewhere.get(r.ranOn!) : bootBinaries;
    if (read === undefined) {
      r.binaries = { qemu: { path: r.qemuArgv[0]!, sha256: null, package: null, note: `booted on ${r.ranOn}: not hashed (no connection to it)` }, bios: null, kernel: null, initramfs: null };
      continue;
    }
    r.binaries = await read(r.qemuArgv).catch((err: unknown) => ({
      qemu: { path: r.qemuArgv![0]!, sha256: null, package: null, note: `not hashed: ${err instanceof Error ? err.message : String(err)}` },
      bios: null,
      kernel: null,
      initramfs: null,
    }));
  }
}
