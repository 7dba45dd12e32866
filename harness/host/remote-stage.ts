// What a boot on another host needs there: its own qemu-system-x86_64 and SeaBIOS (installed
// by the same provisioning code, through the host interface; or the binaries named in the
// host's URL, harness/host/named-binaries.ts), and the guest's kernel,
// qemu_fw_cfg module and initramfs, built here and uploaded once per host into one private temp
// dir. A keeper process holds that dir: if the connection drops, the remote watchdog removes it
// (harness/host/ssh.ts); close() removes it otherwise.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { findOrInstallHostTools, parseQemuVersion } from '../provision/host-tools.ts';
import type { Host, HostProcess } from './types.ts';
import type { BinaryRecord, BootBinaries } from '../binaries.ts';
import { defaultBiosName, machineTypeOf, recordBinariesOn } from '../binaries.ts';
import { inspectNamedBios, inspectNamedQemu, namedBinariesOf, remoteSha256, type NamedBios, type NamedQemu } from './named-binaries.ts';

/** The keeper's sleep (seconds): longer than any run; it ends with its group. */
const KEEPER_SLEEP_S = '2147483647';

export interface RemoteTools {
  qemu: string;
  /** `7.2.22`. */
  qemuVersion: string;
  /** Its first `--version` line. */
  versionLine: string;
  /**
   * A directory to pass as QEMU's first `-L` (the firmware the host's binaries were named with,
   * harness/host/named-binaries.ts); absent: the host QEMU's own firmware.
   */
  firmwareDir?: string;
  /** The QEMU profile cells on this host must have (`7.2`): the series of Debian's QEMU, or the named binary's chosen profile. */
  qemuProfile: string;
  /** The binaries named in the host's URL, as found there. */
  named: { qemu?: NamedQemu; bios?: NamedBios };
}

/** Where Debian's QEMU looks for firmware after the -L directories (harness/binaries.ts has the same list). */
const HOST_FIRMWARE_PATH = ['/usr/share/qemu', '/usr/share/seabios', '/usr/lib/ipxe/qemu'];

/** A cell's toolchain asks for a QEMU the host does not have. */
export class RemoteToolchainError extends Error {
  constructor(host: string, wanted: string, has: string) {
    super(
      `${host} has QEMU ${has}, the cell's toolchain is QEMU ${wanted}: a remote host boots with its own QEMU (from its apt), ` +
        `so run the cells of that toolchain there (e820 run --only …), or leave the host out for them`,
    );
    this.name = 'RemoteToolchainError';
  }
}

export class RemoteStage {
  private dir: Promise<{ path: string; keeper: HostProcess }> | null = null;
  private uploads = new Map<string, Promise<string>>();
  private toolsP: Promise<RemoteTools> | null = null;
  private firmwareP: Promise<string> | null = null;

  constructor(readonly host: Host) {
    // results.json's binaries of a boot here are this host's files, hashed here.
    recordBinariesOn(host.label, (argv) => this.bootBinaries(argv));
  }

  private files(): Promise<{ path: string; keeper: HostProcess }> {
    this.dir ??= (async () => {
      const path = await this.host.makeTempDir('e820-files-');
      const keeper = await this.host.spawnGroup(['sleep', KEEPER_SLEEP_S], { cleanupDirs: [path] });
      return { path, keeper };
    })();
    return this.dir;
  }

  /** The host's path of a local file, uploaded once per content (sha256). */
  upload(localPath: string): Promise<string> {
    const key = localPath;
    let p = this.uploads.get(key);
    if (p === undefined) {
      p = (async () => {
        const data = await readFile(localPath);
        const sum = createHash('sha256').update(data).digest('hex').slice(0, 16);
        const { path } = await this.files();
        const remote = join(path, `${sum}-${basename(localPath).replace(/[^A-Za-z0-9._-]/g, '_')}`);
        await this.host.writeFile(remote, data, 0o600);
        return remote;
      })();
      p.catch(() => this.uploads.delete(key));
      this.uploads.set(key, p);
    }
    return p;
  }

  /**
   * The host's QEMU and SeaBIOS: the ones named in its URL, else installed with apt there when
   * missing (as root).
   */
  tools(onProgress?: (m: string) => void, signal?: AbortSignal): Promise<RemoteTools> {
    this.toolsP ??= (async () => {
      const say = (m: string) => onProgress?.(`${this.host.label}: ${m}`);
      const named = namedBinariesOf(this.host);
      const bios = named.bios !== undefined ? await inspectNamedBios(this.host, named.bios, signal) : undefined;
      const firmwareDir = bios !== undefined ? await this.firmwareDir(bios.path) : undefined;
      if (bios !== undefined) say(`SeaBIOS image ${bios.path} (named; ${bios.sizeBytes} bytes, sha256 ${bios.sha256}), passed as -L ${firmwareDir}`);
      if (named.qemu !== undefined) {
        const q = await inspectNamedQemu(this.host, named.qemu, signal);
        say(`QEMU binary ${q.path} (named; ${q.versionLine}; sha256 ${q.sha256}): ${q.profile.text}`);
        return {
          qemu: q.path,
          qemuVersion: q.version,
          versionLine: q.versionLine,
          ...(firmwareDir !== undefined ? { firmwareDir } : {}),
          qemuProfile: q.profile.profile,
          named: { qemu: q, ...(bios !== undefined ? { bios } : {}) },
        };
      }
      const t = await findOrInstallHostTools({ host: this.host, ...(signal ? { signal } : {}), onProgress: say });
      const v = await this.host.exec([t.qemu, '--version'], { timeoutMs: 30_000 });
      const versionLine = (v.stdout.split('\n')[0] ?? '').trim();
      return {
        qemu: t.qemu,
        qemuVersion: t.qemuVersion,
        versionLine,
        ...(firmwareDir !== undefined ? { firmwareDir } : {}),
        qemuProfile: (parseQemuVersion(versionLine) ?? t.qemuVersion).split('.').slice(0, 2).join('.'),
        named: bios !== undefined ? { bios } : {},
      };
    })();
    this.toolsP.catch(() => (this.toolsP = null));
    return this.toolsP;
  }

  /** Checks that the host's QEMU is predicted with the toolchain's QEMU profile. */
  async qemuFor(qemuSeries: string, onProgress?: (m: string) => void, signal?: AbortSignal): Promise<RemoteTools> {
    const t = await this.tools(onProgress, signal);
    if (t.qemuProfile !== qemuSeries) throw new RemoteToolchainError(this.host.label, qemuSeries, t.named.qemu !== undefined ? `${t.qemuVersion} (named; the ${t.qemuProfile} profile)` : t.qemuVersion);
    return t;
  }

  /**
   * The firmware directory, made once per stage: tools() is asked again after a later step failed
   * (its promise is dropped), and the directory made before must not turn that retry into a
   * "File exists" that hides the first failure.
   */
  private firmwareDir(image: string): Promise<string> {
    this.firmwareP ??= this.firmwareDirOf(image);
    this.firmwareP.catch(() => (this.firmwareP = null));
    return this.firmwareP;
  }

  /** A directory in the stage holding a copy of the named image under both names QEMU looks for. */
  private async firmwareDirOf(image: string): Promise<string> {
    const { path } = await this.files();
    const dir = join(path, 'firmware');
    const run = async (argv: string[]) => {
      const r = await this.host.exec(argv, { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`${this.host.label}: ${argv[0]} failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(0, 200)}`);
    };
    // -p: a copy that failed half-way left the directory; chmod: -m applies only to a new one.
    await run(['mkdir', '-p', '-m', '700', '--', dir]);
    await run(['chmod', '700', '--', dir]);
    // Copies, not links: the image the boot reads is the one that was hashed.
    for (const name of ['bios-256k.bin', 'bios.bin']) await run(['cp', '--', image, join(dir, name)]);
    return dir;
  }

  private records = new Map<string, Promise<BinaryRecord>>();

  /** A file on the host: its sha256 computed there (once per path), its Debian package when dpkg there knows it. */
  private record(path: string): Promise<BinaryRecord> {
    let p = this.records.get(path);
    if (p === undefined) {
      p = (async (): Promise<BinaryRecord> => {
        if (!(await this.host.exists(path))) return { path, sha256: null, package: null, note: `not found on ${this.host.label}` };
        const sha256 = await remoteSha256(this.host, path).catch(() => null);
        let pkg: string | null = null;
        if (path.startsWith('/usr/')) {
          const owner = await this.host.exec(['dpkg', '-S', path], { timeoutMs: 20_000 });
          const name = owner.exitCode === 0 ? /^([^:,\s]+)(?::[^:\s]+)?:\s/.exec(owner.stdout)?.[1] : undefined;
          if (name !== undefined) {
            const v = await this.host.exec(['dpkg-query', '-W', '-f', '${Version}', name], { timeoutMs: 20_000 });
            pkg = v.exitCode === 0 && v.stdout.trim() !== '' ? `${name} ${v.stdout.trim()}` : name;
          }
        }
        return { path, sha256, package: pkg, ...(sha256 === null ? { note: `not hashed on ${this.host.label}` } : {}), ...(pkg === null && sha256 !== null ? { note: `on ${this.host.label}` } : {}) };
      })();
      p.catch(() => this.records.delete(path));
      this.records.set(path, p);
    }
    return p;
  }

  /**
   * What a boot on this host ran, from its full QEMU argv (paths there): as harness/binaries.ts
   * bootBinaries does for this machine, with every file hashed on the host.
   */
  async bootBinaries(argv: readonly string[]): Promise<BootBinaries> {
    if (argv.length === 0) return { qemu: null, bios: null, kernel: null, initramfs: null };
    const values = (names: readonly string[]): string[] => {
      const out: string[] = [];
      for (let i = 1; i < argv.length; i++) for (const n of names) if (argv[i] === n && i + 1 < argv.length) out.push(argv[i + 1]!);
      return out;
    };
    const named = (await this.toolsP?.catch(() => null))?.named.qemu !== undefined;
    // A named QEMU's own data directory is its build's: only the -L directories are known.
    const dataDirs = [...values(['-L']), ...(named ? [] : HOST_FIRMWARE_PATH)];
    const asked = values(['-bios']).at(-1);
    const acpiOff = values(['-M', '-machine']).some((v) => v.split(',').includes('acpi=off')) || argv.includes('-no-acpi');
    const name = asked ?? defaultBiosName(machineTypeOf(argv), acpiOff);
    let biosPath: string | null = asked !== undefined && asked.includes('/') ? asked : null;
    for (const d of dataDirs) if (biosPath === null && (await this.host.exists(join(d, name)))) biosPath = join(d, name);
    const kernel = values(['-kernel']).at(-1);
    const initrd = values(['-initrd']).at(-1);
    return {
      qemu: await this.record(argv[0]!),
      bios: biosPath !== null ? await this.record(biosPath) : { path: name, sha256: null, package: null, note: `${name} is in none of ${dataDirs.join(', ') || 'the -L directories'} on ${this.host.label}` },
      kernel: kernel !== undefined ? await this.record(kernel) : null,
      initramfs: initrd !== undefined ? await this.record(initrd) : null,
    };
  }

  /** Removes the uploads and ends the keeper. */
  async close(): Promise<void> {
    const d = this.dir;
    this.dir = null;
    this.firmwareP = null;
    if (d === null) return;
    const { path, keeper } = await d;
    await keeper.signalGroup('SIGKILL').catch(() => {});
    await this.host.removeDir(path).catch(() => {});
  }
}

const stages = new WeakMap<Host, RemoteStage>();

/** One stage per host object. */
export function remoteStageOf(host: Host): RemoteStage {
  let s = stages.get(host);
  if (s === undefined) {
    s = new RemoteStage(host);
    stages.set(host, s);
  }
  return s;
}
