// Refusal text and order findings of the randomized explorer (M2, M3, M5, M6, M11; docs/model/explore-findings.md), each checked
// with `npx e820 check` on QEMU 7.2 (and 5.2 / 10.0 / 11.1 where noted).

import { describe, expect, it } from 'vitest';
import { linuxStage } from '../../reference/linux-stage.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';
import { PC_1G, PC_PLATFORM_1G } from './linux-examples.ts';
import { notModelledOf, qemuRefusalOf, stageOf } from './qemu-stage-outcomes.ts';

const stage = stageOf;
const refusal = qemuRefusalOf;
const unsupported = notModelledOf;



describe('M2: -numa node,mem= on machine types ≥ 5.1 (hw/core/numa.c parse_numa_node)', () => {
  it.each(['5.2', '7.2', '10.0', '11.1'])('the message carries the -numa location as typed (QEMU %s)', (qemu) => {
    expect(refusal('-M q35 -m 1G -numa node,mem=1G', qemu)).toBe(
      '-numa node,mem=1G: Parameter -numa node,mem is not supported by this machine type\nUse -numa node,memdev instead',
    );
  });

  it('names the first node with mem=, and wins over CPU realize refusals (parse_numa_opts precedes board init)', () => {
    expect(refusal('-M pc -m 1G -numa node,mem=512M -numa node,mem=512')).toMatch(/^-numa node,mem=512M: Parameter/);
    expect(refusal('-M q35 -m 1G -numa node,mem=1G -cpu qemu64,phys-bits=33')).toMatch(/^-numa node,mem=1G: /);
    expect(refusal('-M q35 -m 1G -cpu qemu64,phys-bits=33')).not.toMatch(/numa/);
  });

  it('machine types ≤ 5.0 still take it', () => {
    expect(() => stage('-M pc-i440fx-5.0 -m 1G -numa node,mem=1G')).not.toThrow();
  });
});

describe('M3: pc_memory_init order — phys-bits bound before the hotplug refusals', () => {
  it.each(['7.2', '10.0', '11.1'])('slots > 256 with phys-bits too low: the address-space check wins (QEMU %s)', (qemu) => {
    expect(refusal('-M pc -m 1G,slots=257,maxmem=2G -cpu qemu64,phys-bits=36', qemu)).toBe(
      'Address space limit 0xfffffffff < 0x41ffffffff phys-bits too low (36)',
    );
  });

  it('5.2 has no bound check (and TCG refuses phys-bits ≠ 40 at CPU realize, before pc_memory_init)', () => {
    expect(refusal('-M pc -m 1G,slots=257,maxmem=2G -cpu qemu64,phys-bits=36', '5.2')).toBe('TCG only supports phys-bits=40');
    expect(refusal('-M pc -m 1G,slots=257,maxmem=2G', '5.2')).toBe('unsupported amount of memory slots: 257');
  });

  it('with room in the address space, the hotplug refusals remain', () => {
    expect(refusal('-M pc -m 1G,slots=257,maxmem=2G')).toBe('unsupported amount of memory slots: 257');
    expect(refusal('-M pc -m 1G,slots=2,maxmem=2097153K')).toBe('maximum memory size must by aligned to multiple of 4096 bytes');
  });
});

describe('M6: vmgenid needs fw_cfg DMA (hw/acpi/vmgenid.c vmgenid_realize; PC_COMPAT_2_4)', () => {
  const msg = (arg: string) => `-device ${arg}: vmgenid requires DMA write support in fw_cfg, which this machine type does not provide`;
  it.each(['pc-i440fx-2.4', 'pc-q35-2.4', 'pc-i440fx-2.0'])('%s refuses', (m) => {
    expect(refusal(`-M ${m} -m 1G -device vmgenid`)).toBe(msg('vmgenid'));
  });
  it('2.5 and newer place the GUID', () => {
    const h = stage('-M pc-i440fx-2.5 -m 1G -device vmgenid');
    expect(h.firmwareInputs.highAllocations.map((a) => a.file)).toContain('etc/vmgenid_guid');
  });
});

describe('M5: i440fx 32-bit PCI hole close to the IO-APIC', () => {
  it('below_4g reaching 0xfec00000 (QEMU asserts in range.h): not modelled', () => {
    expect(unsupported('-M pc,max-ram-below-4g=4G -m 4076M')).toMatch(/assertion/);
    expect(unsupported('-M pc,max-ram-below-4g=4G -m 4095M')).toMatch(/assertion/);
  });

  it('a hole too small to be sure SeaBIOS places the BARs: not modelled', () => {
    // 4050M panics "PCI: out of 32bit address space" on the real machine; 4000M is refused by the bound.
    expect(unsupported('-M pc,max-ram-below-4g=4G -m 4050M')).toMatch(/out of 32bit address space/);
    expect(unsupported('-M pc,max-ram-below-4g=4G -m 4000M')).toMatch(/76 MiB/);
    expect(unsupported('-M pc,max-ram-below-4g=4G -m 3968M -device qxl-vga')).toMatch(/32-bit PCI hole/);
  });

  it('the measured cells stay predicted (3968M, 3980M: PASS on 7.2)', () => {
    expect(stage('-M pc,max-ram-below-4g=4G -m 3968M').ramBelow4g).toBe(3968n * 1024n * 1024n);
    expect(stage('-M pc,max-ram-below-4g=4G -m 3980M').ramBelow4g).toBe(3980n * 1024n * 1024n);
    expect(() => stage('-M q35,max-ram-below-4g=4G -m 4076M')).not.toThrow();
  });
});

describe('M11: memmap= over [16 MiB, 16 MiB + image) when KASLR falls back to LOAD_PHYSICAL_ADDR', () => {
  it('a reservation at 46 MiB leaves e820Edits and iomem unpredicted even when RAM above it is roomy', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, 'console=ttyS0 memmap=16777216#46m', KERNEL_PROFILES['6.1']);
    expect(k.e820Edits).toBeUndefined();
    expect(k.iomem).toBeUndefined();
    expect(k.unpredictable?.[0]).toMatch(/KASLR/);
  });

  it('a reservation above the fallback image bound stays predicted', () => {
    const k = linuxStage(PC_1G, PC_PLATFORM_1G, 'console=ttyS0 memmap=16M#0x10000000', KERNEL_PROFILES['6.1']);
    expect(k.e820Edits).toBeDefined();
  });
});

describe('unsupported machine type: 9.1+ names the type (vl.c select_machine)', () => {
  it('7.2 bare, 10.0 and 11.1 quoted (observed on 10.0.13 and 11.1)', () => {
    expect(refusal('-M pc-i440fx-2.3 -m 1G', '10.0')).toBe('unsupported machine type: "pc-i440fx-2.3"\nUse -machine help to list supported machines');
    expect(refusal('-M pc-i440fx-2.4 -m 1G', '11.1')).toBe('unsupported machine type: "pc-i440fx-2.4"\nUse -machine help to list supported machines');
    expect(refusal('-M pc-i440fx-1.3 -m 1G', '7.2')).toBe('unsupported machine type\nUse -machine help to list supported machines');
  });
});
