// What a boot on another host needs there: its own qemu-system-x86_64 and SeaBIOS (installed
// by the same provisioning code, through the host interface), and the guest's kernel,
// qemu_fw_cfg module and initramfs, built here and uploaded once per host into one private temp
// dir. A keeper process holds that dir: if the connection drops, the remote watchdog removes it
// (harness/host/ssh.ts); close() removes it otherwise.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { findOrInstallHostTools, parseQemuVersion } from '../provision/host-tools.ts';
import { provisionSystemOf } from './system.ts';
import type { Host, HostProcess } from './types.ts';

/** The keeper's sleep (seconds): longer than any run; it ends with its group. */
const KEEPER_SLEEP_S = '2147483647';

export interface RemoteTools {
  qemu: string;
  /** `7.2.22`. */
  qemuVersion: string;
  /** Its first `--version` line. */
  versionLine: string;
  seabiosDir: string;
  /**
   * A directory to pass as QEMU's first `-L` (the firmware the host's binaries were named with,
   * harness/host/named-binaries.ts); absent: the host QEMU's own firmware.
   */
  firmwareDir?: string;
}

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

  constructor(readonly host: Host) {}

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

  /** The host's QEMU and SeaBIOS, installed with apt there when missing (as root). */
  tools(onProgress?: (m: string) => void, signal?: AbortSignal): Promise<RemoteTools> {
    this.toolsP ??= (async () => {
      const system = await provisionSystemOf(this.host, signal);
      const t = await findOrInstallHostTools({ system, onProgress: (m) => onProgress?.(`${this.host.label}: ${m}`) });
      const v = await this.host.exec([t.qemu, '--version'], { timeoutMs: 30_000 });
      return { qemu: t.qemu, qemuVersion: t.qemuVersion, versionLine: (v.stdout.split('\n')[0] ?? '').trim(), seabiosDir: t.seabiosDir };
    })();
    this.toolsP.catch(() => (this.toolsP = null));
    return this.toolsP;
  }

  /** Checks that the host's QEMU is the toolchain's series. */
  async qemuFor(qemuSeries: string, onProgress?: (m: string) => void, signal?: AbortSignal): Promise<RemoteTools> {
    const t = await this.tools(onProgress, signal);
    const series = (parseQemuVersion(t.versionLine) ?? t.qemuVersion).split('.').slice(0, 2).join('.');
    if (series !== qemuSeries) throw new RemoteToolchainError(this.host.label, qemuSeries, t.qemuVersion);
    return t;
  }

  /** Removes the uploads and ends the keeper. */
  async close(): Promise<void> {
    const d = this.dir;
    this.dir = null;
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
