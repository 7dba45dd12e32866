// Real boots: qemu-system-x86_64 + SeaBIOS + the Debian cloud kernel, under TCG. Asserts
// invariants between the layers that hold whatever the model says. Never skips: when the
// toolchain cannot be found it fails with what to install.
//
// The guest comes from harness/provision (provisionToolchain(BASELINE_TOOLCHAIN)), or from
// E820_BZIMAGE + E820_FW_CFG_MODULE (+ E820_BUSYBOX) when set.

import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { MachineConfig } from '../../reference/config.ts';
import { GiB } from '../../reference/address.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { capture, provisionToolchain, type Observation, type ProvisionedToolchain } from '../../harness/capture.ts';

const INSTALL = 'apt-get install qemu-system-x86 seabios busybox-static';

async function toolchain(): Promise<ProvisionedToolchain> {
  const qemu = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  if (qemu.exitCode !== 0) throw new Error(`qemu-system-x86_64 is not runnable: ${INSTALL}`);
  const env = process.env;
  if (env.E820_BZIMAGE) {
    return {
      qemu: { binary: 'qemu-system-x86_64' },
      kernel: { image: env.E820_BZIMAGE, fwCfgModule: env.E820_FW_CFG_MODULE ?? null },
      busybox: env.E820_BUSYBOX ?? '/usr/bin/busybox',
    };
  }
  try {
    return await provisionToolchain(BASELINE_TOOLCHAIN);
  } catch (err) {
    throw new Error(
      `no guest kernel for the real-boot tests (${(err as Error).message.split('\n')[0]}).\n` +
        `Install the toolchain (${INSTALL}) and provision the kernel (harness/provision), ` +
        'or set E820_BZIMAGE=/path/vmlinuz-*-cloud-amd64 and E820_FW_CFG_MODULE=/path/qemu_fw_cfg.ko',
    );
  }
}

// capture reads accel, bios and devices from the config and boots the argv it is given.
const config: MachineConfig = parseQemuArgs([]);

/** `BIOS-e820: [mem 0xA-0xB] usable` → inclusive range and kernel type name. */
function biosE820(line: string): { start: bigint; end: bigint; type: string } {
  const m = /^BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.+)$/.exec(line);
  if (!m) throw new Error(`not a BIOS-e820 line: ${line}`);
  return { start: BigInt(m[1]!), end: BigInt(m[2]!), type: m[3]! };
}

/** Linux's e820 type names → /sys/firmware/memmap type strings (arch/x86/kernel/e820.c). */
const MEMMAP_TYPE: Record<string, string> = {
  usable: 'System RAM',
  reserved: 'Reserved',
  'ACPI data': 'ACPI Tables',
  'ACPI NVS': 'ACPI Non-volatile Storage',
  unusable: 'Unusable memory',
};
const SEABIOS_TYPE: Record<number, string> = { 1: 'usable', 2: 'reserved', 3: 'ACPI data', 4: 'ACPI NVS', 5: 'unusable' };

/** Sort and merge touching same-type ranges: enough of Linux's sanitize for a non-overlapping map. */
function sanitize(ranges: Array<{ start: bigint; end: bigint; type: string }>) {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: typeof sorted = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && last.type === r.type && last.end + 1n >= r.start) last.end = r.end > last.end ? r.end : last.end;
    else out.push({ ...r });
  }
  return out;
}

function checkInvariants(obs: Observation, ramBytes: bigint): void {
  const { qemu, firmware, kernel } = obs.report;
  expect(obs.unobserved).toEqual([]);

  // fw_cfg etc/e820: the RAM records add up to -m.
  const ram = (qemu?.e820 ?? []).filter((e) => e.type === 1).reduce((s, e) => s + BigInt(e.length), 0n);
  expect(ram).toBe(ramBytes);

  // The kernel's BIOS-e820 map = /sys/firmware/memmap, entry by entry.
  const bios = (kernel?.biosE820 ?? []).map(biosE820);
  expect(bios.length).toBeGreaterThan(0);
  expect(kernel?.memmap?.map((m) => ({ start: BigInt(m.start), end: BigInt(m.end), type: m.type }))).toEqual(
    bios.map((b) => ({ ...b, type: MEMMAP_TYPE[b.type] ?? b.type })),
  );

  // … = SeaBIOS's final map after sanitize.
  const seabios = (firmware?.e820 ?? []).map((e) => ({ start: BigInt(e.start), end: BigInt(e.end) - 1n, type: SEABIOS_TYPE[e.type] ?? `type ${e.type}` }));
  expect(bios).toEqual(sanitize(seabios));

  // Every top-level System RAM line of /proc/iomem lies inside a usable E820 range.
  const usable = bios.filter((b) => b.type === 'usable');
  const ramLines = (kernel?.iomem ?? []).filter((l) => /^[0-9a-f]+-[0-9a-f]+ : System RAM$/.test(l));
  expect(ramLines.length).toBeGreaterThan(0);
  for (const line of ramLines) {
    const [s, e] = line.split(' ')[0]!.split('-').map((h) => BigInt(`0x${h}`)) as [bigint, bigint];
    expect(usable.some((u) => u.start <= s && e <= u.end), line).toBe(true);
  }
}

describe('real boot (TCG)', () => {
  for (const [name, args, ram] of [
    ['pc, 1G', ['-M', 'pc', '-m', '1G'], 1n * GiB],
    ['q35, 3G (RAM above 4G)', ['-M', 'q35', '-m', '3G'], 3n * GiB],
  ] as const) {
    it(`${name}: the layers agree with each other`, async () => {
      const tools = await toolchain();
      const obs = await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: [...args], provisioned: tools, timeoutMs: 90_000 });
      checkInvariants(obs, ram);
      expect(obs.meta.cmdline).toBe('console=ttyS0 panic=-1');
    }, 120_000);
  }
});
