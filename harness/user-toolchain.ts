// User-given components: the one place that turns `--qemu-binary/--bios/--bzimage/--fw-cfg-module/
// --busybox/--toolchain FILE/--profile-*` (or a matrix's top-level `toolchain:`) into
//   1. the parts of a ProvisionedToolchain the user gave (provisioning supplies only the rest),
//   2. the Toolchain the model predicts with (the profile of each detected version, or the nearest
//      earlier one the model knows: extrapolated), and
//   3. provenance lines every report and JSON result carries ("QEMU 11.2.0: predicted with the
//      11.1 profile (extrapolated)").
//
// Versions are detected from the components, never asked for: QEMU from `--version` (and the
// machine types `-M help` lists), SeaBIOS from the version string inside the image, the kernel
// from the bzImage header (the kernel_version field of the boot protocol, Documentation/arch/x86/
// boot.rst). Detection is configuration, read from the binaries; the model never sees what a boot
// printed. Every command that takes a toolchain goes through resolveUserComponents + modelToolchainFor
// + provisionerFor; none parses these flags itself.

import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, copyFile, mkdir, open, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KERNEL_VERSIONS, QEMU_VERSIONS, SEABIOS_VERSIONS, type KernelVersion, type QemuVersion, type SeabiosVersion, type Toolchain } from '../reference/toolchain.ts';
import type { ProvisionedToolchain } from './capture.ts';
import type { Cell, CellRun } from './matrix/schema.ts';
import { HOST_SUITE } from './provision/apt-env.ts';
import { cacheDir } from './provision/cache.ts';
import { elfLinkage } from './provision/elf.ts';
import { DEFAULT_BUSYBOX, findOrInstallHostTools, parseQemuVersion } from './provision/host-tools.ts';
import { bzImageRelease } from './provision/kernel.ts';
import { provisionSeabios } from './provision/seabios.ts';
import { abortableSystem, localSystem } from './provision/system.ts';
import { provisionToolchainKernel, resolveToolchain, suiteOf, ToolchainVersionMismatchError, versionMatches } from './provision/toolchain.ts';
import { identifySeabiosImage, type SeabiosImageInfo } from './provision/seabios-image.ts';
import type { BiosVariant } from '../reference/profiles/seabios.ts';
import { biosOfArgs, UserComponentError, type UserToolchainFlags } from './user-toolchain-flags.ts';

// The flags, their commander options and the error live in user-toolchain-flags.ts, which
// `predict` loads without this module's detection and provisioning.
export { biosOfArgs, QEMU_BIOS_NAMES, USER_TOOLCHAIN_OPTIONS, UserComponentError, withUserToolchainOptions, type UserToolchainFlags } from './user-toolchain-flags.ts';

export type Component = 'qemu' | 'seabios' | 'kernel';

const NAMES: Record<Component, string> = { qemu: 'QEMU', seabios: 'SeaBIOS', kernel: 'Linux' };
const KNOWN: Record<Component, readonly string[]> = { qemu: QEMU_VERSIONS, seabios: SEABIOS_VERSIONS, kernel: KERNEL_VERSIONS };
/** How many leading numbers of a detected version name a profile: QEMU 11.1.3 → 11.1, SeaBIOS 1.16.3 → 1.16.3, Linux 7.2.13 → 7.2. */
const PROFILE_PARTS: Record<Component, number> = { qemu: 2, seabios: 3, kernel: 2 };

// ---- pure: versions and profile choice ------------------------------------------------------

function numbers(version: string): number[] {
  return (/^\d+(?:\.\d+)*/.exec(version)?.[0] ?? '').split('.').filter((s) => s !== '').map(Number);
}

/** Numeric comparison of dotted versions over their first `parts` numbers (missing numbers are 0). */
export function compareVersions(a: string, b: string, parts = 3): number {
  const x = numbers(a);
  const y = numbers(b);
  for (let i = 0; i < parts; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export type ChoiceHow = 'exact' | 'extrapolated' | 'override' | 'toolchain';

export interface ProfileChoice {
  component: Component;
  /** The version detected from the user's component; null when the component was not given. */
  detected: string | null;
  /** The profile the model predicts with. */
  profile: string;
  how: ChoiceHow;
  /** e.g. "QEMU 11.2.0: predicted with the 11.1 profile (extrapolated: no 11.2 profile, the nearest earlier one)". */
  text: string;
}

/**
 * The profile for a detected version: its own, or the nearest earlier one the model knows
 * (extrapolated). `override` (--profile-qemu V …) wins. Throws when the version is older than every
 * profile and no override is given.
 */
export function chooseProfile(component: Component, detected: string | null, override?: string, fallback?: string): ProfileChoice {
  const known = KNOWN[component];
  const parts = PROFILE_PARTS[component];
  const flag = `--profile-${component}`;
  if (override !== undefined) {
    if (!known.includes(override)) {
      throw new UserComponentError(flag, null, `${JSON.stringify(override)} is not a profile the model has`, `use one of ${known.join(', ')}`);
    }
    const what = detected !== null ? `${NAMES[component]} ${detected}` : `${NAMES[component]} (the toolchain's ${fallback ?? '?'})`;
    return { component, detected, profile: override, how: 'override', text: `${what}: predicted with the ${override} profile (${flag})` };
  }
  if (detected === null) {
    if (fallback === undefined) throw new Error(`internal: no ${component} version and no fallback`);
    return { component, detected, profile: fallback, how: 'toolchain', text: `${NAMES[component]} ${fallback}: provisioned, its own profile` };
  }
  const exact = known.find((v) => compareVersions(v, detected, parts) === 0);
  if (exact !== undefined) return { component, detected, profile: exact, how: 'exact', text: `${NAMES[component]} ${detected}: predicted with the ${exact} profile` };
  const earlier = known.filter((v) => compareVersions(v, detected, parts) < 0).sort((a, b) => compareVersions(a, b, parts));
  const nearest = earlier.at(-1);
  if (nearest === undefined) {
    throw new UserComponentError(
      `${NAMES[component]} ${detected}`,
      null,
      `older than every ${NAMES[component]} profile of the model (${known.join(', ')}), so there is no earlier profile to extrapolate from`,
      `pass ${flag} V to predict with one of them anyway`,
    );
  }
  const own = numbers(detected).slice(0, parts).join('.');
  return {
    component,
    detected,
    profile: nearest,
    how: 'extrapolated',
    text: `${NAMES[component]} ${detected}: predicted with the ${nearest} profile (extrapolated: the model has no ${own} profile; ${nearest} is the nearest earlier one)`,
  };
}

// ---- the user's spec: flags, a toolchain file, a matrix's `toolchain:` ----------------------

/** What the user named, merged from a file and flags (flags win per field); paths absolute. */
export interface UserComponents {
  qemuBinary?: string;
  bios?: string;
  bzimage?: string;
  fwCfgModule?: string;
  busybox?: string;
  profile: { qemu?: string; seabios?: string; kernel?: string };
  /** Where each came from, for messages: `--qemu-binary`, `toolchain file x.yaml`… */
  origin: Partial<Record<'qemuBinary' | 'bios' | 'bzimage' | 'fwCfgModule' | 'busybox', string>>;
}

/**
 * A toolchain file (`--toolchain FILE`) and a matrix's top-level `toolchain:` (inline, or the path
 * of such a file). Relative paths are relative to the file that holds them.
 *
 *   qemu-binary: /opt/qemu-11.2/bin/qemu-system-x86_64
 *   bios: ./bios-256k.bin
 *   bzimage: /boot/vmlinuz-7.3.0
 *   fw-cfg-module: ./qemu_fw_cfg.ko
 *   busybox: /bin/busybox
 *   profile: { qemu: "11.1", seabios: "1.17.0", kernel: "7.2" }   # optional overrides
 */
export const UserToolchainFileSchema = z
  .object({
    'qemu-binary': z.string().min(1).optional(),
    bios: z.string().min(1).optional(),
    bzimage: z.string().min(1).optional(),
    'fw-cfg-module': z.string().min(1).optional(),
    busybox: z.string().min(1).optional(),
    profile: z.object({ qemu: z.string().optional(), seabios: z.string().optional(), kernel: z.string().optional() }).strict().optional(),
  })
  .strict();
export type UserToolchainFile = z.infer<typeof UserToolchainFileSchema>;

/** The parsed file's fields as UserComponents, paths resolved against `baseDir`. */
export function componentsOfFile(data: UserToolchainFile, baseDir: string, origin: string): UserComponents {
  const abs = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p));
  const out: UserComponents = { profile: { ...(data.profile ?? {}) }, origin: {} };
  const set = (k: keyof UserComponents['origin'], v: string | undefined) => {
    if (v !== undefined) {
      out[k] = abs(v)!;
      out.origin[k] = origin;
    }
  };
  set('qemuBinary', data['qemu-binary']);
  set('bios', data.bios);
  set('bzimage', data.bzimage);
  set('fwCfgModule', data['fw-cfg-module']);
  set('busybox', data.busybox);
  return out;
}

/** The inverse of componentsOfFile (absolute paths): what a written matrix's `toolchain:` holds. */
export function fileOfComponents(c: UserComponents): UserToolchainFile {
  const profile = Object.fromEntries(Object.entries(c.profile).filter(([, v]) => v !== undefined)) as NonNullable<UserToolchainFile['profile']>;
  return {
    ...(c.qemuBinary !== undefined ? { 'qemu-binary': c.qemuBinary } : {}),
    ...(c.bios !== undefined ? { bios: c.bios } : {}),
    ...(c.bzimage !== undefined ? { bzimage: c.bzimage } : {}),
    ...(c.fwCfgModule !== undefined ? { 'fw-cfg-module': c.fwCfgModule } : {}),
    ...(c.busybox !== undefined ? { busybox: c.busybox } : {}),
    ...(Object.keys(profile).length > 0 ? { profile } : {}),
  };
}

/** The same components as command-line words (`--qemu-binary /abs/path …`), for reproducers; not shell-quoted. */
export function flagsOfComponents(c: UserComponents): string[] {
  const out: string[] = [];
  const add = (flag: string, v: string | undefined) => {
    if (v !== undefined) out.push(flag, v);
  };
  add('--qemu-binary', c.qemuBinary);
  add('--bios', c.bios);
  add('--bzimage', c.bzimage);
  add('--fw-cfg-module', c.fwCfgModule);
  add('--busybox', c.busybox);
  add('--profile-qemu', c.profile.qemu);
  add('--profile-seabios', c.profile.seabios);
  add('--profile-kernel', c.profile.kernel);
  return out;
}

/** Reads `--toolchain FILE`. Errors name the file and the field. */
export async function loadToolchainFile(path: string, option = '--toolchain'): Promise<UserComponents> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserComponentError(option, path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'give the path of a toolchain YAML file');
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (err) {
    throw new UserComponentError(option, path, `is not YAML (${(err as Error).message.split('\n')[0]})`, 'fix the file');
  }
  const parsed = UserToolchainFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : `field ${i.path.join('.') || '(top level)'}: ${i.message}`));
    throw new UserComponentError(option, path, problems.join('; '), 'fields are qemu-binary, bios, bzimage, fw-cfg-module, busybox and profile: { qemu, seabios, kernel }');
  }
  return componentsOfFile(parsed.data, dirname(resolve(path)), `${option} ${path}`);
}

/** Merges flags over a base (a toolchain file, a matrix's `toolchain:`): a flag wins per field. */
export function mergeComponents(base: UserComponents | null, flags: UserToolchainFlags): UserComponents {
  const out: UserComponents = { profile: { ...(base?.profile ?? {}) }, origin: { ...(base?.origin ?? {}) } };
  for (const k of ['qemuBinary', 'bios', 'bzimage', 'fwCfgModule', 'busybox'] as const) if (base?.[k] !== undefined) out[k] = base[k];
  const flagOf: Record<keyof UserComponents['origin'], string> = {
    qemuBinary: '--qemu-binary',
    bios: '--bios',
    bzimage: '--bzimage',
    fwCfgModule: '--fw-cfg-module',
    busybox: '--busybox',
  };
  for (const k of Object.keys(flagOf) as Array<keyof typeof flagOf>) {
    const v = flags[k];
    if (v !== undefined) {
      out[k] = resolve(v);
      out.origin[k] = flagOf[k];
    }
  }
  if (flags.profileQemu !== undefined) out.profile.qemu = flags.profileQemu;
  if (flags.profileSeabios !== undefined) out.profile.seabios = flags.profileSeabios;
  if (flags.profileKernel !== undefined) out.profile.kernel = flags.profileKernel;
  return out;
}

/** Flags (with `--toolchain FILE` read) as UserComponents; null when the user named nothing. */
export async function componentsOfFlags(flags: UserToolchainFlags, base: UserComponents | null = null): Promise<UserComponents | null> {
  const file = flags.toolchain !== undefined ? await loadToolchainFile(flags.toolchain) : null;
  const merged = mergeComponents(file !== null ? overlay(base, file) : base, flags);
  return isEmpty(merged) ? null : merged;
}

function overlay(base: UserComponents | null, top: UserComponents): UserComponents {
  const out = mergeComponents(base, {});
  for (const k of ['qemuBinary', 'bios', 'bzimage', 'fwCfgModule', 'busybox'] as const) {
    if (top[k] !== undefined) {
      out[k] = top[k];
      out.origin[k] = top.origin[k]!;
    }
  }
  out.profile = { ...out.profile, ...top.profile };
  return out;
}

export function isEmpty(c: UserComponents): boolean {
  return (
    c.qemuBinary === undefined &&
    c.bios === undefined &&
    c.bzimage === undefined &&
    c.fwCfgModule === undefined &&
    c.busybox === undefined &&
    c.profile.qemu === undefined &&
    c.profile.seabios === undefined &&
    c.profile.kernel === undefined
  );
}

/**
 * Adds the QEMU arguments' `-bios PATH` (biosOfArgs) to a spec as its SeaBIOS image, origin `-bios`.
 * A different --bios (or a toolchain file's bios:) as well is refused: QEMU would boot the -bios one.
 */
export function withArgsBios(spec: UserComponents | null, qemuArgs: readonly string[]): UserComponents | null {
  const path = biosOfArgs(qemuArgs);
  if (path === null) return spec;
  const abs = resolve(path);
  const out = mergeComponents(spec, {});
  if (out.bios !== undefined && out.bios !== abs) {
    throw new UserComponentError(
      '-bios',
      path,
      `in the QEMU arguments names another SeaBIOS image than ${out.origin.bios ?? '--bios'} (${out.bios}), and QEMU boots the -bios one`,
      'give the image once: drop --bios, or drop -bios from the QEMU arguments',
    );
  }
  out.bios = abs;
  out.origin.bios = '-bios';
  return out;
}

// ---- detection (reads the components) -------------------------------------------------------

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
  busybox: string | null;
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

export async function detectBusybox(path: string): Promise<string> {
  await mustBeFile('--busybox', path, 'a static busybox');
  const linkage = elfLinkage(await readFile(path));
  if (linkage === 'not-elf') throw new UserComponentError('--busybox', path, 'is not an ELF executable', 'give the path of a statically linked busybox');
  if (linkage === 'dynamic') throw new UserComponentError('--busybox', path, 'is dynamically linked (the guest has no libc)', 'install busybox-static, or give a statically linked busybox');
  return path;
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
  const busybox = spec.busybox !== undefined ? await detectBusybox(spec.busybox) : null;
  return { spec, qemu, seabios, kernel, busybox };
}

// ---- the model's toolchain -------------------------------------------------------------------

export interface ModelToolchain {
  /** What the model predicts with. */
  toolchain: Toolchain;
  /** One per component, in qemu, seabios, kernel order. */
  choices: ProfileChoice[];
  /** The choices' texts plus the paths used: what reports and results.json print. */
  provenance: string[];
}

/**
 * The model's toolchain for `base` (a cell's, or --qemu/--seabios/--kernel) with the user's
 * components: each detected version picks its profile (exact, or nearest earlier), overrides win,
 * and components the user did not give keep the base's version. Pure given the detection.
 */
export function modelToolchainFor(detected: DetectedComponents, base: Toolchain): ModelToolchain {
  const p = detected.spec.profile;
  const q = chooseProfile('qemu', detected.qemu?.version ?? null, p.qemu, base.qemu);
  // The image's own release (its version string); seabios-image.ts's seabiosVersion is already the modelled one.
  const sRelease = detected.seabios !== null ? (/(\d+\.\d+\.\d+)/.exec(detected.seabios.versionString ?? '')?.[1] ?? detected.seabios.seabiosVersion) : null;
  const s = chooseProfile('seabios', sRelease, p.seabios, base.seabios);
  const k = chooseProfile('kernel', detected.kernel?.version ?? null, p.kernel, base.kernel);
  // A user kernel of a series whose behaviour changed inside it names its point release (kernel.ts).
  const kernelRelease =
    detected.kernel !== null && k.how === 'exact' && k.profile === '5.10' ? `5.10.${numbers(detected.kernel.version)[2] ?? 0}` : detected.kernel === null && k.how === 'toolchain' ? base.kernelRelease : undefined;
  const toolchain: Toolchain = {
    qemu: q.profile as QemuVersion,
    seabios: s.profile as SeabiosVersion,
    kernel: k.profile as KernelVersion,
    ...(kernelRelease !== undefined ? { kernelRelease } : {}),
    // The provisioned kernel's flavour stays; a user kernel is neither.
    ...(detected.kernel === null && base.kernelFlavour !== undefined ? { kernelFlavour: base.kernelFlavour } : {}),
  };
  const provenance = [q, s, k].filter((c) => c.how !== 'toolchain').map((c) => c.text);
  if (detected.qemu !== null) provenance.push(`QEMU binary: ${detected.qemu.binary} (${detected.qemu.versionLine}${detected.qemu.newestMachine !== null ? `; newest machine type pc-i440fx-${detected.qemu.newestMachine}` : ''})`);
  if (detected.seabios !== null) {
    const s = detected.seabios;
    provenance.push(`SeaBIOS image: ${s.path} (${s.versionString ?? 'no version string'}, ${s.variant}, ${s.sizeBytes} bytes${s.knownAs !== null ? `; ${s.knownAs}` : ''})`);
    // seabios-image.ts says what the prediction assumes for an image it cannot vouch for.
    if (s.assumption !== null) provenance.push(`SeaBIOS image assumption: ${s.assumption}`);
  }
  if (detected.kernel !== null) provenance.push(`kernel: ${detected.kernel.image} (${detected.kernel.release}${detected.kernel.fwCfgModule !== null ? `, fw_cfg module ${detected.kernel.fwCfgModule}` : ', no fw_cfg module: etc/e820 is observed only if qemu_fw_cfg is built in'})`);
  if (detected.busybox !== null) provenance.push(`busybox: ${detected.busybox}`);
  return { toolchain, choices: [q, s, k], provenance };
}

// ---- provisioning what is missing -------------------------------------------------------------

export interface ProvisionOpts {
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
}

export type Provisioner = (toolchain: Toolchain, opts?: ProvisionOpts) => Promise<ProvisionedToolchain>;

/** A directory holding the user's SeaBIOS image under both names QEMU looks for (passed as the first -L). */
export async function userSeabiosDir(image: SeabiosImageInfo, cache = cacheDir()): Promise<string> {
  const bytes = await readFile(image.path);
  const dir = join(cache, 'user-seabios', createHash('sha256').update(bytes).digest('hex').slice(0, 24));
  await mkdir(dir, { recursive: true });
  // Copies, not links: the image the boot reads is the one that was identified.
  for (const name of ['bios-256k.bin', 'bios.bin']) await copyFile(image.path, join(dir, name));
  return dir;
}

/**
 * The default provisioning of the components the user did not give, for the base toolchain (the
 * cell's versions): the whole toolchain when QEMU is not the user's (its SeaBIOS and kernel come
 * with it); otherwise only SeaBIOS (always as an explicit -L directory, so the user's QEMU does not
 * fall back to its own), the kernel and busybox.
 */
export async function provisionMissing(detected: DetectedComponents, base: Toolchain, opts: ProvisionOpts = {}): Promise<ProvisionedToolchain> {
  const system = opts.signal ? abortableSystem(localSystem, opts.signal) : localSystem;
  const common = { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), system };
  const userBios = detected.seabios !== null ? await userSeabiosDir(detected.seabios) : null;
  const userKernel = detected.kernel !== null ? { image: detected.kernel.image, fwCfgModule: detected.kernel.fwCfgModule, release: detected.kernel.release } : null;
  if (detected.qemu === null) {
    const r = await resolveToolchain(base, common);
    return {
      qemu: { binary: r.qemu.binary },
      ...(userBios !== null ? { seabiosDir: userBios } : r.seabios.dir !== null ? { seabiosDir: r.seabios.dir } : {}),
      kernel: userKernel ?? { image: r.kernel.vmlinuz, fwCfgModule: r.kernel.fwCfgModule, release: r.kernel.release },
      busybox: detected.busybox ?? r.busybox,
    };
  }
  let seabiosDir = userBios;
  let busybox = detected.busybox;
  if (seabiosDir === null || busybox === null) {
    const sSuite = suiteOf('seabios', base.seabios);
    const host = busybox === null || (seabiosDir === null && sSuite === HOST_SUITE) ? await findOrInstallHostTools({ ...common, ...(busybox === null ? {} : { busybox }) }) : null;
    busybox ??= host?.busybox ?? DEFAULT_BUSYBOX;
    if (seabiosDir === null) {
      if (sSuite === HOST_SUITE) seabiosDir = host!.seabiosDir;
      else {
        const s = await provisionSeabios(sSuite, common);
        if (!versionMatches('seabios', s.packageVersion, base.seabios)) throw new ToolchainVersionMismatchError('seabios', base.seabios, s.packageVersion, sSuite);
        seabiosDir = s.dir;
      }
    }
  }
  let kernel = userKernel;
  if (kernel === null) {
    const k = await provisionToolchainKernel(base, common);
    kernel = { image: k.vmlinuz, fwCfgModule: k.fwCfgModule, release: k.release };
  }
  return { qemu: { binary: detected.qemu.binary, version: detected.qemu.versionLine }, seabiosDir, kernel, busybox };
}

/**
 * User components for a whole run: maps each cell toolchain to the model's toolchain (with the
 * provenance), and provisions for a model toolchain what the user did not give, from the cell
 * toolchain it came from.
 */
/**
 * What the matrix deps take from the user's components (harness/matrix/deps.ts RealDepsOptions):
 * provisioning that supplies only what was not given, and the image's variant for the model.
 * Empty without components.
 */
export function userDepsOptions(user: UserToolchain | null): { provision?: Provisioner; biosVariantOf?: (toolchain: Toolchain) => BiosVariant | undefined } {
  return user === null ? {} : { provision: user.provision, biosVariantOf: () => user.biosVariant };
}

export class UserToolchain {
  private readonly bases = new Map<string, Toolchain>();
  private readonly provisioned = new Map<string, Promise<ProvisionedToolchain>>();

  constructor(
    readonly detected: DetectedComponents,
    private readonly provisionMissingFn: (d: DetectedComponents, base: Toolchain, opts: ProvisionOpts) => Promise<ProvisionedToolchain> = provisionMissing,
  ) {}

  /**
   * The user's SeaBIOS image's variant (seabios-image.ts: its size), for the model's driver set
   * (reference/predict.ts PredictOptions.biosVariant); undefined when no image was given.
   */
  get biosVariant(): BiosVariant | undefined {
    return this.detected.seabios?.variant;
  }

  /** The model's toolchain for a cell toolchain; remembers the cell toolchain to provision from. */
  model(base: Toolchain): ModelToolchain {
    const m = modelToolchainFor(this.detected, base);
    const key = JSON.stringify(m.toolchain);
    if (!this.bases.has(key)) this.bases.set(key, base);
    return m;
  }

  /** Provisions (once per model toolchain) what the user did not give. */
  provision: Provisioner = (toolchain, opts = {}) => {
    const key = JSON.stringify(toolchain);
    let p = this.provisioned.get(key);
    if (p === undefined) {
      p = this.provisionMissingFn(this.detected, this.bases.get(key) ?? toolchain, opts);
      p.catch(() => this.provisioned.delete(key));
      this.provisioned.set(key, p);
    }
    return p;
  };
}

/**
 * Flags (and a base spec, e.g. a matrix's `toolchain:`, and the QEMU arguments' `-bios PATH`) →
 * detected components; null when the user named none.
 */
export async function resolveUserComponents(
  flags: UserToolchainFlags,
  base: UserComponents | null = null,
  deps: Partial<DetectDeps> = {},
  qemuArgs: readonly string[] = [],
): Promise<UserToolchain | null> {
  const spec = withArgsBios(await componentsOfFlags(flags, base), qemuArgs);
  if (spec === null) return null;
  return new UserToolchain(await detectComponents(spec, deps));
}

/**
 * Runs under user components: each run's toolchain becomes the model's (its provenance attached);
 * runs of one cell whose toolchains map to the same model toolchain are kept once.
 */
export function applyToRuns(runs: readonly CellRun[], user: UserToolchain): CellRun[] {
  const out: CellRun[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    const m = user.model(run.toolchain);
    const id = `${run.cell.file}\0${run.cell.index}\0${JSON.stringify(m.toolchain)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ ...run, toolchain: m.toolchain, provenance: m.provenance });
  }
  return out;
}

/**
 * The user components a set of cells names in their matrices' top-level `toolchain:` (all the
 * same, or none): read, as the base that flags are merged over.
 */
export async function matrixComponents(cells: readonly Cell[]): Promise<UserComponents | null> {
  const specs = [...new Map(cells.filter((c) => c.userToolchain !== undefined).map((c) => [JSON.stringify(c.userToolchain), c] as const)).values()];
  if (specs.length === 0) return null;
  if (specs.length > 1) {
    throw new UserComponentError('toolchain:', null, `the matrices name different toolchains (${specs.map((c) => c.file).join(', ')})`, 'run them one at a time');
  }
  const t = specs[0]!.userToolchain!;
  return 'file' in t ? loadToolchainFile(t.file, `${specs[0]!.file}: toolchain:`) : t.inline;
}
