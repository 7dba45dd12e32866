// harness/host-facts.ts: /proc/cpuinfo → the model's HostFacts, overrides, and errors that say
// what to do. The cpuinfo text is the first block of this machine's (AMD EPYC guest, nested KVM)
// plus an Intel bare-metal variant written in the same format.

import { describe, expect, it } from 'vitest';
import {
  describeHostFacts,
  HostFactsError,
  parseCpuinfo,
  parsePhysBits,
  parseVendor,
  resolveHostFacts,
  type HostFactsSources,
} from '../../harness/host-facts.ts';

const AMD_GUEST = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm rep_good nopl cpuid hypervisor lahf_lm
bugs\t\t: sysret_ss_attrs
bogomips\t: 4890.80
address sizes\t: 48 bits physical, 48 bits virtual
power management:

processor\t: 1
vendor_id\t: GenuineIntel
address sizes\t: 39 bits physical, 48 bits virtual
`;

const INTEL_METAL = AMD_GUEST.replace('AuthenticAMD', 'GenuineIntel').replace(' hypervisor', '').replace('48 bits physical', '46 bits physical');

const sources = (cpuinfo: string | Error, cpuid: number | null = null): HostFactsSources => ({
  readCpuinfo: () => {
    if (cpuinfo instanceof Error) throw cpuinfo;
    return cpuinfo;
  },
  cpuidPhysBits: () => cpuid,
});

describe('parseCpuinfo', () => {
  it('reads vendor, address sizes and the hypervisor flag of the first processor only', () => {
    expect(parseCpuinfo(AMD_GUEST)).toEqual({ vendor: { value: 'AuthenticAMD', line: 2 }, physBits: { value: 48, line: 10 }, hypervisor: true, la57: false });
    expect(parseCpuinfo(INTEL_METAL)).toMatchObject({ vendor: { value: 'GenuineIntel' }, physBits: { value: 46 }, hypervisor: false });
  });

  it('absent fields are null; a malformed one is an error naming its line', () => {
    expect(parseCpuinfo('processor\t: 0\n')).toEqual({ vendor: null, physBits: null, hypervisor: null, la57: null });
    expect(() => parseCpuinfo('vendor_id\t: AuthenticAMD\naddress sizes\t: lots\n')).toThrow(/\/proc\/cpuinfo line 2: cannot read "address sizes\t: lots"/);
  });
});

describe('overrides', () => {
  it('vendors by full or short name, any case; phys-bits 32..52', () => {
    expect(parseVendor('amd')).toBe('AuthenticAMD');
    expect(parseVendor('GenuineIntel')).toBe('GenuineIntel');
    expect(parseVendor('HYGON')).toBe('HygonGenuine');
    expect(() => parseVendor('CentaurHauls')).toThrow(HostFactsError);
    expect(parsePhysBits('46')).toBe(46);
    for (const bad of ['31', '53', '4x', '', '40.5']) expect(() => parsePhysBits(bad), bad).toThrow(/--host-phys-bits .*expected a whole number .* 32 to 52/);
  });
});

describe('resolveHostFacts', () => {
  it('from /proc/cpuinfo, saying where each fact came from', () => {
    const r = resolveHostFacts({}, sources(AMD_GUEST));
    expect(r.facts).toEqual({ cpuVendor: 'AuthenticAMD', physBits: 48, la57: false });
    expect(r.nested).toBe(true);
    expect(describeHostFacts(r)).toBe('AuthenticAMD, 48 physical address bits (vendor: /proc/cpuinfo line 2; phys-bits: /proc/cpuinfo line 10)');
  });

  it('CPUID (what QEMU reads) wins over a smaller /proc/cpuinfo value, with a note', () => {
    const r = resolveHostFacts({}, sources(AMD_GUEST.replace('48 bits physical', '43 bits physical'), 48));
    expect(r.facts.physBits).toBe(48);
    expect(r.sources.physBits).toMatch(/\/dev\/cpu\/0\/cpuid/);
    expect(r.notes[0]).toMatch(/says 43 .* CPUID says 48/);
  });

  it('overrides replace what they name; both given, nothing is read', () => {
    expect(resolveHostFacts({ physBits: '40' }, sources(AMD_GUEST)).facts).toEqual({ cpuVendor: 'AuthenticAMD', physBits: 40, la57: false });
    expect(resolveHostFacts({ vendor: 'intel' }, sources(AMD_GUEST)).facts).toEqual({ cpuVendor: 'GenuineIntel', physBits: 48, la57: false });
    const r = resolveHostFacts({ vendor: 'intel', physBits: 46 }, sources(new Error('EACCES')));
    expect(r.facts).toEqual({ cpuVendor: 'GenuineIntel', physBits: 46 });
    expect(r.sources).toEqual({ vendor: '--host-vendor', physBits: '--host-phys-bits' });
  });

  it('clear errors when the machine cannot tell, each saying what to do', () => {
    const unreadable = () => resolveHostFacts({}, sources(new Error('ENOENT: no such file')));
    expect(unreadable).toThrow(HostFactsError);
    expect(unreadable).toThrow(/cannot read \/proc\/cpuinfo .*ENOENT[\s\S]*what to do: pass --host-vendor and --host-phys-bits/);
    expect(() => resolveHostFacts({}, sources('processor\t: 0\naddress sizes\t: 40 bits physical, 48 bits virtual\n'))).toThrow(/no vendor_id line/);
    expect(() => resolveHostFacts({}, sources('vendor_id\t: AuthenticAMD\n'))).toThrow(/no "address sizes" line and \/dev\/cpu\/0\/cpuid cannot be read/);
    expect(() => resolveHostFacts({}, sources('vendor_id\t: CentaurHauls\naddress sizes\t: 40 bits physical\n'))).toThrow(/line 1: vendor_id "CentaurHauls": not a CPU vendor the model knows/);
  });
});
