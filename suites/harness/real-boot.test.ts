// Real boots: qemu-system-x86_64 + SeaBIOS + the Debian cloud kernel, under TCG. Asserts
// invariants between the layers that hold whatever the model says. Never skips: when the
// toolchain cannot be found it fails with what to install.
//
// The guest comes from harness/provision (provisionToolchain(BASELINE_TOOLCHAIN)), or from
// E820_BZIMAGE + E820_FW_CFG_MODULE when set.

import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { MachineConfig } from '../../reference/config.ts';
import { GiB } from '../../reference/address.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { capture, provisionToolchain, type Observation, type ProvisionedToolchain } from '../../harness/capture.ts';
import { BIOS_E820_TYPE, biosE820Ranges, MEMMAP_TYPE, sanitize } from '../kernel-e820-text.ts';

const INSTALL = 'apt-get install qemu-system-x86 seabios gcc';

async function toolchain(): Promise<ProvisionedToolchain> {
  const qemu = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  if (qemu.exitCode !== 0) throw new Error(`qemu-system-x86_64 is not runnable: ${INSTALL}`);
  const env = process.env;
  if (env.E820_BZIMAGE) {
    return {
      qemu: { binary: 'qemu-system-x86_64' },
      kernel: { image: env.E820_BZIMAGE, fwCfgModule: env.E820_FW_CFG_MODULE ?? null },
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

/** SeaBIOS's type numbers → the pre-7.2 BIOS-e820 text this guest (6.1) prints. */
const SEABIOS_TYPE = (type: number): string => BIOS_E820_TYPE[type]?.[0] ?? `type ${type}`;

function checkInvariants(obs: Observation, ramBytes: bigint): void {
  const { qemu, firmware, kernel } = obs.report;
  expect(obs.unobserved).toEqual([]);

  // fw_cfg etc/e820: the RAM records add up to -m.
  const ram = (qemu?.e820 ?? []).filter((e) => e.type === 1).reduce((s, e) => s + BigInt(e.length), 0n);
  expect(ram).toBe(ramBytes);

  // The kernel's BIOS-e820 map = /sys/firmware/memmap, entry by entry.
  const bios = biosE820Ranges(kernel?.biosE820 ?? []);
  expect(bios.length).toBeGreaterThan(0);
  expect(kernel?.memmap?.map((m) => ({ start: BigInt(m.start), last: BigInt(m.end), type: m.type }))).toEqual(
    bios.map((b) => ({ ...b, type: MEMMAP_TYPE[b.type] ?? b.type })),
  );

  // … = SeaBIOS's final map after sanitize.
  const seabios = (firmware?.e820 ?? []).map((e) => ({ start: BigInt(e.start), last: BigInt(e.end) - 1n, type: SEABIOS_TYPE(e.type) }));
  expect(bios).toEqual(sanitize(seabios));

  // Every top-level System RAM line of /proc/iomem lies inside a usable E820 range.
  const usable = bios.filter((b) => b.type === 'usable');
  const ramLines = (kernel?.iomem ?? []).filter((l) => /^[0-9a-f]+-[0-9a-f]+ : System RAM$/.test(l));
  expect(ramLines.length).toBeGreaterThan(0);
  for (const line of ramLines) {
    const [s, e] = line.split(' ')[0]!.split('-').map((h) => BigInt(`0x${h}`)) as [bigint, bigint];
    expect(usable.some((u) => u.start <= s && e <= u.last), line).toBe(true);
  }
}

describe('real boot (TCG)', () => {
  for (const [name, args, ram] of [
    ['pc, 1G', ['-M', 'pc', '-m', '1G'], 1n * GiB],
    ['q35, 3G (RAM above 4G)', ['-M', 'q35', '-m', '3G'], 3n * GiB],
  ] as const) {
    it(`${name}: the layers agree with each other`, async () => {
      const tools = await toolchain();
      const outcome = await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: [...args], provisioned: tools, timeoutMs: 90_000 });
      if (outcome.kind !== 'booted') throw new Error(`${name} did not boot: ${outcome.kind}: ${outcome.message}`);
      const obs = outcome.observation;
      checkInvariants(obs, ram);
      expect(obs.meta.cmdline).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp');
    }, 120_000);
  }
});
