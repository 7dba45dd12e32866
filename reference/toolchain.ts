// A toolchain names the version of each component of the boot stack. Behaviour per version
// lives in the profile tables (reference/profiles/); this module only names and validates.

export const QEMU_VERSIONS = ['5.2', '7.2', '10.0', '11.1'] as const;
export const SEABIOS_VERSIONS = ['1.14.0', '1.16.2', '1.16.3', '1.17.0'] as const;
export const KERNEL_VERSIONS = ['5.10', '6.1', '6.12', '7.2'] as const;

export type QemuVersion = (typeof QEMU_VERSIONS)[number];
export type SeabiosVersion = (typeof SEABIOS_VERSIONS)[number];
export type KernelVersion = (typeof KERNEL_VERSIONS)[number];
/**
 * Which image of a kernel series the guest boots: Debian's cloud kernel, or the minimal kernel the
 * project builds from the same series' Debian source (guests/kernel/minimal.config). Their kernel
 * profiles differ only where the builds do (reference/profiles/kernel.ts MINIMAL_BUILD).
 */
export const KERNEL_FLAVOURS = ['cloud', 'minimal'] as const;
export type KernelFlavour = (typeof KERNEL_FLAVOURS)[number];
/**
 * The flavour booted where none is named (issue 15): by the commands (`--kernel-flavour` not given
 * and no `--bzimage`; harness/user-toolchain-flags.ts kernelFlavourOf), by `e820 run` and by the
 * conformance suite for a matrix toolchain without `flavour:` (harness/matrix/schema.ts
 * withDefaultKernelFlavour). A Toolchain without `kernelFlavour` is still Debian's cloud kernel
 * (labels, result keys, predictions, snapshots): the entry points write the default into the
 * toolchain, so every result names the kernel that booted.
 */
export const DEFAULT_KERNEL_FLAVOUR: KernelFlavour = 'minimal';

export interface Toolchain {
  qemu: QemuVersion;
  seabios: SeabiosVersion;
  kernel: KernelVersion;
  /**
   * A point release inside the kernel series (`5.10.262`), for series whose behaviour changed
   * inside it (reference/profiles/kernel.ts kernelProfileForRelease); absent = the series profile.
   */
  kernelRelease?: string;
  /** Absent: Debian's cloud kernel (the commands' default is DEFAULT_KERNEL_FLAVOUR, written in here). */
  kernelFlavour?: KernelFlavour;
  /**
   * Patches the SeaBIOS image is built with (`e820 firmware build --patch`, absolute paths, in
   * order); absent: Debian's image. The model never reads them: what a patch changes is declared
   * (reference/intent.ts), so only the harness builds and boots them.
   */
  seabiosPatches?: readonly string[];
}

/** Debian bookworm: what this machine has installed. */
export const BASELINE_TOOLCHAIN: Toolchain = { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' };

export class UnknownVersionError extends Error {
  constructor(
    readonly component: 'qemu' | 'seabios' | 'kernel',
    readonly given: string,
    readonly known: readonly string[],
  ) {
    super(`unknown ${component} version ${JSON.stringify(given)}: the model has profiles for ${known.join(', ')}`);
    this.name = 'UnknownVersionError';
  }
}

function pick<T extends string>(component: 'qemu' | 'seabios' | 'kernel', known: readonly T[], given: string): T {
  const found = known.find((v) => v === given);
  if (found === undefined) throw new UnknownVersionError(component, given, known);
  return found;
}

/** `6.1` names a series; `5.10.262` a point release of one. */
const KERNEL_POINT_RELEASE = /^(\d+\.\d+)\.(\d+)$/;

export function toolchainOf(spec: { qemu?: string; seabios?: string; kernel?: string }): Toolchain {
  const kernelSpec = spec.kernel ?? BASELINE_TOOLCHAIN.kernel;
  const point = KERNEL_POINT_RELEASE.exec(kernelSpec);
  return {
    qemu: pick('qemu', QEMU_VERSIONS, spec.qemu ?? BASELINE_TOOLCHAIN.qemu),
    seabios: pick('seabios', SEABIOS_VERSIONS, spec.seabios ?? BASELINE_TOOLCHAIN.seabios),
    kernel: pick('kernel', KERNEL_VERSIONS, point ? point[1]! : kernelSpec),
    ...(point ? { kernelRelease: kernelSpec } : {}),
  };
}

/** A patch's name in labels: its file name without directory and `.patch`/`.diff`. */
export function patchLabel(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.(?:patch|diff)$/, '');
}

export function toolchainLabel(t: Toolchain): string {
  const patches = (t.seabiosPatches ?? []).map((p) => `+${patchLabel(p)}`).join('');
  return `qemu-${t.qemu}+seabios-${t.seabios}${patches}+linux-${t.kernelRelease ?? t.kernel}${t.kernelFlavour === 'minimal' ? '-minimal' : ''}`;
}
