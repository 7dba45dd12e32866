// The kernel's memory-detection roads (reference/linux/boot-memory.ts): arch/x86/boot/memory.c
// detect_memory() and arch/x86/kernel/e820.c e820__memory_setup_default(), with the INT 15h
// answers of reference/seabios/. Expected lines are those booted by
// suites/matrix/fallback.yaml (QEMU 7.2, SeaBIOS 1.16.2 built with guests/firmware-patches/).

import { describe, expect, it } from 'vitest';
import { MiB } from '../../reference/address.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { detectMemory, memorySetupDefault } from '../../reference/linux/boot-memory.ts';
import { predict } from '../../reference/predict.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';
import { int15Answers } from '../../reference/seabios/index.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import { toolchainOf } from '../../reference/toolchain.ts';

const P = KERNEL_PROFILES;
const ram = (end: bigint) => [
  { start: 0n, end: 0x9fc00n, type: 1 },
  { start: MiB, end, type: 1 },
];

describe('detect_memory(): what boot_params gets from the three INT 15h answers', () => {
  it('E801 above 16 MiB: AX = 15 MiB adds BX 64 KiB blocks (alt_mem_k), 88h caps at 63 MiB', () => {
    const bp = detectMemory(int15Answers({ entries: ram(0x3ffe0000n), legacyRamSize: 0x3ffe0000n }, ['e820']));
    expect(bp.e820Table).toEqual([]);
    expect(bp.altMemK).toBe(15 * 1024 + ((0x3ffe0000 - 16 * 1024 * 1024) >> 16) * 64);
    expect(bp.extMemK).toBe(63 * 1024);
  });
  it('E801 at or below 16 MiB: CX alone; a failing E801 leaves alt_mem_k 0', () => {
    expect(detectMemory(int15Answers({ entries: [], legacyRamSize: 15n * MiB }, ['e820'])).altMemK).toBe(14 * 1024);
    expect(detectMemory(int15Answers({ entries: [], legacyRamSize: 16n * MiB }, ['e820'])).altMemK).toBe(15 * 1024);
    expect(detectMemory(int15Answers({ entries: [], legacyRamSize: 60n * MiB }, ['e820', 'e801'])).altMemK).toBe(0);
  });
  it('E801 answering more than 15 MiB in AX is "Bogus!": alt_mem_k stays 0', () => {
    expect(detectMemory({ e820: null, e801: { ax: 15 * 1024 + 1, bx: 0, cx: 0, dx: 0 }, e88: { ax: 1024 } }).altMemK).toBe(0);
  });
  it('a failing 88h is not modelled: the kernel keeps whatever AX the BIOS left', () => {
    expect(() => detectMemory(int15Answers({ entries: [], legacyRamSize: 60n * MiB }, ['e820', 'e801', '88h']))).toThrow(UnsupportedOptionError);
  });
});

describe('e820__memory_setup_default(): which path, per kernel version', () => {
  it.each(['5.10', '6.1', '6.12', '7.2'] as const)('%s: no E820 entries → the larger of E801 and 88h; equal sizes go to E801', (v) => {
    const e801 = memorySetupDefault({ e820Table: [], altMemK: 64512, extMemK: 64512 }, P[v]);
    expect(e801.path).toBe('e801');
    expect(e801.who).toBe('BIOS-e801');
    expect(e801.table).toEqual([
      { addr: 0n, size: 0x9f000n, type: 1 },
      { addr: MiB, size: 64512n << 10n, type: 1 },
    ]);
    expect(memorySetupDefault({ e820Table: [], altMemK: 0, extMemK: 64512 }, P[v]).path).toBe('88h');
  });
  it('one E820 entry: refused up to 6.12 (append_e820_table needs 2), taken by 7.2', () => {
    const one = [{ addr: 0n, size: 0x40000000n, type: 1 }];
    expect(memorySetupDefault({ e820Table: one, altMemK: 1024, extMemK: 1024 }, P['6.12']).path).toBe('e801');
    expect(memorySetupDefault({ e820Table: one, altMemK: 1024, extMemK: 1024 }, P['7.2']).path).toBe('e820');
  });
});

const expectOf = (fails: Array<'e820' | 'e801'>) => ({ firmware: [], qemu: [], int15Fails: fails });

describe('predict with declared INT 15h failures (as booted by suites/matrix/fallback.yaml)', () => {
  it('E801, -M pc -m 6G, 6.1: BIOS-e801 lines, the RAM above 4 GiB gone from every kernel layer', () => {
    const p = predict(parseQemuArgs(['-M', 'pc', '-m', '6G'], { qemuVersion: '7.2' }), toolchainOf({}), { intent: expectOf(['e820']) });
    expect(p.memoryPath.path).toBe('e801');
    expect(p.memoryPath.lost).toContain('above 4 GiB');
    expect(p.kernel?.biosE820).toEqual([]);
    expect(p.kernel?.e820Edits?.slice(0, 3)).toEqual([
      'BIOS-provided physical RAM map:',
      'BIOS-e801: [mem 0x0000000000000000-0x000000000009efff] usable',
      'BIOS-e801: [mem 0x0000000000100000-0x00000000bffdffff] usable',
    ]);
    expect(p.kernel?.memmap).toEqual([
      { start: '0x0', end: '0x9efff', type: 'System RAM' },
      { start: '0x100000', end: '0xbffdffff', type: 'System RAM' },
    ]);
  });
  it('88h on the cloud kernel: the 64 MiB map is too small, no kernel layer is claimed; the minimal kernel gets one', () => {
    const cfg = parseQemuArgs(['-M', 'pc', '-m', '1G'], { qemuVersion: '7.2' });
    const cloud = predict(cfg, toolchainOf({}), { intent: expectOf(['e820', 'e801']) });
    expect(cloud.kernelStarts).toBe(false);
    expect(cloud.memoryPath.path).toBe('88h');
    expect(cloud.unpredicted[0]).toContain('BIOS-88');
    const minimal = predict(cfg, { ...toolchainOf({}), kernelFlavour: 'minimal' }, { intent: expectOf(['e820', 'e801']) });
    expect(minimal.kernel?.e820Edits?.slice(1, 3)).toEqual([
      'BIOS-88: [mem 0x0000000000000000-0x000000000009efff] usable',
      'BIOS-88: [mem 0x0000000000100000-0x0000000003ffffff] usable',
    ]);
  });
  it('E801 on q35: the ECAM window meets no E820 entry, so its fallback checks change nothing compared and the edits are still predicted', () => {
    const p = predict(parseQemuArgs(['-M', 'q35', '-m', '2816M'], { qemuVersion: '7.2' }), toolchainOf({ kernel: '6.12' }), { intent: expectOf(['e820']) });
    expect(p.kernel?.e820Edits).toBeDefined();
    expect(p.kernel?.e820Edits?.some((l) => l.startsWith('PCI: ECAM'))).toBe(false);
    expect(p.kernel?.iomem).toBeDefined();
    expect(p.memoryPath.lost).toContain('(786432 KiB of it above 4 GiB'); // the 768 MiB q35 puts above 4 GiB
  });
  it('memmap= on the E801 road: no KASLR slot (boot_params has no E820 table), so the image is at 16 MiB and the edits are predicted', () => {
    const cfg = parseQemuArgs(['-M', 'pc', '-m', '1G', '-append', 'memmap=exactmap memmap=640K@0 memmap=256M@1M'], { qemuVersion: '7.2' });
    const e801 = predict(cfg, toolchainOf({}), { intent: expectOf(['e820']) });
    expect(e801.kernel?.e820Edits).toContain('user: [mem 0x0000000000100000-0x00000000100fffff] usable');
    // The E820 road randomises the image over the BIOS's RAM, which the reservation may hit: not claimed.
    expect(predict(cfg, toolchainOf({})).kernel?.e820Edits).toBeUndefined();
  });
  it('without a declaration the path is E820 and named so', () => {
    const p = predict(parseQemuArgs(['-M', 'pc', '-m', '1G'], { qemuVersion: '7.2' }), toolchainOf({}));
    expect(p.memoryPath).toMatchObject({ path: 'e820', who: 'BIOS-e820' });
    expect(p.kernel?.biosE820.length).toBeGreaterThan(0);
  });
});
