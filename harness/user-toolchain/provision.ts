// Provisioning what the user did not give, and the UserToolchain every command resolves.

import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type Toolchain } from '../../reference/toolchain.ts';
import type { ProvisionedToolchain } from '../capture.ts';
import type { Cell, CellRun } from '../matrix/schema.ts';
import { HOST_SUITE } from '../provision/apt-env.ts';
import { cacheDir } from '../provision/cache.ts';
import { findOrInstallHostTools } from '../provision/host-tools.ts';
import { provisionSeabios } from '../provision/seabios.ts';
import { provisionToolchainKernel, resolveToolchain, suiteOf, ToolchainVersionMismatchError, versionMatches } from '../provision/toolchain.ts';
import { type SeabiosImageInfo } from '../provision/seabios-image.ts';
import type { BiosVariant } from '../../reference/profiles/seabios.ts';
import { UserComponentError, type UserToolchainFlags } from '../user-toolchain-flags.ts';
import { detectComponents, type DetectDeps, type DetectedComponents } from './detect.ts';
import { modelToolchainFor, type ModelToolchain } from './model.ts';
import { componentsOfFlags, loadToolchainFile, withArgsBios, type UserComponents } from './spec.ts';

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
 * fall back to its own) and the kernel.
 */
export async function provisionMissing(detected: DetectedComponents, base: Toolchain, opts: ProvisionOpts = {}): Promise<ProvisionedToolchain> {
  const common = { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  const userBios = detected.seabios !== null ? await userSeabiosDir(detected.seabios) : null;
  const userKernel = detected.kernel !== null ? { image: detected.kernel.image, fwCfgModule: detected.kernel.fwCfgModule, release: detected.kernel.release } : null;
  if (detected.qemu === null) {
    const r = await resolveToolchain(base, common);
    return {
      qemu: { binary: r.qemu.binary, ...(r.qemu.versionLine !== null ? { version: r.qemu.versionLine } : {}) },
      ...(userBios !== null ? { seabiosDir: userBios } : r.seabios.dir !== null ? { seabiosDir: r.seabios.dir } : {}),
      kernel: userKernel ?? { image: r.kernel.vmlinuz, fwCfgModule: r.kernel.fwCfgModule, release: r.kernel.release },
    };
  }
  let seabiosDir = userBios;
  if (seabiosDir === null) {
    const sSuite = suiteOf('seabios', base.seabios);
    if (sSuite === HOST_SUITE) seabiosDir = (await findOrInstallHostTools(common)).seabiosDir;
    else {
      const s = await provisionSeabios(sSuite, common);
      if (!versionMatches('seabios', s.packageVersion, base.seabios)) throw new ToolchainVersionMismatchError('seabios', base.seabios, s.packageVersion, sSuite);
      seabiosDir = s.dir;
    }
  }
  let kernel = userKernel;
  if (kernel === null) {
    const k = await provisionToolchainKernel(base, common);
    kernel = { image: k.vmlinuz, fwCfgModule: k.fwCfgModule, release: k.release };
  }
  return { qemu: { binary: detected.qemu.binary, version: detected.qemu.versionLine }, seabiosDir, kernel };
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
