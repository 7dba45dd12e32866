// A fake Debian archive behind the Host interface (a fake host): apt-cache answers, `apt-get download` /
// `install --download-only` write .debs, dpkg-deb/tar "unpack" real files into the cache. The
// whole kernel, SeaBIOS and suite-QEMU provisioning paths run for real on disk, without network
// or apt. Shared by suites/faults/caches.test.ts and the child processes it starts.

import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { AptContext } from '../../harness/provision/apt-env.ts';
import type { ExecOptions, ExecResult } from '../../harness/host/types.ts';
import { HostWithoutFiles } from '../provision/fake-system.ts';

export const ok = (stdout = ''): ExecResult => ({ exitCode: 0, signal: null, stdout, stderr: '', timedOut: false });
export const failed = (stderr: string, exitCode = 100): ExecResult => ({ exitCode, signal: null, stdout: '', stderr, timedOut: false });

export const KERNEL_PKG = 'linux-image-6.1.0-56-cloud-amd64';
export const KERNEL_VERSION = '6.1.192-2';
export const KERNEL_RELEASE = '6.1.0-56-cloud-amd64';
export const SEABIOS_VERSION = '1.16.3-2';
export const QEMU_VERSION = '1:10.0.13+ds-0+deb13u1';

/** Deterministic bytes, so a rebuilt file can be compared with the first build. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A bzImage whose header's setup_sects/syssize match its size (so truncation is visible). */
export function fakeBzImage(size = 256 * 1024): Buffer {
  const b = pattern(size, 7);
  b.fill(0, 0x1f0, 0x260);
  b[0x1f1] = 3;
  b.writeUInt32LE(Math.floor((size - 4 * 512) / 16), 0x1f4);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x100, 0x20e);
  b.write(`${KERNEL_RELEASE} #1\0`, 0x300, 'latin1');
  return b;
}

/** An ELF64 whose section header table sits at its end, as in real .so/.ko files. */
export function fakeElf(size: number, seed: number): Buffer {
  const b = pattern(size, seed);
  b.fill(0, 0, 64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeBigUInt64LE(BigInt(size - 64 * 4), 0x28); // e_shoff
  b.writeUInt16LE(64, 0x3a); // e_shentsize
  b.writeUInt16LE(4, 0x3c); // e_shnum
  return b;
}

export interface World {
  /** Every command run, "cmd arg…". */
  calls: string[];
  /** Downloads done (apt-get download / install --download-only). */
  downloads: () => number;
}

type Handler = (cmd: string, args: readonly string[], opts: ExecOptions | undefined) => Promise<ExecResult | undefined> | ExecResult | undefined;

/** A Host made of one async handler; unknown commands throw. */
export class WorldSystem extends HostWithoutFiles implements World {
  readonly calls: string[] = [];
  private n = 0;
  constructor(
    private readonly handler: Handler,
    /** Appended with "download <pid>" per download, when set (shared between processes). */
    private readonly downloadLog: string | null = null,
  ) {
    super();
  }
  downloads() {
    return this.n;
  }
  countDownload() {
    this.n++;
    if (this.downloadLog) appendFileSync(this.downloadLog, `download ${process.pid}\n`);
  }
  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const [cmd = '', ...args] = argv;
    this.calls.push(argv.join(' '));
    const r = await this.handler(cmd, args, opts);
    if (!r) throw new Error(`fake apt: unexpected command ${cmd} ${args.join(' ')}`);
    return r;
  }
  async pipe(a: readonly string[], b: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const r = await this.exec(a, opts);
    return r.exitCode === 0 ? this.exec(b, opts) : r;
  }
  async which() {
    return null;
  }
  async exists() {
    return false;
  }
  async readFile(): Promise<Buffer> {
    throw new Error('fake apt: readFile');
  }
  async isRoot() {
    return true;
  }
}

export const fakeApt = (suite: 'trixie' | null): AptContext => ({
  suite,
  options: ['-o', 'Fake=1'],
  canUpdate: async () => false,
  update: async () => ok(),
  label: 'the fake apt',
});

const policy = (v: string) => ok(`p:\n  Installed: (none)\n  Candidate: ${v}\n`);
const write = (p: string, data: Uint8Array | string) => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
};

export interface WorldOptions {
  downloadLog?: string;
  /** Runs inside every download (a slow mirror, apt's own lock, a hang until aborted). */
  duringDownload?: (opts: ExecOptions | undefined) => Promise<ExecResult | void>;
}

/** Debian's cloud kernel (the host suite's apt), one package with vmlinuz, the module and config. */
export function kernelWorld(o: WorldOptions = {}): WorldSystem {
  const sys: WorldSystem = new WorldSystem(async (cmd, args, opts) => {
    if (cmd === 'apt-cache' && args.includes('depends')) {
      return ok(args.at(-1) === 'linux-image-cloud-amd64' ? `linux-image-cloud-amd64\n  Depends: ${KERNEL_PKG}\n` : `${KERNEL_PKG}\n  Depends: kmod\n`);
    }
    if (cmd === 'apt-cache' && args.includes('policy')) return policy(KERNEL_VERSION);
    if (cmd === 'apt-get' && args.includes('download')) {
      const r = await o.duringDownload?.(opts);
      if (r) return r;
      write(join(opts!.cwd!, `${KERNEL_PKG}_${KERNEL_VERSION}_amd64.deb`), 'deb');
      sys.countDownload();
      return ok();
    }
    if (cmd === 'dpkg-deb' && args[0] === '-f') return ok(`Package: ${KERNEL_PKG}\nVersion: ${KERNEL_VERSION}\n`);
    if (cmd === 'dpkg-deb' && args[0] === '-c') {
      return ok(
        [`./boot/vmlinuz-${KERNEL_RELEASE}`, `./boot/config-${KERNEL_RELEASE}`, `./lib/modules/${KERNEL_RELEASE}/kernel/drivers/firmware/qemu_fw_cfg.ko`]
          .map((m) => `-rw-r--r-- root/root 1 2026-01-01 00:00 ${m}`)
          .join('\n'),
      );
    }
    if (cmd === 'dpkg-deb' && args[0] === '--fsys-tarfile') return ok();
    if (cmd === 'tar' && args[0] === '-x') {
      const x = args[2]!;
      for (const m of args.slice(3)) {
        const p = join(x, m);
        if (m.includes('vmlinuz')) write(p, fakeBzImage());
        else if (m.endsWith('.ko')) write(p, fakeElf(32 * 1024, 11));
        else write(p, 'CONFIG_FW_CFG_SYSFS=m\n');
      }
      return ok();
    }
    return undefined;
  }, o.downloadLog ?? null);
  return sys;
}

/** The seabios package of trixie: bios-256k.bin and bios.bin. */
export function seabiosWorld(o: WorldOptions = {}): WorldSystem {
  const sys: WorldSystem = new WorldSystem(async (cmd, args, opts) => {
    if (cmd === 'apt-cache' && args.includes('policy')) return policy(SEABIOS_VERSION);
    if (cmd === 'apt-get' && args.includes('download')) {
      const r = await o.duringDownload?.(opts);
      if (r) return r;
      write(join(opts!.cwd!, `seabios_${SEABIOS_VERSION}_all.deb`), 'deb');
      sys.countDownload();
      return ok();
    }
    if (cmd === 'dpkg-deb' && args[0] === '--fsys-tarfile') return ok();
    if (cmd === 'tar' && args[0] === '-x') {
      for (const m of args.slice(3)) write(join(args[2]!, m), pattern(m.endsWith('256k.bin') ? 256 * 1024 : 128 * 1024, m.length));
      return ok();
    }
    return undefined;
  }, o.downloadLog ?? null);
  return sys;
}

const LIB = 'usr/lib/x86_64-linux-gnu';

/** qemu-system-x86 of trixie with a two-package closure (libc6 with the loader, and QEMU). */
export function qemuWorld(o: WorldOptions = {}): WorldSystem {
  const sys: WorldSystem = new WorldSystem(async (cmd, args, opts) => {
    if (cmd === 'apt-cache' && args.includes('policy')) return policy(QEMU_VERSION);
    if (cmd === 'apt-get' && args.includes('--download-only')) {
      const r = await o.duringDownload?.(opts);
      if (r) return r;
      const dir = args.find((a) => a.startsWith('Dir::Cache::archives='))!.split('=')[1]!;
      write(join(dir, 'libc6_2.41-12_amd64.deb'), 'deb');
      write(join(dir, 'qemu-system-x86_10.0.13_amd64.deb'), 'deb');
      sys.countDownload();
      return ok();
    }
    if (cmd === 'dpkg-deb' && args[0] === '-f') {
      return ok(args[1]!.includes('libc6') ? 'Package: libc6\nVersion: 2.41-12\n' : `Package: qemu-system-x86\nVersion: ${QEMU_VERSION}\n`);
    }
    if (cmd === 'dpkg-deb' && args[0] === '-x') {
      const root = args[2]!;
      if (args[1]!.includes('libc6')) {
        write(join(root, LIB, 'ld-linux-x86-64.so.2'), fakeElf(16 * 1024, 1));
        write(join(root, LIB, 'libc.so.6'), fakeElf(192 * 1024, 2));
        mkdirSync(join(root, 'usr/lib64'), { recursive: true });
        symlinkSync(`/${LIB}/ld-linux-x86-64.so.2`, join(root, 'usr/lib64/ld-linux-x86-64.so.2'));
      } else {
        write(join(root, 'usr/bin/qemu-system-x86_64'), fakeElf(512 * 1024, 3));
        write(join(root, LIB, 'libpixman-1.so.0'), fakeElf(64 * 1024, 4));
        write(join(root, 'usr/share/seabios/bios-256k.bin'), pattern(256 * 1024, 5));
        write(join(root, 'usr/share/qemu/kvmvapic.bin'), pattern(9 * 1024, 6));
      }
      return ok();
    }
    if (args.includes('--list')) {
      const libDir = args[args.indexOf('--library-path') + 1]!.split(':')[0]!;
      return ok(['libpixman-1.so.0', 'libc.so.6'].map((l) => `\t${l} => ${join(libDir, l)} (0x00007f0000000000)`).join('\n'));
    }
    if (args[0] === '--version' && cmd.endsWith('bin/qemu-system-x86_64')) return ok('QEMU emulator version 10.0.13 (Debian 1:10.0.13+ds-0+deb13u1)\n');
    return undefined;
  }, o.downloadLog ?? null);
  return sys;
}
