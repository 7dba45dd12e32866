// The user's spec of their components: flags, a toolchain file, a matrix's `toolchain:`, merged
// into one UserComponents value.

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { biosOfArgs, retiredBusybox, UserComponentError, type UserToolchainFlags } from '../user-toolchain-flags.ts';

/** What the user named, merged from a file and flags (flags win per field); paths absolute. */
export interface UserComponents {
  qemuBinary?: string;
  bios?: string;
  bzimage?: string;
  fwCfgModule?: string;
  profile: { qemu?: string; seabios?: string; kernel?: string };
  /** Where each came from, for messages: `--qemu-binary`, `toolchain file x.yaml`… */
  origin: Partial<Record<'qemuBinary' | 'bios' | 'bzimage' | 'fwCfgModule', string>>;
}

/**
 * A toolchain file (`--toolchain FILE`) and a matrix's top-level `toolchain:` (inline, or the path
 * of such a file). Relative paths are relative to the file that holds them.
 *
 *   qemu-binary: /opt/qemu-11.2/bin/qemu-system-x86_64
 *   bios: ./bios-256k.bin
 *   bzimage: /boot/vmlinuz-7.3.0
 *   fw-cfg-module: ./qemu_fw_cfg.ko
 *   profile: { qemu: "11.1", seabios: "1.17.0", kernel: "7.2" }   # optional overrides
 */
export const UserToolchainFileSchema = z
  .object({
    'qemu-binary': z.string().min(1).optional(),
    bios: z.string().min(1).optional(),
    bzimage: z.string().min(1).optional(),
    'fw-cfg-module': z.string().min(1).optional(),
    /** Retired (the guest runs no busybox): read only to refuse it by name. */
    busybox: z.string().min(1).optional(),
    profile: z.object({ qemu: z.string().optional(), seabios: z.string().optional(), kernel: z.string().optional() }).strict().optional(),
  })
  .strict();
export type UserToolchainFile = z.infer<typeof UserToolchainFileSchema>;

/** The parsed file's fields as UserComponents, paths resolved against `baseDir`. */
export function componentsOfFile(data: UserToolchainFile, baseDir: string, origin: string): UserComponents {
  if (data.busybox !== undefined) throw retiredBusybox(`${origin}: busybox:`, data.busybox);
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
    throw new UserComponentError(option, path, problems.join('; '), 'fields are qemu-binary, bios, bzimage, fw-cfg-module and profile: { qemu, seabios, kernel }');
  }
  return componentsOfFile(parsed.data, dirname(resolve(path)), `${option} ${path}`);
}

/** Merges flags over a base (a toolchain file, a matrix's `toolchain:`): a flag wins per field. */
export function mergeComponents(base: UserComponents | null, flags: UserToolchainFlags): UserComponents {
  const out: UserComponents = { profile: { ...(base?.profile ?? {}) }, origin: { ...(base?.origin ?? {}) } };
  if (flags.busybox !== undefined) throw retiredBusybox('--busybox', flags.busybox);
  for (const k of ['qemuBinary', 'bios', 'bzimage', 'fwCfgModule'] as const) if (base?.[k] !== undefined) out[k] = base[k];
  const flagOf: Record<keyof UserComponents['origin'], string> = {
    qemuBinary: '--qemu-binary',
    bios: '--bios',
    bzimage: '--bzimage',
    fwCfgModule: '--fw-cfg-module',
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
  for (const k of ['qemuBinary', 'bios', 'bzimage', 'fwCfgModule'] as const) {
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
