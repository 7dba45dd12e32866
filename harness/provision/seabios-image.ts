// What a SeaBIOS image file is: its size (Debian's debian/rules builds bios.bin with
// ROM_SIZE=128 and bios-256k.bin with ROM_SIZE=256), the version string compiled into it
// (src/version.c VERSION, which the banner prints as `SeaBIOS (version %s)`; the linker places
// it right after BUILDINFO, `gcc: (…) … binutils: (…) …`, in the Debian 1.14.0-2 … 1.17.0-1
// images), the model's SeabiosVersion for it, and whether its configuration is known: a stock
// Debian image (its sha256 recorded by a cache entry of harness/provision/seabios.ts or
// suite-qemu.ts, or its md5 in dpkg's seabios.md5sums) or one this project built
// (harness/provision/firmware-build.ts, whose manifest records the image's sha256).

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { BiosVariant } from '../../reference/profiles/seabios.ts';
import { SEABIOS_VERSIONS, type SeabiosVersion } from '../../reference/toolchain.ts';
import { cacheDir as defaultCacheDir, MANIFEST_NAME } from './cache.ts';
import { ProvisionError } from './errors.ts';

export const SEABIOS_IMAGE_SIZES: Readonly<Record<BiosVariant, number>> = { 'bios-256k': 256 * 1024, bios: 128 * 1024 };
/** The banner's format string (src/output.c debug_banner: `dprintf(1, "SeaBIOS (version %s)\n", VERSION)`). */
const BANNER_FORMAT = 'SeaBIOS (version %s)';

export interface SeabiosImageInfo {
  path: string;
  sizeBytes: number;
  /** The VERSION string inside the image, e.g. "1.16.2-debian-1.16.2-1"; null when none is found. */
  versionString: string | null;
  /** The model's SeaBIOS version: the image's release, or the nearest earlier modelled one. */
  seabiosVersion: SeabiosVersion;
  /** True when the image's release is not modelled and seabiosVersion stands in for it. */
  extrapolated: boolean;
  variant: BiosVariant;
  /** Stock Debian image, or built by this project (firmware build manifest). */
  configKnown: boolean;
  /** How the image was recognised: "Debian seabios package", "built by e820 firmware build (…)", null. */
  knownAs: string | null;
  sha256: string;
  /** What a prediction for this image assumes, null when nothing. */
  assumption: string | null;
}

/** The path is not a SeaBIOS image the harness can boot (missing, unreadable, wrong size, no version). */
export class SeabiosImageError extends ProvisionError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'SeabiosImageError';
  }
}

const isPrintable = (b: number) => b >= 0x20 && b < 0x7f;

/** NUL-terminated printable strings of at least `min` bytes, in file order. */
function cStrings(buf: Buffer, min = 4): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= buf.length; i++) {
    const b = i < buf.length ? buf[i]! : 0;
    if (isPrintable(b)) {
      if (start < 0) start = i;
    } else {
      if (start >= 0 && b === 0 && i - start >= min) out.push(buf.toString('latin1', start, i));
      start = -1;
    }
  }
  return out;
}

const RELEASE = /(?:^|[^0-9.])(\d+)\.(\d+)\.(\d+)(?![0-9])/;
const VERSIONISH = /^(?:rel-)?\d+\.\d+\.\d+[A-Za-z0-9.+~_-]*$|^\?-\d{8}_\d{6}-[\w.-]+$/;

/** The VERSION string of an image: the string after BUILDINFO, else the first release-like string. */
export function versionStringOf(image: Uint8Array): string | null {
  const buf = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (!buf.includes(BANNER_FORMAT, 0, 'latin1')) return null;
  const strings = cStrings(buf);
  const info = strings.findIndex((s) => /^gcc: .*binutils: /.test(s));
  if (info >= 0) {
    for (const s of [strings[info + 1], strings[info - 1]]) if (s !== undefined && VERSIONISH.test(s)) return s;
  }
  return strings.find((s) => VERSIONISH.test(s)) ?? null;
}

const cmp = (a: readonly number[], b: readonly number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
const parts = (v: string) => v.split('.').map(Number);

/** The modelled version for a version string: exact, or the nearest earlier one (extrapolated). */
export function modelledSeabiosVersion(versionString: string): { version: SeabiosVersion; extrapolated: boolean; release: string | null } {
  const m = RELEASE.exec(versionString);
  if (!m) return { version: SEABIOS_VERSIONS[SEABIOS_VERSIONS.length - 1]!, extrapolated: true, release: null };
  const release = `${m[1]}.${m[2]}.${m[3]}`;
  const exact = SEABIOS_VERSIONS.find((v) => v === release);
  if (exact) return { version: exact, extrapolated: false, release };
  const earlier = [...SEABIOS_VERSIONS].filter((v) => cmp(parts(v), parts(release)) < 0).pop();
  return { version: earlier ?? SEABIOS_VERSIONS[0], extrapolated: true, release };
}

interface KnownImage {
  knownAs: string;
  variant: BiosVariant | null;
}

type Records = { files?: Record<string, { sha256?: string }> };

/** Cache manifests that record an image with this sha256: project builds first, then stock entries. */
async function knownInCache(sha256: string, path: string, cache: string): Promise<KnownImage | null> {
  const manifests = async (kind: string) => {
    const names = await readdir(join(cache, kind)).catch(() => [] as string[]);
    const out: Array<{ dir: string; m: Record<string, unknown> }> = [];
    for (const n of names.filter((x) => !x.startsWith('.')).sort()) {
      try {
        out.push({ dir: join(cache, kind, n), m: JSON.parse(await readFile(join(cache, kind, n, MANIFEST_NAME), 'utf8')) as Record<string, unknown> });
      } catch {
        // no manifest: not an entry
      }
    }
    return out;
  };
  for (const { dir, m } of await manifests('firmware')) {
    const rec = (m.verify as Records | undefined)?.files?.[String(m.image)];
    if (m.kind === 'seabios-firmware' && rec?.sha256 === sha256) {
      const patches = Array.isArray(m.patches) ? (m.patches as Array<{ name?: string }>).map((p) => p.name).join(', ') : '';
      const beside = resolve(path) === resolve(join(dir, String(m.image))) ? '' : ` (cache entry ${dir})`;
      return { knownAs: `built by e820 firmware build from Debian seabios ${String(m.sourceVersion)}, ${String(m.variant)}${patches ? `, patches ${patches}` : ''}${beside}`, variant: m.variant === 'bios' ? 'bios' : 'bios-256k' };
    }
  }
  for (const kind of ['seabios', 'qemu']) {
    for (const { m } of await manifests(kind)) {
      const files = (m.verify as Records | undefined)?.files ?? {};
      for (const [rel, rec] of Object.entries(files)) {
        const name = /(?:^|\/)(bios-256k|bios)\.bin$/.exec(rel);
        if (name && rec.sha256 === sha256) return { knownAs: `Debian seabios ${String(kind === 'seabios' ? m.packageVersion : m.suite)} (${name[1]}.bin)`, variant: name[1] as BiosVariant };
      }
    }
  }
  return null;
}

/** The host's Debian seabios package (dpkg's md5sums of usr/share/seabios/bios*.bin). */
async function knownToDpkg(image: Uint8Array, dpkgInfo: string): Promise<KnownImage | null> {
  const text = await readFile(join(dpkgInfo, 'seabios.md5sums'), 'utf8').catch(() => '');
  const md5 = createHash('md5').update(image).digest('hex');
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32})\s+usr\/share\/seabios\/(bios-256k|bios)\.bin$/.exec(line.trim());
    if (m && m[1] === md5) return { knownAs: `Debian seabios (this machine's package, ${m[2]}.bin)`, variant: m[2] as BiosVariant };
  }
  return null;
}

export interface IdentifyOptions {
  cacheDir?: string;
  /** dpkg's info directory (tests). */
  dpkgInfo?: string;
}

/** Identifies a SeaBIOS image file (see the module comment); throws SeabiosImageError naming the path. */
export async function identifySeabiosImage(path: string, opts: IdentifyOptions = {}): Promise<SeabiosImageInfo> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new SeabiosImageError(path, 'does not exist; give the path of a SeaBIOS image (bios-256k.bin, bios.bin, or one `e820 firmware build` printed)');
    throw new SeabiosImageError(path, `cannot be read (${err.code ?? err.message})`);
  });
  if (!st.isFile()) throw new SeabiosImageError(path, `is not a regular file (${st.isDirectory() ? 'a directory' : 'a device, socket or fifo'}); give the path of a SeaBIOS image`);
  await access(path, constants.R_OK).catch(() => {
    throw new SeabiosImageError(path, 'is not readable by this user; fix its permissions or copy it');
  });
  const size = st.size;
  const variant = (Object.keys(SEABIOS_IMAGE_SIZES) as BiosVariant[]).find((v) => SEABIOS_IMAGE_SIZES[v] === size);
  if (variant === undefined) {
    throw new SeabiosImageError(path, `is ${size} bytes: not a SeaBIOS image for QEMU (Debian's are 256 KiB, bios-256k.bin, or 128 KiB, bios.bin)`);
  }
  const image = await readFile(path);
  const versionString = versionStringOf(image);
  if (versionString === null) {
    throw new SeabiosImageError(path, `has no SeaBIOS version string (no "${BANNER_FORMAT}" banner and VERSION): not a SeaBIOS image`);
  }
  const sha256 = createHash('sha256').update(image).digest('hex');
  const known = (await knownInCache(sha256, path, opts.cacheDir ?? defaultCacheDir())) ?? (await knownToDpkg(image, opts.dpkgInfo ?? '/var/lib/dpkg/info'));
  const modelled = modelledSeabiosVersion(versionString);
  const assumptions: string[] = [];
  if (modelled.extrapolated) {
    assumptions.push(
      modelled.release === null
        ? `version ${JSON.stringify(versionString)} names no release: predicted as SeaBIOS ${modelled.version}`
        : `SeaBIOS ${modelled.release} is not modelled: predicted as ${modelled.version}, the nearest earlier modelled release`,
    );
  }
  if (known === null) assumptions.push(`configuration unknown: predicted with the stock ${variant}.bin driver set`);
  return {
    path,
    sizeBytes: size,
    versionString,
    seabiosVersion: modelled.version,
    extrapolated: modelled.extrapolated,
    variant,
    configKnown: known !== null,
    knownAs: known?.knownAs ?? null,
    sha256,
    assumption: assumptions.length > 0 ? assumptions.join('; ') : null,
  };
}
