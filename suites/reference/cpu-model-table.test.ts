// Every CPU model name each release lists has facts (reference/profiles/qemu.ts CPU_MODELS, by base name),
// and 32-bit models get phys-bits as each release's x86_cpu_realizefn gives them. Facts: QMP
// `query-cpu-model-expansion type=full` on the Debian builds of 5.2, 7.2, 10.0 and 11.1 (vendor, lm,
// pse36, pae, la57 of every listed name; each -vN and alias matched its base). Booted: suites/matrix/
// versions.yaml cpu-* cells; the 32-bit bound: -cpu qemu32 -m 1G,slots=1,maxmem=80G boots on 7.2 and is
// refused with "phys-bits too low (36)" on 10.0 and 11.1, -cpu pentium is refused with (32) there.
import { describe, expect, it } from 'vitest';
import { GiB } from '../../reference/address.ts';
import { CPU_MODELS, QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { cpuModelBase, qemuCpuModelNames } from '../../reference/profiles/qemu-cpu-models.ts';
import { resolveCpu } from '../../reference/qemu/cpu.ts';
import type { QemuVersion } from '../../reference/toolchain.ts';
import { machineConfig } from './machine-config-fixture.ts';

const RELEASES: QemuVersion[] = ['5.2', '7.2', '10.0', '11.1'];

describe('CPU model table', () => {
  it.each(RELEASES)('every name %s lists has a base model with facts', (q) => {
    const missing = [...qemuCpuModelNames(q)].filter((n) => n !== 'base' && !Object.hasOwn(CPU_MODELS, cpuModelBase(n)));
    expect(missing).toEqual([]);
  });

  it.each([
    ['GraniteRapids-v3', 'GenuineIntel', true],
    ['DiamondRapids', 'GenuineIntel', true],
    ['EPYC-Turin-v2', 'AuthenticAMD', true],
    ['SierraForest-v6', 'GenuineIntel', false],
    ['ClearwaterForest-v1', 'GenuineIntel', false],
    ['KnightsMill', 'GenuineIntel', false],
    ['YongFeng-v3', 'CentaurHauls', false],
  ] as const)('%s on 11.1: %s, la57 in the definition %s', (model, vendor, la57) => {
    const c = resolveCpu({ ...machineConfig('pc', GiB), cpu: { model, props: [] } }, QEMU_PROFILES['11.1'], undefined);
    expect(c.vendor).toBe(vendor);
    expect(c.la57).toBe(la57); // TCG has LA57 from 7.1 (tcgLa57)
  });

  it.each([
    ['7.2', 'qemu32', 32], ['7.2', 'coreduo', 32], ['7.2', 'n270', 32], ['7.2', 'pentium3', 36], ['7.2', 'pentium', 32],
    ['10.0', 'qemu32', 36], ['11.1', 'n270', 36], ['11.1', 'pentium', 32], ['11.1', '486', 32],
  ] as const)('%s -cpu %s: %i phys-bits (PSE36, or from 8.2 PAE)', (q, model, bits) => {
    const c = resolveCpu({ ...machineConfig('pc', GiB), cpu: { model, props: [] } }, QEMU_PROFILES[q], undefined);
    expect(c.physBits).toBe(bits);
  });
});
