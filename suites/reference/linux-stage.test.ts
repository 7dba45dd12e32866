// Named examples for the linux stage, taken from recorded boots of the Debian kernels (5.10, 6.1, 6.12, 7.2) under QEMU 7.2 + SeaBIOS 1.16.2.

import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { guestConsoleIndex, guestKernelCommandLine } from '../../reference/guest.ts';
import { linuxStage } from '../../reference/linux-stage.ts';
import { predict } from '../../reference/predict.ts';
import { toolchainOf } from '../../reference/toolchain.ts';
import { KERNEL_5_10_262, KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';
import { PC_1G, PC_4G, PC_PLATFORM_1G, PC_PLATFORM_4G, Q35_1G, Q35_PLATFORM_1G } from './linux-examples.ts';

const P = KERNEL_PROFILES;
const CMD = 'console=ttyS0 panic=-1';

describe('the worked example (docs/model/linux.md#a-worked-example-pc-with-1-gib): -M pc -m 1G', () => {
  it('6.1: BIOS-e820, edits, iomem, memmap', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['6.1']);
    expect(k.biosE820).toEqual([
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved',
      'BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved',
      'BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable',
      'BIOS-e820: [mem 0x000000003ffe0000-0x000000003fffffff] reserved',
      'BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved',
      'BIOS-e820: [mem 0x000000fd00000000-0x000000ffffffffff] reserved',
    ]);
    expect(k.e820Edits).toEqual([
      'BIOS-provided physical RAM map:',
      'e820: update [mem 0x00000000-0x00000fff] usable ==> reserved',
      'e820: remove [mem 0x000a0000-0x000fffff] usable',
      'last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000',
      'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
      'PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]',
      '[mem 0x40000000-0xfffbffff] available for PCI devices',
      'e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]',
      'e820: reserve RAM buffer [mem 0x3ffe0000-0x3fffffff]',
    ]);
    expect(k.e820EditLevels).toEqual([6, 7, 7, 6, 6, 6, 6, 7, 7]);
    expect(k.iomem).toEqual([
      '00000000-00000fff : Reserved',
      '00001000-0009fbff : System RAM',
      '0009fc00-0009ffff : Reserved',
      '000f0000-000fffff : Reserved',
      '00100000-3ffdffff : System RAM',
      '3ffe0000-3fffffff : Reserved',
      'fffc0000-ffffffff : Reserved',
      'fd00000000-ffffffffff : Reserved',
    ]);
    expect(k.memmap).toEqual([
      { start: '0x0', end: '0x9fbff', type: 'System RAM' },
      { start: '0x9fc00', end: '0x9ffff', type: 'Reserved' },
      { start: '0xf0000', end: '0xfffff', type: 'Reserved' },
      { start: '0x100000', end: '0x3ffdffff', type: 'System RAM' },
      { start: '0x3ffe0000', end: '0x3fffffff', type: 'Reserved' },
      { start: '0xfffc0000', end: '0xffffffff', type: 'Reserved' },
      { start: '0xfd00000000', end: '0xffffffffff', type: 'Reserved' },
    ]);
    expect(k.unpredictable).toBeUndefined();
  });

  it('7.2: two spaces, System RAM, gap lines, new edit wording', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['7.2']);
    expect(k.biosE820).toEqual([
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff]  System RAM',
      'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff]  device reserved',
      'BIOS-e820: [gap 0x00000000000a0000-0x00000000000effff]',
      'BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff]  device reserved',
      'BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff]  System RAM',
      'BIOS-e820: [mem 0x000000003ffe0000-0x000000003fffffff]  device reserved',
      'BIOS-e820: [gap 0x0000000040000000-0x00000000fffbffff]',
      'BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff]  device reserved',
      'BIOS-e820: [gap 0x0000000100000000-0x000000fcffffffff]',
      'BIOS-e820: [mem 0x000000fd00000000-0x000000ffffffffff]  device reserved',
    ]);
    expect(k.e820Edits).toEqual([
      'BIOS-provided physical RAM map:',
      'e820: update [mem 0x00000000-0x00000fff] System RAM ==> device reserved',
      'e820: remove [mem 0x000a0000-0x000fffff] System RAM',
      'last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000',
      'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
      'PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]',
      '[gap 0x40000000-0xfffbffff] available for PCI devices',
      'e820: register RAM buffer resource [mem 0x0009fc00-0x0009ffff]',
      'e820: register RAM buffer resource [mem 0x3ffe0000-0x3fffffff]',
    ]);
    expect(k.iomem).toEqual(linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['6.1']).iomem);
  });

  it('5.10.223 prints the old per-entry nosave lines, 5.10.262 the new ones', () => {
    const nosave = (lines: readonly string[] | undefined) => (lines ?? []).filter((l) => l.startsWith('PM: '));
    expect(nosave(linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['5.10']).e820Edits)).toEqual([
      'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
      'PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x0009ffff]',
      'PM: hibernation: Registered nosave memory: [mem 0x000a0000-0x000effff]',
      'PM: hibernation: Registered nosave memory: [mem 0x000f0000-0x000fffff]',
    ]);
    expect(nosave(linuxStage(PC_1G, PC_PLATFORM_1G, CMD, KERNEL_5_10_262).e820Edits)).toEqual(
      nosave(linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['6.1']).e820Edits),
    );
  });
});

describe('-M pc -m 4G', () => {
  it('6.1: two last_pfn lines, the nosave hole to 4 GiB, gap from 3 GiB', () => {
    const e = linuxStage(PC_4G, PC_PLATFORM_4G, CMD, P['6.1']).e820Edits!;
    expect(e.slice(3)).toEqual([
      'last_pfn = 0x140000 max_arch_pfn = 0x400000000',
      'last_pfn = 0xbffe0 max_arch_pfn = 0x400000000',
      'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
      'PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]',
      'PM: hibernation: Registered nosave memory: [mem 0xbffe0000-0xffffffff]',
      '[mem 0xc0000000-0xfffbffff] available for PCI devices',
      'e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]',
      'e820: reserve RAM buffer [mem 0xbffe0000-0xbfffffff]',
    ]);
  });
  it('5.10.223: per-entry nosave lines', () => {
    const e = linuxStage(PC_4G, PC_PLATFORM_4G, CMD, P['5.10']).e820Edits!.filter((l) => l.startsWith('PM: '));
    expect(e.slice(4)).toEqual([
      'PM: hibernation: Registered nosave memory: [mem 0xbffe0000-0xbfffffff]',
      'PM: hibernation: Registered nosave memory: [mem 0xc0000000-0xfffbffff]',
      'PM: hibernation: Registered nosave memory: [mem 0xfffc0000-0xffffffff]',
    ]);
  });
});

describe('-M q35 -m 1G', () => {
  it('6.1: gap below ECAM, MMCONFIG line, Reserved nested in the MMCONFIG resource', () => {
    const k = linuxStage(Q35_1G, Q35_PLATFORM_1G, CMD, P['6.1']);
    const e = k.e820Edits!;
    expect(e).toContain('[mem 0x40000000-0xafffffff] available for PCI devices');
    expect(e.indexOf('PCI: MMCONFIG at [mem 0xb0000000-0xbfffffff] reserved in E820')).toBe(e.indexOf('[mem 0x40000000-0xafffffff] available for PCI devices') + 1);
    expect(k.iomem).toContain('  b0000000-bfffffff : Reserved');
    expect(k.iomem).toContain('fed1c000-fed1ffff : Reserved');
  });
  it('6.12: ECAM wording', () => {
    expect(linuxStage(Q35_1G, Q35_PLATFORM_1G, CMD, P['6.12']).e820Edits).toContain('PCI: ECAM [mem 0xb0000000-0xbfffffff] reserved as E820 entry');
  });
});

describe('mem= and memmap=', () => {
  it('mem=1000M: remove line, user map, RAM buffer up to the reserved entry', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} mem=1000M`, P['6.1']);
    const e = k.e820Edits!;
    expect(e.slice(0, 9)).toEqual([
      'BIOS-provided physical RAM map:',
      'e820: remove [mem 0x3e800000-0xfffffffffffffffe] usable',
      'user-defined physical RAM map:',
      'user: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'user: [mem 0x000000000009fc00-0x000000000009ffff] reserved',
      'user: [mem 0x00000000000f0000-0x00000000000fffff] reserved',
      'user: [mem 0x0000000000100000-0x000000003e7fffff] usable',
      'user: [mem 0x000000003ffe0000-0x000000003fffffff] reserved',
      'user: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved',
    ]);
    expect(e).toContain('last_pfn = 0x3e800 max_arch_pfn = 0x400000000');
    expect(e.at(-1)).toBe('e820: reserve RAM buffer [mem 0x3e800000-0x3fffffff]');
    expect(k.iomem).toContain('3e800000-3ffdffff : RAM buffer');
    // mem= never touches the firmware table behind /sys/firmware/memmap.
    expect(k.memmap).toEqual(linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['6.1']).memmap);
  });

  it("mem=0 and mem=nopentium: Malformed early option 'mem'", () => {
    const zero = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} mem=0`, P['6.1']).e820Edits!;
    expect(zero[1]).toBe("Malformed early option 'mem'");
    expect(zero[2]).toBe('user-defined physical RAM map:');
    const np = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} mem=nopentium`, P['6.1']).e820Edits!;
    expect(np.slice(1, 3)).toEqual(['mem=nopentium ignored! (only supported on x86_32)', "Malformed early option 'mem'"]);
    expect(np).not.toContain('user-defined physical RAM map:');
  });

  it('memmap # and $: highest type wins', () => {
    const e = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=16M#0x10000000 memmap=16M$0x10800000`, P['6.1']).e820Edits!;
    expect(e).toContain('user: [mem 0x0000000010000000-0x0000000010ffffff] ACPI data');
    expect(e).toContain('user: [mem 0x0000000011000000-0x00000000117fffff] reserved');
  });

  it('memmap ! (PRAM) never merges', () => {
    const a = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=1M!0x30000000 memmap=1M!0x30100000`, P['6.1']).e820Edits!;
    expect(a.filter((l) => l.startsWith('user:') && l.endsWith('persistent (type 12)'))).toEqual([
      'user: [mem 0x0000000030000000-0x00000000300fffff] persistent (type 12)',
      'user: [mem 0x0000000030100000-0x00000000301fffff] persistent (type 12)',
    ]);
    const b = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=2M!0x31000000 memmap=1M$0x31080000`, P['6.1']).e820Edits!;
    expect(b.filter((l) => l.startsWith('user:') && l.includes('0x00000000311') || l.includes('0x0000000031080000-') || l.includes('0x0000000031000000-'))).toEqual([
      'user: [mem 0x0000000031000000-0x000000003107ffff] persistent (type 12)',
      'user: [mem 0x0000000031080000-0x000000003117ffff] persistent (type 12)',
      'user: [mem 0x0000000031180000-0x00000000311fffff] persistent (type 12)',
    ]);
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=1M!0x30000000`, P['6.1']);
    expect(k.iomem).toContain('30000000-300fffff : Persistent Memory (legacy)');
  });

  it('memmap % : type change moves last_pfn on 6.1 but not on 6.12 (ACPI counted)', () => {
    const cmd = `${CMD} memmap=4K%0x3ffdf000-1+3`;
    const e61 = linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['6.1']).e820Edits!;
    expect(e61[1]).toBe('e820: update [mem 0x3ffdf000-0x3ffdffff] usable ==> ACPI data');
    expect(e61).toContain('last_pfn = 0x3ffdf max_arch_pfn = 0x400000000');
    const e612 = linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['6.12']).e820Edits!;
    expect(e612).toContain('last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000');
    expect(e612).toContain('PM: hibernation: Registered nosave memory: [mem 0x3ffdf000-0x3ffdffff]');
  });

  it('memmap % any-type removal: trailing space up to 6.12, none in 7.2', () => {
    const cmd = `${CMD} memmap=0x100000%0x3ffe0000`;
    expect(linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['6.1']).e820Edits![1]).toBe('e820: remove [mem 0x3ffe0000-0x400dffff] ');
    expect(linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['7.2']).e820Edits![1]).toBe('e820: remove [mem 0x3ffe0000-0x400dffff]');
  });

  it('memmap % +type adds soft reserved; 5.10/6.1 wrap it in hmem.N, 7.2 hides it', () => {
    const cmd = `${CMD} memmap=4M%0x28000000+0xefffffff`;
    const k61 = linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['6.1']);
    expect(k61.e820Edits).toContain('user: [mem 0x0000000028000000-0x00000000283fffff] soft reserved');
    expect(k61.iomem).toContain('  28000000-283fffff : Soft Reserved');
    expect(linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['6.12']).iomem).toContain('28000000-283fffff : Soft Reserved');
    expect(linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['7.2']).iomem!.some((l) => l.includes('Soft Reserved'))).toBe(false);
  });

  it('memmap % +type: unknown type 20 and PMEM 7', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=2M%0x2a000000+20 memmap=1M%0x2c000000+7`, P['6.1']);
    expect(k.iomem).toContain('2a000000-2a1fffff : Unknown E820 type');
    expect(k.iomem).toContain('2c000000-2c0fffff : Persistent Memory');
    expect(k.e820Edits).toContain('user: [mem 0x000000002a000000-0x000000002a1fffff] type 20');
  });

  it('memmap RAM-buffer from a type change: 0x2f000000 piece', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=1M%0x2f000000-1`, P['6.1']);
    expect(k.iomem).toContain('2f000000-2f0fffff : RAM buffer');
  });

  it('exactmap (docs/model/linux.md#nesting), ACPI tables kept reserved: reserved inside the PCI window, expanded reserved around it; gap tie', () => {
    const cmd = `${CMD} memmap=exactmap memmap=0x9fc00@0 memmap=0x3fee0000@0x100000 memmap=0x20000$0x3ffe0000 memmap=0x10000000$0x50000000 memmap=0x90000000$0x70000000`;
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['6.1']);
    expect(k.iomem).toEqual([
      '00000000-00000fff : Reserved',
      '00001000-0009fbff : System RAM',
      '0009fc00-0009ffff : RAM buffer',
      '00100000-3ffdffff : System RAM',
      '3ffe0000-3fffffff : Reserved',
      '40000000-ffffffff : Reserved',
      '    50000000-5fffffff : Reserved',
    ]);
    const e = k.e820Edits!;
    expect(e).toContain('resource: Expanded resource Reserved due to conflict with PCI Bus 0000:00');
    expect(e).toContain('[mem 0x40000000-0x4fffffff] available for PCI devices');
    expect(linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['7.2']).e820Edits).toContain('[gap 0x60000000-0x6fffffff] available for PCI devices');
    expect(linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P['5.10']).e820Edits).toContain('Expanded resource Reserved due to conflict with PCI Bus 0000:00');
  });

  it('exactmap making the ACPI tables RAM: the PCI window may vanish (acpi_map), so edits and iomem are not predicted', () => {
    // Booted on 5.10, 6.1, 6.12, 7.2 (QEMU 7.2, SeaBIOS 1.16.2, -M pc -m 1G): `ACPI Error: AE_NO_ACPI_TABLES`,
    // no `PCI Bus 0000:00`, no `Expanded resource` line, 50000000-5fffffff and 70000000-ffffffff Reserved at top level.
    const cmd = `${CMD} memmap=exactmap memmap=0x9fc00@0 memmap=0x3ff00000@0x100000 memmap=0x10000000$0x50000000 memmap=0x90000000$0x70000000`;
    for (const v of ['5.10', '6.1', '6.12', '7.2'] as const) {
      const k = linuxStage(PC_1G, PC_PLATFORM_1G, cmd, P[v]);
      expect(k.e820Edits).toBeUndefined();
      expect(k.iomem).toBeUndefined();
      expect(k.memmap).toBeDefined();
      expect(k.unpredictable?.join(' ')).toMatch(/ACPI tables/);
    }
    // A map whose E820 lines do not meet the window keeps everything (booted on 5.10, 6.12, 7.2: pass).
    const plain = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=exactmap memmap=640K@0 memmap=1023M@1M`, P['5.10']);
    expect(plain.iomem).toBeDefined();
    expect(plain.e820Edits).toBeDefined();
  });

  it('an invalid user map panics; memmap/iomem absent', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=exactmap memmap=0x9fc00@0`, P['6.1']);
    expect(k.panic).toBe('Invalid user supplied memory map');
    expect(k.e820Edits!.at(-1)).toBe('Kernel panic - not syncing: Invalid user supplied memory map');
    expect(k.memmap).toBeUndefined();
    expect(k.iomem).toBeUndefined();
  });

  it('exactmap that drops RAM where KASLR may put the kernel: edits and iomem absent', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=exactmap memmap=0x9fc00@0 memmap=0x1f00000@0x100000`, P['6.1']);
    expect(k.e820Edits).toBeUndefined();
    expect(k.iomem).toBeUndefined();
    expect(k.memmap).toBeDefined();
    expect(k.unpredictable?.[0]).toMatch(/KASLR/);
  });

  it('a reserved range straddling the BAR zone makes iomem and edits absent', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, `${CMD} memmap=32M$0xfd800000`, P['6.1']);
    expect(k.iomem).toBeUndefined();
    expect(k.e820Edits).toBeUndefined();
  });

  it('setup_data (-dtb) splits RAM on 6.1 (two update lines) and 6.12 (one), not on 7.2', () => {
    const plat = { ...PC_PLATFORM_1G, setupData: [{ addr: 0x8d27c0n, len: 64n, type: 5 }] };
    const k = linuxStage(PC_1G, plat, CMD, P['6.1']);
    const e = k.e820Edits!;
    expect(e.slice(1, 4)).toEqual([
      'e820: update [mem 0x008d27c0-0x008d280f] usable ==> usable',
      'e820: update [mem 0x008d27c0-0x008d280f] usable ==> usable',
      'extended physical RAM map:',
    ]);
    expect(e).toContain('reserve setup_data: [mem 0x00000000008d27c0-0x00000000008d280f] usable');
    expect(k.iomem).toContain('008d27c0-008d280f : System RAM');
    expect(linuxStage(PC_1G, plat, CMD, P['6.12']).e820Edits!.filter((l) => l.includes('==> usable'))).toHaveLength(1);
    expect(linuxStage(PC_1G, plat, CMD, P['7.2']).e820Edits).toEqual(linuxStage(PC_1G, PC_PLATFORM_1G, CMD, P['7.2']).e820Edits);
  });
});

describe('kernelProfileForRelease: the nosave algorithm by 5.10 point release', () => {
  it('picks per-entry for 5.10.223, ram-holes for 5.10.262, refuses what lies between', async () => {
    const { kernelProfileForRelease } = await import('../../reference/profiles/kernel.ts');
    expect(kernelProfileForRelease('5.10', '5.10.223-1').nosave).toBe('per-entry');
    expect(kernelProfileForRelease('5.10', '5.10.262-1').nosave).toBe('ram-holes');
    // The bzImage banner: the ABI name 5.10.0-32 comes first, the Debian version last.
    const banner = '5.10.0-32-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 5.10.223-1 (2024-08-10)';
    expect(kernelProfileForRelease('5.10', banner).nosave).toBe('per-entry');
    expect(() => kernelProfileForRelease('5.10', '5.10.240-1')).toThrow(/between 5\.10\.223 and 5\.10\.262/);
    expect(kernelProfileForRelease('6.1', '6.1.192-2')).toBe(P['6.1']);
    expect(kernelProfileForRelease('5.10')).toBe(P['5.10']);
  });
});

describe('the guest kernel and small RAM, and the console port', () => {
  // Booted with the Debian cloud kernels (QEMU 7.2, -M pc): 6.1 -m 64 and 7.2 -m 64/72 print
  // nothing (RAM below 16 MiB + init_size); 6.1 -m 68 panics out of memory and 6.12 -m 72 loses its
  // root fs; 5.10 -m 64, 6.1 -m 72, 6.12 and 7.2 -m 80 boot.
  const kernelOf = (mem: string, kernel: '5.10' | '6.1' | '6.12' | '7.2') => predict(parseQemuArgs(['-M', 'pc', '-m', mem]), toolchainOf({ kernel }));
  it.each([
    ['64', '6.1', /never starts/],
    ['64', '7.2', /never starts/],
    ['72', '7.2', /never starts/],
    ['68', '6.1', /not predicted/],
    ['72', '6.12', /not predicted/],
  ] as const)('-m %s with Linux %s: no kernel layer claimed', (mem, kernel, why) => {
    const p = kernelOf(mem, kernel);
    expect(p.kernelStarts).toBe(false);
    expect(p.unpredicted.join('\n')).toMatch(why);
  });
  it.each([['80', '6.12'], ['96', '7.2'], ['128', '6.1']] as const)('-m %s with Linux %s: the kernel layer is predicted', (mem, kernel) => {
    expect(kernelOf(mem, kernel).kernelStarts).toBe(true);
  });

  it("the console moves off COM1 when the user's own isa-serial takes index 0", () => {
    expect(guestConsoleIndex(parseQemuArgs(['-device', 'isa-serial']))).toBe(0);
    expect(guestConsoleIndex(parseQemuArgs(['-device', 'isa-serial,index=0']))).toBe(1);
    expect(guestConsoleIndex(parseQemuArgs(['-device', 'isa-serial,index=0', '-device', 'isa-serial,index=1']))).toBe(2);
    expect(guestKernelCommandLine('mem=1G', 2)).toBe('console=ttyS2 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp mem=1G');
  });
});

describe('cold-plugged DIMMs', () => {
  // Booted (suites/matrix/libvirt.yaml *dimm*): Linux 5.10, 6.1, 6.12 and 7.2 add each DIMM as
  // top-level System RAM and as /sys/firmware/memmap entries ahead of the boot map, by slot.
  const dimmArgs = ['-M', 'pc', '-m', '1G,slots=4,maxmem=4G', '-object', 'memory-backend-ram,id=d1,size=256M', '-device', 'pc-dimm,memdev=d1,slot=1',
    '-object', 'memory-backend-ram,id=d0,size=512M', '-device', 'pc-dimm,memdev=d0,slot=0'];
  it('places them first-fit in -device order and lists them by slot', () => {
    const p = predict(parseQemuArgs(dimmArgs), toolchainOf({}));
    expect(p.handoff.platform.hotplugRam).toEqual([{ start: 0x110000000n, end: 0x12fffffffn }, { start: 0x100000000n, end: 0x10fffffffn }]);
    expect(p.report.kernel?.memmap?.slice(0, 2).map((m) => m.start)).toEqual(['0x110000000', '0x100000000']);
    expect(p.report.kernel?.iomem).toContain('100000000-10fffffff : System RAM');
  });
  it('without QEMU\'s ACPI tables nothing describes them, and odd sizes or addr= stay not modelled', () => {
    expect(() => predict(parseQemuArgs([...dimmArgs.slice(0, 6), '-device', 'pc-dimm,memdev=d1,addr=0x100000000']), toolchainOf({}))).toThrow(/addr= is not modelled/);
    expect(() => predict(parseQemuArgs(['-M', 'pc', '-m', '1G,slots=4,maxmem=4G', '-object', 'memory-backend-ram,id=d1,size=3M', '-device', 'pc-dimm,memdev=d1']), toolchainOf({}))).toThrow(/multiple of 2 MiB/);
  });
});
