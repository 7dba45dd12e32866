// The CPU model names each QEMU release defines (target/i386/cpu.c builtin_x86_defs, their
// versions `-vN` and the aliases x86_cpu_register_versioned: `-IBRS`, `-noTSX`, …), as data: what
// `-cpu help` lists on the Debian builds 5.2+dfsg-11, 7.2+dfsg-7, 10.0.13 and 11.1.3. A name
// the release lacks is refused (`unable to find CPU model '…'`, vl.c parse_cpu_option).

import type { QemuVersion } from '../toolchain.ts';

/** Defined by every modelled release. */
const COMMON = [
  '486', '486-v1', 'Broadwell', 'Broadwell-IBRS', 'Broadwell-noTSX', 'Broadwell-noTSX-IBRS', 'Broadwell-v1',
  'Broadwell-v2', 'Broadwell-v3', 'Broadwell-v4', 'Cascadelake-Server', 'Cascadelake-Server-noTSX',
  'Cascadelake-Server-v1', 'Cascadelake-Server-v2', 'Cascadelake-Server-v3', 'Cascadelake-Server-v4',
  'Conroe', 'Conroe-v1', 'Cooperlake', 'Cooperlake-v1', 'Denverton', 'Denverton-v1', 'Denverton-v2',
  'Dhyana', 'Dhyana-v1', 'EPYC', 'EPYC-IBPB', 'EPYC-Rome', 'EPYC-Rome-v1', 'EPYC-v1', 'EPYC-v2', 'EPYC-v3',
  'Haswell', 'Haswell-IBRS', 'Haswell-noTSX', 'Haswell-noTSX-IBRS', 'Haswell-v1', 'Haswell-v2', 'Haswell-v3',
  'Haswell-v4', 'Icelake-Server', 'Icelake-Server-noTSX', 'Icelake-Server-v1', 'Icelake-Server-v2',
  'Icelake-Server-v3', 'Icelake-Server-v4', 'IvyBridge', 'IvyBridge-IBRS', 'IvyBridge-v1', 'IvyBridge-v2',
  'KnightsMill', 'KnightsMill-v1', 'Nehalem', 'Nehalem-IBRS', 'Nehalem-v1', 'Nehalem-v2', 'Opteron_G1',
  'Opteron_G1-v1', 'Opteron_G2', 'Opteron_G2-v1', 'Opteron_G3', 'Opteron_G3-v1', 'Opteron_G4',
  'Opteron_G4-v1', 'Opteron_G5', 'Opteron_G5-v1', 'Penryn', 'Penryn-v1', 'SandyBridge', 'SandyBridge-IBRS',
  'SandyBridge-v1', 'SandyBridge-v2', 'Skylake-Client', 'Skylake-Client-IBRS', 'Skylake-Client-noTSX-IBRS',
  'Skylake-Client-v1', 'Skylake-Client-v2', 'Skylake-Client-v3', 'Skylake-Server', 'Skylake-Server-IBRS',
  'Skylake-Server-noTSX-IBRS', 'Skylake-Server-v1', 'Skylake-Server-v2', 'Skylake-Server-v3',
  'Skylake-Server-v4', 'Snowridge', 'Snowridge-v1', 'Snowridge-v2', 'Westmere', 'Westmere-IBRS',
  'Westmere-v1', 'Westmere-v2', 'athlon', 'athlon-v1', 'base', 'core2duo', 'core2duo-v1', 'coreduo',
  'coreduo-v1', 'host', 'kvm32', 'kvm32-v1', 'kvm64', 'kvm64-v1', 'max', 'n270', 'n270-v1', 'pentium',
  'pentium-v1', 'pentium2', 'pentium2-v1', 'pentium3', 'pentium3-v1', 'phenom', 'phenom-v1', 'qemu32',
  'qemu32-v1', 'qemu64', 'qemu64-v1',
] as const;

/** What each release defines besides COMMON. */
const RELEASE: Readonly<Record<QemuVersion, readonly string[]>> = {
  '5.2': [
  'Icelake-Client', 'Icelake-Client-noTSX', 'Icelake-Client-v1', 'Icelake-Client-v2',
  ],
  '7.2': [
  'Cascadelake-Server-v5', 'Cooperlake-v2', 'Denverton-v3', 'Dhyana-v2', 'EPYC-Milan', 'EPYC-Milan-v1',
  'EPYC-Rome-v2', 'Icelake-Server-v5', 'Icelake-Server-v6', 'Skylake-Client-v4', 'Skylake-Server-v5',
  'Snowridge-v3', 'Snowridge-v4',
  ],
  '10.0': [
  'Cascadelake-Server-v5', 'ClearwaterForest', 'ClearwaterForest-v1', 'Cooperlake-v2', 'Denverton-v3',
  'Dhyana-v2', 'EPYC-Genoa', 'EPYC-Genoa-v1', 'EPYC-Milan', 'EPYC-Milan-v1', 'EPYC-Milan-v2', 'EPYC-Rome-v2',
  'EPYC-Rome-v3', 'EPYC-Rome-v4', 'EPYC-v4', 'GraniteRapids', 'GraniteRapids-v1', 'GraniteRapids-v2',
  'Icelake-Server-v5', 'Icelake-Server-v6', 'Icelake-Server-v7', 'SapphireRapids', 'SapphireRapids-v1',
  'SapphireRapids-v2', 'SapphireRapids-v3', 'SierraForest', 'SierraForest-v1', 'SierraForest-v2',
  'Skylake-Client-v4', 'Skylake-Server-v5', 'Snowridge-v3', 'Snowridge-v4', 'YongFeng', 'YongFeng-v1',
  'YongFeng-v2',
  ],
  '11.1': [
  'Cascadelake-Server-v5', 'Cascadelake-Server-v6', 'Cascadelake-Server-v7', 'ClearwaterForest',
  'ClearwaterForest-v1', 'ClearwaterForest-v2', 'ClearwaterForest-v3', 'ClearwaterForest-v4',
  'Cooperlake-v2', 'Denverton-v3', 'Dhyana-v2', 'DiamondRapids', 'DiamondRapids-v1', 'DiamondRapids-v2',
  'EPYC-Genoa', 'EPYC-Genoa-v1', 'EPYC-Genoa-v2', 'EPYC-Genoa-v3', 'EPYC-Milan', 'EPYC-Milan-v1',
  'EPYC-Milan-v2', 'EPYC-Milan-v3', 'EPYC-Milan-v4', 'EPYC-Rome-v2', 'EPYC-Rome-v3', 'EPYC-Rome-v4',
  'EPYC-Rome-v5', 'EPYC-Turin', 'EPYC-Turin-v1', 'EPYC-Turin-v2', 'EPYC-v4', 'EPYC-v5', 'GraniteRapids',
  'GraniteRapids-v1', 'GraniteRapids-v2', 'GraniteRapids-v3', 'GraniteRapids-v4', 'GraniteRapids-v5',
  'GraniteRapids-v6', 'GraniteRapids-v7', 'Icelake-Server-v5', 'Icelake-Server-v6', 'Icelake-Server-v7',
  'Icelake-Server-v8', 'Icelake-Server-v9', 'SapphireRapids', 'SapphireRapids-v1', 'SapphireRapids-v2',
  'SapphireRapids-v3', 'SapphireRapids-v4', 'SapphireRapids-v5', 'SapphireRapids-v6', 'SapphireRapids-v7',
  'SapphireRapids-v8', 'SierraForest', 'SierraForest-v1', 'SierraForest-v2', 'SierraForest-v3',
  'SierraForest-v4', 'SierraForest-v5', 'SierraForest-v6', 'Skylake-Client-v4', 'Skylake-Server-v5',
  'Skylake-Server-v6', 'Snowridge-v3', 'Snowridge-v4', 'YongFeng', 'YongFeng-v1', 'YongFeng-v2',
  'YongFeng-v3',
  ],
};

const NAMES = new Map<QemuVersion, ReadonlySet<string>>();

/** The CPU model names `-cpu` takes on this release. */
export function qemuCpuModelNames(qemu: QemuVersion): ReadonlySet<string> {
  let names = NAMES.get(qemu);
  if (names === undefined) {
    names = new Set([...COMMON, ...RELEASE[qemu]]);
    NAMES.set(qemu, names);
  }
  return names;
}

/**
 * The model a version or alias name stands for (`Skylake-Client-IBRS`, `Haswell-noTSX-IBRS`,
 * `EPYC-Rome-v2` → `Skylake-Client`, `Haswell`, `EPYC-Rome`): versions and aliases keep the base
 * model's vendor, long mode and LA57 and change only features the memory map does not read.
 */
export function cpuModelBase(name: string): string {
  // Every suffix below starts with `-`: most names asked (qemu64, max, host) have none.
  if (!name.includes('-')) return name;
  return name.replace(/-v\d+$/, '').replace(/(-noTSX)?(-IBRS|-IBPB)?$/, '').replace(/-noTSX$/, '');
}
