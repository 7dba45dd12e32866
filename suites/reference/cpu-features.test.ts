// CPU facts that reach the kernel's view: which models a QEMU release defines (vl.c
// parse_cpu_option: `unable to find CPU model '%s'`), LA57 → 5-level paging → max_arch_pfn
// (arch/x86/include/asm/sparsemem.h MAX_PHYSMEM_BITS), and CPUs on which the guest kernel never
// starts (TCG `max` without full-cpuid-auto-level; RAM beyond phys-bits). Every example below was
// booted with `npx e820 check` on the toolchain it names (docs/model/explore-findings.md#m1, #m4, #m10).

import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { resolveCpu, type HostFacts } from '../../reference/qemu/index.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import { toolchainOf } from '../../reference/toolchain.ts';

type Q = '5.2' | '7.2' | '10.0' | '11.1';
const TOOLCHAIN: Record<Q, { qemu: string; seabios: string; kernel: string }> = {
  '5.2': { qemu: '5.2', seabios: '1.14.0', kernel: '5.10' },
  '7.2': { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
  '10.0': { qemu: '10.0', seabios: '1.16.3', kernel: '6.12' },
  '11.1': { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' },
};

function run(argv: string[], q: Q = '7.2', host?: HostFacts) {
  return predict(parseQemuArgs(argv, { qemuVersion: q }), toolchainOf(TOOLCHAIN[q]), host ? { host } : {});
}
const maxArchPfn = (argv: string[], q: Q = '7.2') =>
  run(argv, q).kernel?.e820Edits?.find((l) => l.startsWith('last_pfn ='))?.replace(/.*max_arch_pfn = /, '');
const cpu = (arg: string, q: Q = '7.2', accel = 'tcg', host?: HostFacts) =>
  resolveCpu(parseQemuArgs(['-M', 'pc', '-accel', accel, '-cpu', arg], { qemuVersion: q }), QEMU_PROFILES[q], host);

describe('CPU models per QEMU release', () => {
  it('models a release does not define are refused as QEMU words it', () => {
    for (const [q, models] of [
      ['5.2', ['EPYC-Milan', 'SapphireRapids', 'EPYC-Genoa']],
      ['7.2', ['SapphireRapids', 'EPYC-Genoa']],
    ] as const) {
      for (const m of models) {
        expect(() => run(['-M', 'pc', '-m', '1G', '-cpu', m], q)).toThrow(new QemuRefusal(`unable to find CPU model '${m}'`));
      }
    }
    expect(run(['-M', 'pc', '-m', '1G', '-cpu', 'EPYC-Milan'], '7.2').kernelStarts).toBe(true);
    for (const q of ['10.0', '11.1'] as const) expect(run(['-M', 'pc', '-m', '1G', '-cpu', 'EPYC-Genoa'], q).kernelStarts).toBe(true);
  });
});

describe('LA57: 5-level paging and max_arch_pfn', () => {
  const FOUR = '0x400000000';
  const FIVE = '0x10000000000';

  it('TCG gives LA57 to max and the models that define it from 7.2 on; 5.2 TCG has none', () => {
    expect(maxArchPfn(['-M', 'pc', '-m', '1G'])).toBe(FOUR);
    for (const q of ['7.2', '10.0', '11.1'] as const) {
      expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'max'], q)).toBe(FIVE);
      expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'Icelake-Server'], q)).toBe(FIVE);
      expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'Cascadelake-Server'], q)).toBe(FOUR);
    }
    for (const q of ['10.0', '11.1'] as const) {
      expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'SapphireRapids'], q)).toBe(FIVE);
      expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'EPYC-Genoa'], q)).toBe(FIVE);
    }
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'max'], '5.2')).toBe(FOUR);
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'Icelake-Server'], '5.2')).toBe(FOUR);
  });

  it('la57 flags on the -cpu option; conflicting ones are refused, not guessed', () => {
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'qemu64,+la57'])).toBe(FIVE);
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'Icelake-Server,-la57'])).toBe(FOUR);
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'max,la57=off'])).toBe(FOUR);
    expect(cpu('qemu64,+la57', '5.2').la57).toBe(false);
    expect(cpu('max,level=6').la57).toBe(false);
    expect(() => cpu('max,-la57,+la57')).toThrow(UnsupportedOptionError);
  });

  it('Debian 5.10 has no 5-level paging: 4-level even on QEMU 7.2 max', () => {
    const p = predict(parseQemuArgs(['-M', 'pc', '-m', '1G', '-cpu', 'max']), toolchainOf({ qemu: '7.2', seabios: '1.16.2', kernel: '5.10' }));
    expect(p.kernel!.e820Edits!.find((l) => l.startsWith('last_pfn ='))).toContain(`max_arch_pfn = ${FOUR}`);
  });

  it('`no5lvl` on the kernel command line keeps 4-level paging', () => {
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'max', '-append', 'no5lvl'])).toBe(FOUR);
    expect(maxArchPfn(['-M', 'pc', '-m', '1G', '-cpu', 'max', '-append', 'no5lvl=1'])).toBe(FIVE);
  });

  it('the cap and both last_pfn lines use the 5-level MAX_ARCH_PFN', () => {
    const lines = run(['-M', 'pc', '-m', '6G', '-cpu', 'max']).kernel!.e820Edits!.filter((l) => l.startsWith('last_pfn ='));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toContain(`max_arch_pfn = ${FIVE}`);
  });

  it('under KVM the host decides; an unknown host LA57 is refused only where the guest asks for it', () => {
    const amd = { cpuVendor: 'AuthenticAMD', physBits: 48 } as const;
    expect(cpu('host', '7.2', 'kvm', { ...amd, la57: true }).la57).toBe(true);
    expect(cpu('max', '7.2', 'kvm', { ...amd, la57: false }).la57).toBe(false);
    expect(cpu('Icelake-Server', '7.2', 'kvm', { ...amd, la57: true }).la57).toBe(true);
    expect(cpu('Icelake-Server,-la57', '7.2', 'kvm', { ...amd, la57: true }).la57).toBe(false);
    expect(cpu('qemu64', '7.2', 'kvm', amd).la57).toBe(false);
    expect(() => cpu('host', '7.2', 'kvm', amd)).toThrow(/LA57/);
  });
});

describe('configurations whose guest kernel never starts', () => {
  it('TCG max with full-cpuid-auto-level=off (PC_COMPAT_2_7) reports no extended leaves', () => {
    for (const q of ['7.2', '10.0'] as const) {
      const p = run(['-M', 'pc-i440fx-2.7', '-m', '1G', '-cpu', 'max'], q);
      expect(p.kernelStarts).toBe(false);
      expect(p.unpredicted[0]).toMatch(/full-cpuid-auto-level=off/);
      expect(p.report.kernel).toBeUndefined();
    }
    expect(run(['-M', 'pc-i440fx-2.8', '-m', '1G', '-cpu', 'max']).kernelStarts).toBe(true);
    expect(run(['-M', 'pc', '-m', '1G', '-cpu', 'max,full-cpuid-auto-level=off']).kernelStarts).toBe(false);
    expect(run(['-M', 'pc-i440fx-2.7', '-m', '1G', '-cpu', 'max,full-cpuid-auto-level=on']).kernelStarts).toBe(true);
    expect(run(['-M', 'pc-i440fx-2.7', '-m', '1G', '-cpu', 'qemu64']).kernelStarts).toBe(true);
    // With xlevel given the guest sees LM, and leaf 7 (LA57) too: booted 5-level on 7.2.
    const x = run(['-M', 'pc', '-m', '1G', '-cpu', 'max,full-cpuid-auto-level=off,xlevel=0x80000008']);
    expect(x.kernelStarts).toBe(true);
    expect(x.handoff.platform.la57).toBe(true);
  });

  it('Opteron_G4/G5 under TCG ≥ 7.2 hang before init for a cause not modelled: refused, not guessed', () => {
    for (const q of ['7.2', '10.0', '11.1'] as const) {
      for (const m of ['Opteron_G4', 'Opteron_G5']) expect(() => run(['-M', 'pc', '-m', '1G', '-cpu', m], q)).toThrow(UnsupportedOptionError);
    }
    expect(run(['-M', 'pc', '-m', '1G', '-cpu', 'Opteron_G4'], '5.2').kernelStarts).toBe(true);
    expect(run(['-M', 'pc', '-m', '1G', '-cpu', 'Opteron_G3']).kernelStarts).toBe(true);
  });

  it('RAM beyond the guest CPU phys-bits (7.2 accepts phys-bits=32 with RAM above 4 GiB)', () => {
    const p = run(['-M', 'q35', '-m', '3G', '-cpu', 'qemu64,phys-bits=32']);
    expect(p.kernelStarts).toBe(false);
    expect(p.unpredicted[0]).toMatch(/32 physical address bits/);
    expect(run(['-M', 'pc', '-m', '3G', '-cpu', 'qemu64,phys-bits=32']).kernelStarts).toBe(true);
  });
});
