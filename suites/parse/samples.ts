// Inline samples for the parser tests, in the formats each layer prints
// (worked example: QEMU 7.2, SeaBIOS 1.16.2, Linux 6.1, -M pc -m 1G, TCG).

import { beginMarker, DONE_MARKER, endMarkerPrefix, type SectionName } from '../../guests/markers.ts';

/** `od -An -v -tx1` of the given bytes: 16 per line, each preceded by a space. */
export function od(bytes: readonly number[]): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(bytes.slice(i, i + 16).map((b) => ` ${b.toString(16).padStart(2, '0')}`).join(''));
  }
  return lines.join('\n');
}

/** etc/e820 bytes for records (start, length, type), packed little-endian. */
export function e820Bytes(records: ReadonlyArray<[bigint, bigint, number]>): number[] {
  const out: number[] = [];
  const le = (v: bigint, n: number) => {
    for (let i = 0; i < n; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  };
  for (const [s, l, t] of records) {
    le(s, 8);
    le(l, 8);
    le(BigInt(t), 4);
  }
  return out;
}

export const PC1G_FWCFG = od(e820Bytes([[0xfd00000000n, 0x300000000n, 2], [0n, 0x40000000n, 1]]));

export const PC1G_SEABIOS_DUMP = [
  'e820 map has 7 items:',
  '  0: 0000000000000000 - 000000000009fc00 = 1 RAM',
  '  1: 000000000009fc00 - 00000000000a0000 = 2 RESERVED',
  '  2: 00000000000f0000 - 0000000000100000 = 2 RESERVED',
  '  3: 0000000000100000 - 000000003ffe0000 = 1 RAM',
  '  4: 000000003ffe0000 - 0000000040000000 = 2 RESERVED',
  '  5: 00000000fffc0000 - 0000000100000000 = 2 RESERVED',
  '  6: 000000fd00000000 - 0000010000000000 = 2 RESERVED',
].join('\n');

export const PC1G_SEABIOS = [
  'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
  'BUILD: gcc: (Debian 12.2.0-14) 12.2.0 binutils: (GNU Binutils for Debian) 2.40',
  'No Xen hypervisor found.',
  'Running on QEMU (i440fx)',
  'Found QEMU fw_cfg',
  'QEMU fw_cfg DMA interface supported',
  'qemu/e820: addr 0x0000000000000000 len 0x0000000040000000 [RAM]',
  'Relocating init from 0x000d7c40 to 0x3efeb360 (size 84992)',
  'Returned 16646144 bytes of ZoneHigh',
  PC1G_SEABIOS_DUMP,
  'enter handle_19:',
  '  NULL',
  'Booting from ROM...',
].join('\r\n') + '\r\n';

export const PC1G_BIOS_E820 = [
  'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
  'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved',
  'BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved',
  'BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable',
  'BIOS-e820: [mem 0x000000003ffe0000-0x000000003fffffff] reserved',
  'BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved',
  'BIOS-e820: [mem 0x000000fd00000000-0x000000ffffffffff] reserved',
];

export const PC1G_DMESG = [
  '<5>[    0.000000] Linux version 6.1.0-50-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1',
  '<6>[    0.000000] Command line: console=ttyS0 panic=-1',
  '<6>[    0.000000] BIOS-provided physical RAM map:',
  ...PC1G_BIOS_E820.map((l) => `<6>[    0.000000] ${l}`),
  '<6>[    0.000000] NX (Execute Disable) protection: active',
  '<6>[    0.000000] SMBIOS 2.8 present.',
  '<7>[    0.000000] e820: update [mem 0x00000000-0x00000fff] usable ==> reserved',
  '<7>[    0.000000] e820: remove [mem 0x000a0000-0x000fffff] usable',
  '<6>[    0.000000] last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000',
  '<6>[    0.000000] PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
  '<6>[    0.000000] PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]',
  '<6>[    0.000000] [mem 0x40000000-0xfffbffff] available for PCI devices',
  '<6>[    0.412345] PCI: Using E820 reservations for host bridge windows',
  '<7>[    0.512345] PCI: pci_cache_line_size set to 64 bytes',
  '<7>[    0.512400] e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]',
  '<7>[    0.512401] e820: reserve RAM buffer [mem 0x3ffe0000-0x3fffffff]',
  '<12>[    2.600000] init: e820 user space line',
].join('\n');

export const PC1G_EDITS = [
  'BIOS-provided physical RAM map:',
  'e820: update [mem 0x00000000-0x00000fff] usable ==> reserved',
  'e820: remove [mem 0x000a0000-0x000fffff] usable',
  'last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000',
  'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
  'PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]',
  '[mem 0x40000000-0xfffbffff] available for PCI devices',
  'e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]',
  'e820: reserve RAM buffer [mem 0x3ffe0000-0x3fffffff]',
];

export const PC1G_IOMEM = [
  '00000000-00000fff : Reserved',
  '00001000-0009fbff : System RAM',
  '0009fc00-0009ffff : Reserved',
  '000a0000-000bffff : PCI Bus 0000:00',
  '000c0000-000c9bff : Video ROM',
  '000ca000-000cadff : Adapter ROM',
  '000f0000-000fffff : Reserved',
  '  000f0000-000fffff : System ROM',
  '00100000-3ffdffff : System RAM',
  '  0f000000-0fe01f4f : Kernel code',
  '  10000000-102d0fff : Kernel rodata',
  '3ffe0000-3fffffff : Reserved',
  '40000000-febfffff : PCI Bus 0000:00',
  '  fd000000-fdffffff : 0000:00:02.0',
  'fec00000-fec003ff : IOAPIC 0',
  'fffc0000-ffffffff : Reserved',
  '100000000-17fffffff : PCI Bus 0000:00',
  'fd00000000-ffffffffff : Reserved',
].join('\n');

export const PC1G_MEMMAP = [
  '0 0x0 0x9fbff System RAM',
  '1 0x9fc00 0x9ffff Reserved',
  '2 0xf0000 0xfffff Reserved',
  '3 0x100000 0x3ffdffff System RAM',
  '4 0x3ffe0000 0x3fffffff Reserved',
  '5 0xfffc0000 0xffffffff Reserved',
  '6 0xfd00000000 0xffffffffff Reserved',
].join('\n');

export function section(name: SectionName, body: string, rc = 0): string {
  return `${beginMarker(name)}\n${body}${body === '' ? '' : '\n'}${endMarkerPrefix(name)}${rc}\n`;
}

/** A whole serial log: console noise, every section, DONE, power-off noise; CRLF line ends. */
export function serialLog(overrides: Partial<Record<SectionName, string>> = {}): string {
  const bodies: Record<SectionName, string> = {
    uname: '6.1.0-50-cloud-amd64',
    cmdline: 'console=ttyS0 panic=-1',
    dmesg: PC1G_DMESG,
    iomem: PC1G_IOMEM,
    memmap: PC1G_MEMMAP,
    'fwcfg-e820': PC1G_FWCFG,
    ...overrides,
  };
  const text =
    '[    0.000000] Linux version 6.1.0-50-cloud-amd64\n' +
    '[    0.000000] BIOS-provided physical RAM map:\n' +
    '[    2.600000] Run /init as init process\n' +
    (Object.keys(bodies) as SectionName[]).map((n) => section(n, bodies[n])).join('') +
    `${DONE_MARKER}\n` +
    '[    3.100000] reboot: Power down\n';
  return text.replace(/\n/g, '\r\n');
}
