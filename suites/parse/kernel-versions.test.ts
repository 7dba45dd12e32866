// Per-version parser examples: real dmesg of each kernel (kernel-version-samples.ts) is parsed and
// selected by the same rule the conformance run uses, then compared with the linux stage's
// prediction for that version (which the boots confirmed: `e820 check` PASS).

import { describe, expect, it } from 'vitest';
import { parseDmesg, selectE820Lines } from '../../harness/parse/dmesg.ts';
import { linuxStage } from '../../reference/linux-stage.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';
import { PC_1G, PC_PLATFORM_1G } from '../reference/linux-examples.ts';
import { DMESG_5_10_PC1G, DMESG_6_12_SOFT, DMESG_7_2_SOFT } from './kernel-version-samples.ts';

const CMD = 'console=ttyS0 panic=-1';
const SOFT = `${CMD} memmap=4M%0x28000000+0xefffffff`;

describe.each([
  ['5.10', DMESG_5_10_PC1G, CMD],
  ['6.12', DMESG_6_12_SOFT, SOFT],
  ['7.2', DMESG_7_2_SOFT, SOFT],
] as const)('linux %s, real dmesg', (version, dmesg, cmdline) => {
  const sel = selectE820Lines(parseDmesg(dmesg));
  const k = linuxStage(PC_1G, PC_PLATFORM_1G, cmdline, KERNEL_PROFILES[version]);
  it('BIOS-e820 lines equal the prediction', () => expect(sel.biosE820).toEqual(k.biosE820));
  it('e820 edit lines equal the prediction, in order', () => expect(sel.e820Edits).toEqual(k.e820Edits));
  it('no E820 mention is left unclassified', () => expect(sel.unclassified).toEqual([]));
});

describe('format details seen in the samples', () => {
  it('5.10.223 prints the per-entry nosave lines (old algorithm)', () => {
    const nosave = selectE820Lines(parseDmesg(DMESG_5_10_PC1G)).e820Edits.filter((l) => l.startsWith('PM: '));
    expect(nosave).toHaveLength(4);
    expect(nosave[2]).toBe('PM: hibernation: Registered nosave memory: [mem 0x000a0000-0x000effff]');
  });
  it('7.2 prints [gap …] lines in both the BIOS-e820 and the user dump, two spaces before the type', () => {
    const sel = selectE820Lines(parseDmesg(DMESG_7_2_SOFT));
    expect(sel.biosE820.filter((l) => l.includes('[gap '))).toHaveLength(3);
    expect(sel.e820Edits).toContain('user: [gap 0x0000000040000000-0x00000000fffbffff]');
    expect(sel.e820Edits).toContain('user: [mem 0x0000000028000000-0x00000000283fffff]  soft reserved');
  });
});
