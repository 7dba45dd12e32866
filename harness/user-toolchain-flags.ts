// The user-component flags (--qemu-binary, --bios, --bzimage, …, --toolchain FILE, --profile-*),
// their commander options and error, apart from harness/user-toolchain.ts (detection and
// provisioning: execa, yaml, zod) so that a command can register them, and tell whether any
// component was named, without loading it.

import { DEFAULT_KERNEL_FLAVOUR, KERNEL_FLAVOURS, type KernelFlavour, type Toolchain } from '../reference/toolchain.ts';

/** A user component that is missing, unusable or not what it claims to be. Names the path and the flag. */
export class UserComponentError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly option: string,
    readonly path: string | null,
    detail: string,
    todo: string,
  ) {
    super(`${option}${path !== null ? ` ${path}` : ''}: ${detail}; ${todo}`);
    this.name = 'UserComponentError';
  }
}

export interface UserToolchainFlags {
  qemuBinary?: string;
  bios?: string;
  bzimage?: string;
  fwCfgModule?: string;
  /** `--busybox`: retired (the guest runs no busybox); refused by name (retiredBusybox). */
  busybox?: string;
  /** `--toolchain FILE` (YAML, UserToolchainFileSchema). */
  toolchain?: string;
  profileQemu?: string;
  profileSeabios?: string;
  profileKernel?: string;
  /** `--kernel-flavour minimal|cloud` (kernelFlavourOf). */
  kernelFlavour?: string;
}

/**
 * Could these flags and QEMU arguments name a user component? False means resolveUserComponents
 * would return null, so a command need not load harness/user-toolchain.ts at all.
 */
export function namesUserComponents(flags: UserToolchainFlags, qemuArgs: readonly string[]): boolean {
  const named = [flags.qemuBinary, flags.bios, flags.bzimage, flags.fwCfgModule, flags.busybox, flags.toolchain, flags.profileQemu, flags.profileSeabios, flags.profileKernel];
  return named.some((v) => v !== undefined) || biosOfArgs(qemuArgs) !== null;
}

/** The error for `--busybox` (or a toolchain file's `busybox:`), which earlier versions took. */
export function retiredBusybox(option: string, path: string): UserComponentError {
  return new UserComponentError(option, path, "is no longer used: the guest's /init is a program the harness compiles (guests/init.c), not a busybox script", 'drop it');
}

/**
 * QEMU's own firmware file names: `-bios bios.bin` / `-bios bios-256k.bin` are looked up in QEMU's
 * firmware search path (hw/i386/x86.c x86_bios_rom_init → qemu_find_file(QEMU_FILE_TYPE_BIOS, …),
 * the -L directories), which is where the provisioned (or --bios) image is: no image of the user's.
 * `qboot.rom` and `bios-microvm.bin` are found the same way, in the QEMU suite's own data files
 * (reference/profiles/firmware-files.ts says what each release ships under those names).
 */
export const QEMU_BIOS_NAMES: readonly string[] = ['bios.bin', 'bios-256k.bin', 'qboot.rom', 'bios-microvm.bin'];

/**
 * `-bios PATH` in the QEMU arguments names the SeaBIOS image like --bios does, unless it is one of
 * QEMU_BIOS_NAMES. QEMU takes the last -bios it is given (a later option overrides the earlier).
 */
export function biosOfArgs(args: readonly string[]): string | null {
  let bios: string | null = null;
  for (let i = 0; i < args.length - 1; i++) if (args[i] === '-bios' || args[i] === '--bios') bios = args[i + 1]!;
  return bios !== null && !QEMU_BIOS_NAMES.includes(bios) ? bios : null;
}

/** The commander options every command that takes a toolchain registers. */
export const USER_TOOLCHAIN_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['--qemu-binary <path>', 'this qemu-system-x86_64 (its version, from --version, picks the QEMU profile)'],
  ['--bios <path>', 'this SeaBIOS image (bios-256k.bin/bios.bin; its version string picks the SeaBIOS profile; -bios PATH in the QEMU arguments counts too)'],
  ['--bzimage <path>', 'this kernel (its header\'s version picks the kernel profile)'],
  ['--fw-cfg-module <path>', 'qemu_fw_cfg.ko of the --bzimage build (when fw_cfg is not built in)'],
  ['--busybox <path>', 'retired: the guest\'s /init is compiled from guests/init.c (refused with that reason)'],
  ['--toolchain <file>', 'YAML naming any of qemu-binary, bios, bzimage, fw-cfg-module, and profile: { qemu, seabios, kernel }'],
  ['--profile-qemu <V>', 'predict with this QEMU profile whatever version was detected'],
  ['--profile-seabios <V>', 'predict with this SeaBIOS profile whatever version was detected'],
  ['--profile-kernel <V>', 'predict with this kernel profile whatever version was detected'],
];

/** Adds USER_TOOLCHAIN_OPTIONS to a command (skipping any it already has). */
export function withUserToolchainOptions<T extends { option(flags: string, description: string): T; options: ReadonlyArray<{ long?: string | undefined }> }>(cmd: T, skip: readonly string[] = []): T {
  for (const [flags, help] of USER_TOOLCHAIN_OPTIONS) {
    const long = flags.split(' ')[0]!;
    if (skip.includes(long) || cmd.options.some((o) => o.long === long)) continue;
    cmd.option(flags, help);
  }
  return cmd;
}

/**
 * `--kernel-flavour`: which image of the toolchain's kernel series the guest boots (reference/
 * toolchain.ts KernelFlavour); not given: DEFAULT_KERNEL_FLAVOUR (the minimal kernel). Registered
 * by the commands that boot or predict a guest kernel (run, check, capture, predict, explore,
 * drift, kvm), not by withUserToolchainOptions: it picks a provisioned kernel, not a user
 * component. `qtest` has no guest, and `snapshots` are the cloud kernel's predictions
 * (suites/flavours.test.ts checks the minimal kernel's against them).
 */
export const KERNEL_FLAVOUR_OPTION = [
  '--kernel-flavour <F>',
  "guest kernel: minimal (built by the project from the series' Debian source, guests/kernel/minimal.config; default; the first use builds it, minutes) or cloud (Debian's cloud image)",
] as const;

/** The flavour the flag names (undefined: not given); refuses an unknown one and the pair with --bzimage. */
export function givenKernelFlavour(flags: { kernelFlavour?: string; bzimage?: string }): KernelFlavour | undefined {
  const f = flags.kernelFlavour;
  if (f === undefined) return undefined;
  if (!(KERNEL_FLAVOURS as readonly string[]).includes(f)) throw new UserComponentError('--kernel-flavour', null, `${JSON.stringify(f)} is not a kernel flavour`, `give ${KERNEL_FLAVOURS.join(' or ')}`);
  if (flags.bzimage !== undefined) throw new UserComponentError('--kernel-flavour', null, `picks a provisioned kernel, and --bzimage ${flags.bzimage} names your own`, 'drop one of them');
  return f as KernelFlavour;
}

/** The flavour a command boots: the flag's, else DEFAULT_KERNEL_FLAVOUR; undefined with --bzimage (the user's own kernel). */
export function kernelFlavourOf(flags: { kernelFlavour?: string; bzimage?: string }): KernelFlavour | undefined {
  return givenKernelFlavour(flags) ?? (flags.bzimage !== undefined ? undefined : DEFAULT_KERNEL_FLAVOUR);
}

/** The toolchain booting that flavour; cloud is the field's absence, so labels and keys stay as they were. */
export function withKernelFlavour<T extends Toolchain>(t: T, flavour: KernelFlavour | undefined): T {
  if (flavour === undefined) return t;
  const { kernelFlavour: _old, ...rest } = t;
  return (flavour === 'cloud' ? rest : { ...rest, kernelFlavour: flavour }) as T;
}
