// A remote machine's own QEMU build, named in its URL:
//
//   ssh://root@kvm1?qemu=/opt/qemu/bin/qemu-system-x86_64&bios=/opt/seabios/bios.bin
//
// `qemu=` is the qemu-system-x86_64 boots there run instead of the one provisioned from Debian;
// `bios=` a SeaBIOS image there, passed as the first -L directory under both names QEMU looks for
// (bios-256k.bin, bios.bin), as harness/user-toolchain/provision.ts does for a local --bios. Both
// are checked strictly before anything runs: absolute, normalised paths without control
// characters, each named once, nothing else in the query. They reach the host only as argv
// words (harness/host/quote.ts), never as shell text. What the binary is comes from the binary:
// its `-version` read there, its profile chosen as for a local user build
// (harness/user-toolchain/profile-choice.ts), its sha256 computed there.

import { posix } from 'node:path';
import { chooseProfile, type ProfileChoice } from '../user-toolchain/profile-choice.ts';
import { parseQemuVersion } from '../provision/host-tools.ts';
import type { Host } from './types.ts';

export interface NamedBinaries {
  /** Path of qemu-system-x86_64 on the host. */
  qemu?: string;
  /** Path of a SeaBIOS image on the host. */
  bios?: string;
}

const KEYS = ['qemu', 'bios'] as const;

/** A `?qemu=…&bios=…` the harness will not use: says what is wrong and what the form is. */
export class HostUrlError extends Error {
  readonly exitCode = 2;
  constructor(url: string, detail: string) {
    super(`${JSON.stringify(url)}: ${detail} (expected ssh://[user@]host[:port][?qemu=/abs/path][&bios=/abs/path])`);
    this.name = 'HostUrlError';
  }
}

/** The longest path accepted (Linux's PATH_MAX). */
const MAX_PATH = 4096;

/** Why `path` is not an acceptable absolute path on the host, or null. */
export function remotePathProblem(path: string): string | null {
  if (path === '') return 'is empty';
  if (path.length > MAX_PATH) return `is longer than ${MAX_PATH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'holds a control character (NUL, newline, …)';
  if (!path.startsWith('/')) return 'is not an absolute path';
  if (path.endsWith('/')) return 'ends in / (a directory, not a file)';
  if (posix.normalize(path) !== path) return 'is not in normal form (no ., .. or //)';
  return null;
}

/** `ssh://…?qemu=…&bios=…` → the URL to connect to and the binaries named for that host. */
export function splitHostUrl(url: string): { url: string; named: NamedBinaries } {
  const q = url.indexOf('?');
  if (q < 0) return { url, named: {} };
  const base = url.slice(0, q);
  const named: NamedBinaries = {};
  // A `#…` would be a fragment to a URL parser: refused rather than silently dropped.
  if (url.includes('#')) throw new HostUrlError(url, 'a # in the URL (write it as %23 inside a path)');
  // Split on & and = and percent-decode each part, nothing more: URLSearchParams would also turn
  // `+` into a space (form encoding), and `/opt/qemu-7.2+dfsg/…` is a path.
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new HostUrlError(url, `${JSON.stringify(part)} is not percent-encoded correctly (a % not followed by two hex digits)`);
    }
  };
  for (const part of url.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (!(KEYS as readonly string[]).includes(key)) throw new HostUrlError(url, `unknown parameter ${JSON.stringify(key)}: only qemu= and bios= name a host's binaries`);
    const k = key as (typeof KEYS)[number];
    if (named[k] !== undefined) throw new HostUrlError(url, `${k}= is given twice`);
    const problem = remotePathProblem(value);
    if (problem !== null) throw new HostUrlError(url, `${k}=${JSON.stringify(value)} ${problem}`);
    named[k] = value;
  }
  return { url: base, named };
}

const byHost = new WeakMap<Host, NamedBinaries>();

/** Binds the binaries named in a host's URL to the connected host. */
export function nameBinaries(host: Host, named: NamedBinaries): void {
  if (named.qemu !== undefined || named.bios !== undefined) byHost.set(host, { ...named });
}

/** The binaries named for this host (none: the host's provisioned QEMU and its own SeaBIOS). */
export function namedBinariesOf(host: Host): NamedBinaries {
  return byHost.get(host) ?? {};
}

/** A named binary that is not what it must be on the host. */
export class NamedBinaryError extends Error {
  readonly exitCode = 2;
  constructor(host: string, key: string, path: string, detail: string) {
    super(`${host}: ${key}=${path} ${detail}`);
    this.name = 'NamedBinaryError';
  }
}

/** `sha256sum -- PATH` on the host: the hex digest. */
export async function remoteSha256(host: Host, path: string, signal?: AbortSignal): Promise<string> {
  const r = await host.exec(['sha256sum', '--', path], { timeoutMs: 120_000, ...(signal ? { signal } : {}) });
  const sum = /^\\?([0-9a-f]{64})\s/.exec(r.stdout)?.[1];
  if (r.exitCode !== 0 || sum === undefined) throw new Error(`${host.label}: sha256sum ${path} failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(0, 200)}`);
  return sum;
}

/** A regular, readable file on the host (and executable when asked), or why not. */
async function checkFile(host: Host, key: string, path: string, executable: boolean, signal?: AbortSignal): Promise<void> {
  // One fixed script, the path its argument: prints what is wrong, nothing when all is well.
  const script = 'if [ ! -e "$1" ]; then echo "does not exist there"; elif [ ! -f "$1" ]; then echo "is not a regular file there"; elif [ ! -r "$1" ]; then echo "is not readable there"; elif [ "$2" = x ] && [ ! -x "$1" ]; then echo "is not executable there"; fi';
  const r = await host.exec(['sh', '-c', script, 'e820', path, executable ? 'x' : '-'], { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
  const problem = r.stdout.trim();
  if (r.exitCode !== 0) throw new NamedBinaryError(host.label, key, path, `could not be checked (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(0, 200)}`);
  if (problem !== '') throw new NamedBinaryError(host.label, key, path, problem);
}

export interface NamedQemu {
  path: string;
  /** `7.2.22`. */
  version: string;
  /** First line of `-version`. */
  versionLine: string;
  sha256: string;
  /** The QEMU profile the model predicts with (exact or nearest earlier), and why. */
  profile: ProfileChoice;
}

/** The named QEMU, checked, asked its version (`-version`, on the host) and hashed there. */
export async function inspectNamedQemu(host: Host, path: string, signal?: AbortSignal): Promise<NamedQemu> {
  await checkFile(host, 'qemu', path, true, signal);
  const v = await host.exec([path, '-version'], { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
  const version = v.exitCode === 0 ? parseQemuVersion(v.stdout) : null;
  if (version === null) {
    throw new NamedBinaryError(host.label, 'qemu', path, `does not answer -version as QEMU does (exit ${v.exitCode ?? v.signal}: ${(v.stdout + v.stderr).trim().split('\n')[0]?.slice(0, 200) ?? ''}); name a qemu-system-x86_64`);
  }
  const versionLine = (v.stdout.split('\n')[0] ?? '').trim();
  const profile = chooseProfile('qemu', version);
  return { path, version, versionLine, sha256: await remoteSha256(host, path, signal), profile };
}

export interface NamedBios {
  path: string;
  sha256: string;
  sizeBytes: number;
}

/** The named SeaBIOS image, checked and hashed on the host. */
export async function inspectNamedBios(host: Host, path: string, signal?: AbortSignal): Promise<NamedBios> {
  await checkFile(host, 'bios', path, false, signal);
  const size = await host.exec(['stat', '-L', '-c', '%s', '--', path], { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
  return { path, sha256: await remoteSha256(host, path, signal), sizeBytes: Number(size.stdout.trim()) };
}
