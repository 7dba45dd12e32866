// User RAM over nothing (reference/linux/user-ram.ts): a user map that declares usable RAM where the
// machine has no memory is declined. The case that found it (explore seed 161501 cell 081, QEMU 5.2,
// Linux 5.10) hung before the console with exactmap and booted without it; both booted here by hand.
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import { E820 } from '../../reference/e820.ts';
import { userRamOverNothing } from '../../reference/linux/user-ram.ts';
import type { Toolchain } from '../../reference/toolchain.ts';

const BULLSEYE: Toolchain = { qemu: '5.2', seabios: '1.14.0', kernel: '5.10' };
const run = (args: string) => () => predict(parseQemuArgs(args.split(' '), { qemuVersion: BULLSEYE.qemu }), BULLSEYE);
const Q35 = '-M pc-q35-3.1 -m 2883580K -cpu qemu64,vendor=AuthenticAMD';

describe('user RAM where the machine has none', () => {
  it('exactmap past q35 low RAM (2 GiB: -m 2883580K is 0xb0000000 after 8 KiB alignment) is declined; within it, or without exactmap, predicted', () => {
    expect(run(`${Q35} -append memmap=exactmap,0xa0000@0,2866172K@1M`)).toThrow(UnsupportedOptionError);
    expect(run(`${Q35} -append memmap=exactmap,0xa0000@0,2866172K@1M`)).toThrow('usable RAM at [0x80000000, 0xaefff000)');
    expect(run(`${Q35} -append memmap=exactmap,0xa0000@0,2046M@1M`)).not.toThrow();
    expect(run(`${Q35}`)).not.toThrow();
  });

  it('RAM above the end of high RAM is declined; RAM over reserved memory keeps the reserved type and is predicted', () => {
    expect(run('-M q35 -m 1G -append memmap=1G@0x200000000')).toThrow(UnsupportedOptionError);
    expect(run('-M q35 -m 1G -append memmap=64M@0xb0000000')).not.toThrow(); // MMCONFIG stays reserved (sanitize: the larger type wins)
  });

  it('the backed ranges: the chain of entries from 1 MiB, and RAM entries; reserved past the chain has nothing', () => {
    const fw = [
      { start: 0n, end: 0x9fc00n, type: E820.RAM },
      { start: 0x100000n, end: 0x7ffdf000n, type: E820.RAM },
      { start: 0x7ffdf000n, end: 0x80000000n, type: E820.RESERVED },
      { start: 0xb0000000n, end: 0xc0000000n, type: E820.RESERVED },
      { start: 0x100000000n, end: 0x130000000n, type: E820.RAM },
    ];
    const ram = (addr: bigint, size: bigint) => [{ addr, size, type: E820.RAM }];
    expect(userRamOverNothing(fw, ram(0x100000n, 0x7ff00000n))).toBeNull(); // up to 0x80000000, through the reserved top
    expect(userRamOverNothing(fw, ram(0xb0000000n, 0x1000n))).toEqual({ start: 0xb0000000n, end: 0xb0001000n });
    expect(userRamOverNothing(fw, ram(0xa0000n, 0x60000n))).toBeNull(); // below 1 MiB: trim_bios_range's
    expect(userRamOverNothing(fw, ram(0x120000000n, 0x20000000n))).toEqual({ start: 0x130000000n, end: 0x140000000n });
  });
});
