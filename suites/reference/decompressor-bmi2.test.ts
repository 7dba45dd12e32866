// Issue 14 rule 3: QEMU 5.2's TCG rejects VEX-encoded BMI2 instructions, and the zstd
// decompressor of Linux 6.12/7.2 uses them when CPUID shows BMI1 and BMI2, so such guests reset
// before the kernel prints anything. Booted: suites/harness/decompressor-reset-real.test.ts.
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { cpuModelBase, qemuCpuModelNames } from '../../reference/profiles/qemu-cpu-models.ts';
import { CPU_MODELS_WITH_BMI1_BMI2 } from '../../reference/profiles/qemu.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import { toolchainOf } from '../../reference/toolchain.ts';

const resets = (qemu: string, kernel: string, cpu: string): boolean => {
  const toolchain = toolchainOf({ qemu, seabios: qemu === '5.2' ? '1.14.0' : '1.16.2', kernel });
  const p = predict(parseQemuArgs(['-M', 'pc', '-m', '1G', '-cpu', cpu], { qemuVersion: toolchain.qemu }), toolchain);
  return p.report.kernel === undefined && p.unpredicted.some((u) => u.includes('BMI2'));
};

describe('TCG BMI2 and the zstd decompressor', () => {
  it('5.2 + 6.12: both features reset, either one missing starts', () => {
    expect(resets('5.2', '6.12', 'Haswell')).toBe(true);
    expect(resets('5.2', '6.12', 'EPYC-IBPB')).toBe(true);
    expect(resets('5.2', '6.12', 'qemu64,+bmi1,+bmi2')).toBe(true);
    expect(resets('5.2', '6.12', 'Haswell,-bmi1')).toBe(false);
    expect(resets('5.2', '6.12', 'Haswell,bmi2=off')).toBe(false);
    expect(resets('5.2', '6.12', 'qemu64,+bmi2')).toBe(false);
    expect(resets('5.2', '6.12', 'IvyBridge')).toBe(false);
  });

  it('only 5.2, and only the zstd kernels', () => {
    expect(resets('5.2', '7.2', 'Skylake-Client')).toBe(true);
    expect(resets('5.2', '6.1', 'Haswell')).toBe(false);
    expect(resets('5.2', '5.10', 'Haswell')).toBe(false);
    expect(resets('7.2', '6.12', 'Haswell')).toBe(false);
  });

  it('every 5.2 CPU model: the kernel never starts exactly when its definition has BMI1 and BMI2', () => {
    const names = [...qemuCpuModelNames('5.2')].filter((n) => !['host', 'base'].includes(n) && !/^(486|pentium|athlon|coreduo|n270|qemu32|kvm32)/.test(n));
    for (const name of names) {
      let claim: boolean;
      try {
        claim = resets('5.2', '6.12', name);
      } catch (err) {
        if (err instanceof UnsupportedOptionError) continue; // the model speaks for no outcome there
        throw err;
      }
      expect([name, claim]).toEqual([name, CPU_MODELS_WITH_BMI1_BMI2.has(cpuModelBase(name))]);
    }
  });

  it('a feature both turned on and off is not modelled (-f beats +f whatever the order)', () => {
    expect(() => resets('5.2', '6.12', 'Haswell,-bmi2,bmi2=on')).toThrow(UnsupportedOptionError);
  });
});
