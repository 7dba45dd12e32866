// resolveCpu under KVM: the guest CPU's vendor and phys-bits as QEMU sets them (target/i386/
// host-cpu.c host_cpu_instance_init / host_cpu_max_instance_init / host_cpu_adjust_phys_bits and
// cpu.c x86_cpu_realizefn, v7.2.0 and v10.0.13; 5.2.0: x86_cpu_load_model / max_x86_cpu_initfn),
// each example also booted under KVM on an AMD host with 48 physical address bits
// (suites/matrix/kvm.yaml).

import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { resolveCpu, type HostFacts } from '../../reference/qemu/index.ts';
import { QemuRefusal } from '../../reference/stages.ts';

const AMD48: HostFacts = { cpuVendor: 'AuthenticAMD', physBits: 48, la57: false };
const INTEL46: HostFacts = { cpuVendor: 'GenuineIntel', physBits: 46, la57: false };

function cpu(cpuArg: string | null, host: HostFacts = AMD48, qemu: '5.2' | '7.2' | '10.0' | '11.1' = '7.2', accel = 'kvm') {
  const argv = ['-M', 'pc', '-m', '1G', '-accel', accel, ...(cpuArg !== null ? ['-cpu', cpuArg] : [])];
  return resolveCpu(parseQemuArgs(argv, { qemuVersion: qemu }), QEMU_PROFILES[qemu], host);
}

describe('resolveCpu under KVM', () => {
  it('every named model takes the host vendor; vendor= overrides it', () => {
    expect(cpu(null)).toMatchObject({ model: 'qemu64', vendor: 'AuthenticAMD', physBits: 40 });
    expect(cpu('qemu64', INTEL46)).toMatchObject({ vendor: 'GenuineIntel', physBits: 40 });
    expect(cpu('Skylake-Client').vendor).toBe('AuthenticAMD');
    expect(cpu('EPYC', INTEL46).vendor).toBe('GenuineIntel');
    expect(cpu('Skylake-Client,vendor=GenuineIntel').vendor).toBe('GenuineIntel');
    expect(cpu('kvm64', AMD48, '5.2').vendor).toBe('AuthenticAMD');
  });

  it('host and max: host vendor, host phys-bits since 6.0 (5.2: the default 40)', () => {
    for (const q of ['7.2', '10.0', '11.1'] as const) {
      expect(cpu('host', AMD48, q)).toMatchObject({ vendor: 'AuthenticAMD', physBits: 48 });
      expect(cpu('max', INTEL46, q)).toMatchObject({ vendor: 'GenuineIntel', physBits: 46 });
    }
    expect(cpu('host', AMD48, '5.2')).toMatchObject({ vendor: 'AuthenticAMD', physBits: 40 });
    expect(cpu('host,host-phys-bits=on', AMD48, '5.2').physBits).toBe(48);
  });

  it('host-phys-bits-limit caps the host width; the result is range-checked', () => {
    expect(cpu('host,host-phys-bits-limit=39').physBits).toBe(39);
    expect(cpu('host,host-phys-bits-limit=52').physBits).toBe(48);
    expect(cpu('host,host-phys-bits-limit=0').physBits).toBe(48);
    expect(cpu('qemu64,host-phys-bits=on,host-phys-bits-limit=0x27').physBits).toBe(39);
    expect(cpu('qemu64,host-phys-bits-limit=39').physBits).toBe(40); // the limit alone does nothing
    expect(cpu('host,host-phys-bits-limit=39', AMD48, '5.2').physBits).toBe(40);
    expect(() => cpu('host,host-phys-bits-limit=31')).toThrow(new QemuRefusal('phys-bits should be between 32 and 52  (but is 31)'));
  });

  it('host-phys-bits wins over phys-bits=; with it off, phys-bits= counts (any width 32..52 under KVM)', () => {
    expect(cpu('qemu64,host-phys-bits=on,phys-bits=39').physBits).toBe(48);
    expect(cpu('host,host-phys-bits=off,phys-bits=39').physBits).toBe(39);
    expect(cpu('qemu64,phys-bits=42', AMD48, '5.2').physBits).toBe(42); // 5.2's "TCG only supports 40" is TCG's
    expect(() => cpu('qemu64,phys-bits=53')).toThrow(/phys-bits should be between 32 and 52 {2}\(but is 53\)/);
  });

  it('under TCG the host is never consulted', () => {
    expect(cpu('qemu64,host-phys-bits=on', INTEL46, '7.2', 'tcg')).toMatchObject({ vendor: 'AuthenticAMD', physBits: 40 });
    expect(() => cpu('host', AMD48, '7.2', 'tcg')).toThrow(/CPU model 'host' requires KVM or HVF/);
  });
});
