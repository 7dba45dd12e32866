// QEMU 5.2 words two refusals differently from 7.2+ (found by `e820 explore --seed 141401 --count 100
// --toolchain bullseye`, cells 017 and 087; QemuProfile messages cpuHostNeedsKvm, memoryBackendSizeMismatch).
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import type { QemuVersion } from '../../reference/toolchain.ts';

const stage = (argv: string[], q: QemuVersion) => () => qemuStage(parseQemuArgs(argv, { qemuVersion: q }), QEMU_PROFILES[q], {});

describe('refusal wording by release', () => {
  it.each([
    ['5.2', "CPU model 'host' requires KVM"],
    ['7.2', "CPU model 'host' requires KVM or HVF"],
    ['11.1', "CPU model 'host' requires KVM or HVF"],
  ] as const)('-cpu host under TCG on %s', (q, text) => {
    expect(stage(['-M', 'pc', '-m', '1G', '-cpu', 'host'], q)).toThrow(new RegExp(`^${text}$|${text}$`));
  });

  it.each([
    ['5.2', "Size specified by -m option must match size of explicitly specified 'memory-backend' property"],
    ['7.2', 'Machine memory size does not match the size of the memory backend'],
  ] as const)('-m and memory-backend= of different sizes on %s', (q, text) => {
    const argv = ['-M', 'pc-i440fx-4.2,memory-backend=ram0', '-m', '1048580K', '-object', 'memory-backend-ram,id=ram0,size=1048580K'];
    expect(stage(argv, q)).toThrow(text);
  });
});
