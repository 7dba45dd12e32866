// The machine type: aliases resolved, and the machine version its compat switches are read at.

import type { MachineConfig } from '../config.ts';
import { ISAPC_CLASS, parseMachineVersion, type MachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, type ResolvedMachine } from '../stages.ts';

/**
 * The machine type after alias resolution, and the machine version its compat switches
 * (MACHINE_COMPAT) are read at. isapc is unversioned and takes no compat properties, so it reads
 * them as the release's newest type does.
 */
export function resolveMachine(config: MachineConfig, profile: QemuProfile): { machine: ResolvedMachine; version: MachineVersion; warnings: string[] } {
  const { family, name } = config.machine;
  const types = profile.machineTypes;
  if (family === 'microvm') {
    // Unversioned like isapc; its stage (microvm.ts) reads the release's newest compat switches.
    return { machine: { name, family, version: null }, version: parseMachineVersion(types.newest), warnings: [] };
  }
  if (family === 'isapc') {
    return { machine: { name: ISAPC_CLASS.name, family, version: null }, version: parseMachineVersion(types.newest), warnings: [] };
  }
  let resolved: string;
  let version: string;
  if (config.machine.version === null) {
    version = types.newest;
    resolved = family === 'pc' ? `pc-i440fx-${version}` : `pc-q35-${version}`;
  } else {
    version = config.machine.version;
    const registered =
      family === 'q35'
        ? types.q35.includes(version) && name === `pc-q35-${version}`
        : (name === `pc-i440fx-${version}` && types.i440fx.includes(version)) ||
          (name === `pc-${version}` && types.legacyPc.includes(version));
    // vl.c select_machine(): the profile's message + hint (observed on 7.2.22, 10.0.13, 11.1).
    if (!registered) throw new QemuRefusal(`${profile.messages.unsupportedMachine(name, config.machine.typedAt)}\nUse -machine help to list supported machines`);
    resolved = name;
  }
  const warnings: string[] = [];
  if (types.deprecated.includes(resolved)) {
    warnings.push(`Machine type '${resolved}' is deprecated: ${types.deprecationReason}`);
  }
  return { machine: { name: resolved, family, version }, version: parseMachineVersion(version), warnings };
}
