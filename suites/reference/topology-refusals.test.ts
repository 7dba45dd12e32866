// Topology, phys-bits and CPUID 0x1F findings of the randomized explorer (M13, M15, M16, M20; docs/model/explore-findings.md), each
// checked against the QEMU binaries of the toolchains (5.2.0 Debian bullseye, 7.2, 10.0.13, 11.1.3)
// and with `npx e820 check` (see suites/matrix/versions.yaml, the `topo-` and `pb` cells).

import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { resolveTopology } from '../../reference/qemu/index.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import { type QemuVersion, type Toolchain } from '../../reference/toolchain.ts';
import { qemuRefusalOf, stageOf } from './qemu-stage-outcomes.ts';

const config = (args: string, qemu: QemuVersion) => parseQemuArgs(args.split(' '), { qemuVersion: qemu });
const stage = stageOf;
const refusal = qemuRefusalOf;


describe('M13: 10.0 and 11.1 print the modules level (hw/core/machine-smp.c cpu_hierarchy_to_string)', () => {
  it.each(['10.0', '11.1'] as const)('maxcpus below cpus (QEMU %s)', (qemu) => {
    expect(refusal('-M pc -m 1G -smp 4,maxcpus=2', qemu)).toBe(
      'Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * modules (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)',
    );
  });

  it.each(['10.0', '11.1'] as const)('product of the hierarchy (QEMU %s)', (qemu) => {
    expect(refusal('-M pc -m 1G -smp cpus=4,sockets=2,cores=1,threads=1', qemu)).toBe(
      'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * dies (1) * modules (1) * cores (1) * threads (1) != maxcpus (4)',
    );
  });

  it('7.2 keeps sockets * dies * cores * threads', () => {
    expect(refusal('-M pc -m 1G -smp 4,maxcpus=2', '7.2')).toBe(
      'Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)',
    );
  });
});

describe('M16: 5.2 parses -smp with hw/i386/pc.c pc_smp_parse()', () => {
  it('its own wording, in its order (observed on 5.2)', () => {
    expect(refusal('-M pc -m 1G -smp 4,maxcpus=2', '5.2')).toBe('maxcpus must be equal to or greater than smp');
    expect(refusal('-M pc -m 1G -smp 3,sockets=2,cores=2,maxcpus=8', '5.2')).toBe(
      'Invalid CPU topology deprecated: sockets (2) * dies (1) * cores (2) * threads (1) != maxcpus (8)',
    );
    expect(refusal('-M pc -m 1G -smp cpus=4,sockets=2,cores=1,threads=1', '5.2')).toBe(
      'cpu topology: sockets (2) * dies (1) * cores (1) * threads (1) < smp_cpus (4)',
    );
    // cpus is the product when not given, never maxcpus; threads come from cpus, not maxcpus.
    expect(refusal('-M pc -m 1G -smp maxcpus=4', '5.2')).toBe(
      'Invalid CPU topology deprecated: sockets (1) * dies (1) * cores (1) * threads (1) != maxcpus (4)',
    );
    expect(refusal('-M pc -m 1G -smp 2,sockets=2,cores=2,maxcpus=8', '5.2')).toBe(
      'Invalid CPU topology deprecated: sockets (2) * dies (1) * cores (2) * threads (1) != maxcpus (8)',
    );
  });

  it('resolves what the newer parser resolves for ordinary command lines', () => {
    const p = QEMU_PROFILES['5.2'];
    expect(resolveTopology(config('-M pc -smp 4,sockets=2', '5.2'), [5, 2], p)).toEqual({ cpus: 4, sockets: 2, dies: 1, cores: 2, threads: 1, maxcpus: 4 });
    expect(resolveTopology(config('-M pc -smp 4,cores=2,threads=2', '5.2'), [5, 2], p)).toEqual({ cpus: 4, sockets: 1, dies: 1, cores: 2, threads: 2, maxcpus: 4 });
    expect(resolveTopology(config('-M pc -smp 1,maxcpus=8,sockets=8', '5.2'), [5, 2], p)).toEqual({ cpus: 1, sockets: 8, dies: 1, cores: 1, threads: 1, maxcpus: 8 });
    expect(resolveTopology(config('-M pc -smp 4', '5.2'), [5, 2], p)).toEqual({ cpus: 4, sockets: 4, dies: 1, cores: 1, threads: 1, maxcpus: 4 });
  });
});

describe('M15: 11.1 checks only the lower phys-bits bound (target/i386/cpu.c x86_cpu_realizefn)', () => {
  it('31 is refused with the 11.x wording; 10.0 keeps the range wording', () => {
    expect(refusal('-M pc -m 1G -cpu max,phys-bits=31', '11.1')).toBe('phys-bits should be at least 32 (but is 31)');
    expect(refusal('-M pc -m 1G -cpu max,phys-bits=31', '10.0')).toBe('phys-bits should be between 32 and 52  (but is 31)');
    expect(refusal('-M pc -m 1G -cpu qemu64,phys-bits=53', '10.0')).toBe('phys-bits should be between 32 and 52  (but is 53)');
  });

  it('53 boots on 11.1 with 53 bits (the AMD HT reservation follows, as for ≥ 40)', () => {
    const h = stage('-M pc -m 1G -cpu qemu64,phys-bits=53', '11.1');
    expect(h.platform.physBits).toBe(53);
    expect(h.e820?.some((e) => e.start === 0xfd00000000n)).toBe(true);
  });

  it('wider than 53 is not modelled on 11.1', () => {
    expect(() => stage('-M pc -m 1G -cpu qemu64,phys-bits=60', '11.1')).toThrow(UnsupportedOptionError);
  });
});

describe('M20: dies > 1 with a GenuineIntel guest CPU aborts QEMU 10.0 / 11.1 (encode_topo_cpuid1f)', () => {
  const TOOLCHAIN_OF: Record<QemuVersion, Toolchain> = {
    '5.2': { qemu: '5.2', seabios: '1.14.0', kernel: '5.10' },
    '7.2': { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
    '10.0': { qemu: '10.0', seabios: '1.16.3', kernel: '6.12' },
    '11.1': { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' },
  };
  const tc = (qemu: QemuVersion) => TOOLCHAIN_OF[qemu];
  const run = (args: string, qemu: QemuVersion) => predict(config(args, qemu), tc(qemu));

  it.each([
    ['10.0', 'Skylake-Server'],
    ['10.0', 'Cascadelake-Server'],
    ['10.0', 'kvm64'],
    ['10.0', 'qemu64,vendor=GenuineIntel'],
    ['11.1', 'Skylake-Server'],
  ] as const)('QEMU %s -cpu %s: refused as not modelled', (qemu, cpu) => {
    expect(() => run(`-M pc -m 1G -smp 2,dies=2 -cpu ${cpu}`, qemu)).toThrow(/encode_topo_cpuid1f/);
  });

  it.each([
    ['10.0', 'EPYC'],
    ['10.0', 'max'],
    ['10.0', 'Skylake-Server,vendor=AuthenticAMD'],
    ['10.0', 'SapphireRapids'],
    ['11.1', 'EPYC'],
    ['7.2', 'Skylake-Server'],
  ] as const)('QEMU %s -cpu %s: predicted (it boots)', (qemu, cpu) => {
    expect(() => run(`-M pc -m 1G -smp 2,dies=2 -cpu ${cpu}`, qemu)).not.toThrow();
  });

  it('one die is fine', () => {
    expect(() => run('-M pc -m 1G -smp 2 -cpu Skylake-Server', '10.0')).not.toThrow();
  });
});
