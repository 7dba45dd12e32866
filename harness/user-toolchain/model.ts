// The Toolchain the model predicts with for detected components, with provenance lines.

import { type KernelVersion, type QemuVersion, type SeabiosVersion, type Toolchain } from '../../reference/toolchain.ts';
import type { DetectedComponents } from './detect.ts';
import { chooseProfile, numbers, type ProfileChoice } from './profile-choice.ts';

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
  return { toolchain, choices: [q, s, k], provenance };
}
