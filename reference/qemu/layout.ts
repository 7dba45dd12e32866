// The guest-physical layout pc_memory_init() builds (hw/i386/pc.c): RAM below and above 4 GiB
// (moved above 1 TiB around the AMD HyperTransport hole), the device-memory region for hotplug,
// the 64-bit PCI hole, the etc/e820 records in file order and where the cold-plugged DIMMs go;
// and the CMOS memory registers (pc_cmos_init). Refuses, in QEMU's order, what pc_memory_init refuses.

import { alignUp, GiB, KiB, MiB } from '../address.ts';
import type { MachineConfig } from '../config.ts';
import { E820, type E820Record } from '../e820.ts';
import type { QemuChange } from '../intent.ts';
import { ISAPC_CLASS, MACHINE_COMPAT, machineVersionAtMost, QEMU_LAYOUT as L, type MachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, UnsupportedOptionError, type CmosMemory, type ResolvedTopology } from '../stages.ts';
import type { ResolvedCpu } from './cpu.ts';
import { optText } from './devices.ts';
import { prop } from './options.ts';
import { checkI440fxPciHole32 } from './pci-hole.ts';
import { implicitMaxram, splitRam, type RamSplit } from './ram.ts';

/** The board facts the layout depends on. */
export interface Board {
  family: 'pc' | 'q35' | 'isapc';
  machineName: string;
  version: MachineVersion;
}

export interface MemoryLayout {
  below: bigint;
  above: bigint;
  /** 4 GiB, or 1 TiB when the AMD HyperTransport hole pushes RAM above it. */
  aboveStart: bigint;
  e820: E820Record[];
  deviceMemory: { start: bigint; end: bigint } | null;
  reservedMemoryEnd: bigint | null;
  /** Where the 64-bit PCI hole starts and its size (the host bridge's pci-hole64-size; 0 on isapc). */
  hole64: { start: bigint; size: bigint };
  /** Cold-plugged DIMMs in the guest ACPI driver's order, inclusive ends. */
  dimms: Array<{ start: bigint; end: bigint }>;
  warnings: string[];
}

export function memoryLayout(
  config: MachineConfig,
  profile: QemuProfile,
  board: Board,
  cpu: ResolvedCpu,
  ramSize: bigint,
  intent: readonly QemuChange[],
): MemoryLayout {
  const { family, version: mv } = board;
  const i440fx = family === 'pc';
  const isapc = family === 'isapc';
  const M = config.maxRamBelow4g;

  // -m slots/maxmem (hw/core/machine.c machine_set_mem, hw/i386/pc.c pc_memory_init).
  const slots = config.memory.slots ?? 0;
  const maxmem = config.memory.maxmem;
  if (config.memory.slots !== null && maxmem === null) throw new QemuRefusal(profile.messages.slotsWithoutMaxmem);
  if (maxmem !== null && maxmem < ramSize) throw new QemuRefusal(profile.messages.maxmemBelowSize(maxmem, ramSize));
  if (maxmem !== null && slots > 0 && maxmem === ramSize) throw new QemuRefusal(profile.messages.slotsMaxmemEqual(maxmem, ramSize));
  const warnings: string[] = [];
  if (isapc && profile.isapc.board === 'isapc.c') {
    // hw/i386/isapc.c pc_init_isa(), before pc_memory_init(): the CPU check (a warning), then the RAM limit.
    const isapcBoard = profile.isapc;
    if (!ISAPC_CLASS.cpuTypes32.includes(cpu.model)) warnings.push(isapcBoard.deprecatedCpu.replace('%s', cpu.model));
    if (ramSize > isapcBoard.maxRam) throw new QemuRefusal(isapcBoard.tooMuchMemory.replace('%d', String(ramSize / MiB)));
  }
  const hasReservedMemory = isapc ? ISAPC_CLASS.hasReservedMemory : !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.noReservedMemoryUpTo));
  // maxram_size: -m's maxmem, or without -m the class default a memory backend may leave above ram_size.
  const maxram = maxmem ?? implicitMaxram(config, profile);
  // pc_pci_hole64_start() and the device memory read maxmem only with has_reserved_memory; the
  // refusals for slots/maxmem come later in pc_memory_init(), after the phys-bits bound check.
  const hotplug = hasReservedMemory && maxram !== null && maxram > ramSize;

  const gigabyteAlign = isapc ? ISAPC_CLASS.gigabyteAlign : !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.gigabyteAlignOffUpTo));
  const split: RamSplit =
    isapc && profile.isapc.board === 'isapc.c'
      ? { below: ramSize, above: 0n, warnings: [] } // isapc.c: no split (max_ram_below_4g overwritten)
      : // pc_init1(): isapc (≤ 10.0) takes the i440fx split, without the gigabyte alignment.
        splitRam(family === 'q35' ? 'q35' : 'pc', ramSize, M, gigabyteAlign);
  warnings.push(...split.warnings);
  const below = split.below;
  const above = split.above;
  // pc_memory_init()'s pci_hole64_size: the host bridge's pci-hole64-size; 0 without PCI (isapc).
  const hole64Size = isapc ? 0n : i440fx ? L.I440FX_HOLE64_SIZE : L.Q35_HOLE64_SIZE;
  const brokenReservedEnd = machineVersionAtMost(mv, MACHINE_COMPAT.brokenReservedEndUpTo);
  const alignedDimm = !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.unalignedDimmUpTo));

  // Device memory and the 64-bit hole start depend on where above-4G RAM starts.
  const layoutFor = (aboveStart: bigint) => {
    const aboveEnd = aboveStart + above;
    const dmBase = alignUp(aboveEnd, GiB);
    const dmSize = hotplug ? maxram - ramSize + (alignedDimm ? BigInt(slots) * GiB : 0n) : 0n;
    const hole64Start = alignUp(hotplug ? dmBase + (brokenReservedEnd ? 0n : dmSize) : aboveEnd, GiB);
    return { aboveEnd, dmBase, dmSize, hole64Start };
  };
  const maxUsedGpa = (aboveStart: bigint): bigint => {
    const { aboveEnd, dmBase, dmSize, hole64Start } = layoutFor(aboveStart);
    if (profile.physBitsBoundCheck === 'v7.1') {
      return cpu.physBits <= 32 ? (1n << BigInt(cpu.physBits)) - 1n : hole64Start + hole64Size - 1n;
    }
    if (cpu.longMode) return hole64Start + hole64Size - 1n;
    // 8.2+ 32-bit CPU: broken_32bit_mem_addr_check for machine types ≤ 8.1 (not isapc: no compat).
    if (machineVersionAtMost(mv, MACHINE_COMPAT.broken32BitMemAddrCheckUpTo)) return (1n << BigInt(cpu.physBits)) - 1n;
    return hotplug ? dmBase + dmSize - 1n : aboveEnd - 1n;
  };

  const e820: E820Record[] = [];
  if (config.accel === 'kvm') e820.push({ start: profile.kvmIdentityBase, length: L.KVM_IDENTITY_SIZE, type: E820.RESERVED });
  let aboveStart = L.FOUR_GIB;
  if (profile.amdHtHole) {
    const enforce = !machineVersionAtMost(mv, MACHINE_COMPAT.amd1tbHoleOffUpTo);
    if (cpu.vendor === 'AuthenticAMD' && enforce) {
      if (maxUsedGpa(aboveStart) >= L.AMD_HT_START) aboveStart = L.AMD_ABOVE_1TB_START;
      if (cpu.physBits >= 40) e820.push({ start: L.AMD_HT_START, length: L.AMD_HT_SIZE, type: E820.RESERVED });
    }
  }
  if (profile.physBitsBoundCheck !== 'none') {
    const maxUsed = maxUsedGpa(aboveStart);
    const maxPhys = (1n << BigInt(cpu.physBits)) - 1n;
    if (maxPhys < maxUsed) {
      throw new QemuRefusal(`Address space limit 0x${maxPhys.toString(16)} < 0x${maxUsed.toString(16)} phys-bits too low (${cpu.physBits})`);
    }
  }
  e820.push({ start: 0n, length: below, type: E820.RAM });
  if (above > 0n) e820.push({ start: aboveStart, length: above, type: E820.RAM });
  // pc_memory_init() after the RAM entries (same order in 7.2, 10.0 and master; 5.2 has no bound check).
  if (!hasReservedMemory && (slots > 0 || (maxram !== null && maxram > ramSize))) {
    throw new QemuRefusal(`"-memory 'slots|maxmem'" is not supported by: ${board.machineName}`);
  }
  if (hotplug) {
    if (slots > L.MAX_RAM_SLOTS) throw new QemuRefusal(`unsupported amount of memory slots: ${slots}`);
    if (maxram % 4096n !== 0n) throw new QemuRefusal('maximum memory size must by aligned to multiple of 4096 bytes');
  }
  if (i440fx) checkI440fxPciHole32(config, below);
  // Declared records (a patched build): e820_add_entry appends, so they follow the machine's own
  // in file order; on QEMU ≤ 7.1 a non-RAM record also goes into the legacy 0x8003 table.
  for (const c of intent) e820.push({ start: c.start, length: c.size, type: c.type });

  const lay = layoutFor(aboveStart);
  const deviceMemory = hotplug ? { start: lay.dmBase, end: lay.dmBase + lay.dmSize } : null;
  return {
    below,
    above,
    aboveStart,
    e820,
    deviceMemory,
    reservedMemoryEnd: hotplug ? alignUp(brokenReservedEnd ? lay.dmBase : lay.dmBase + lay.dmSize, GiB) : null,
    hole64: { start: lay.hole64Start, size: hole64Size },
    dimms: coldPluggedDimms(config, deviceMemory),
    warnings,
  };
}

/** CMOS memory registers (hw/i386/pc.c pc_cmos_init, pc_cmos_init_late), and 0x5f the CPU count − 1. */
export function cmosMemory(below: bigint, above: bigint, topology: ResolvedTopology): CmosMemory {
  const sizes = cmosMemorySizes(below, above);
  // Spelled out rather than spread (slower, and these are all of CmosMemory's fields).
  return {
    baseKiB: sizes.baseKiB,
    extendedKiB: sizes.extendedKiB,
    above16MiB64K: sizes.above16MiB64K,
    above4GiB64K: sizes.above4GiB64K,
    cpusMinusOne: topology.cpus > 255 ? 0 : topology.cpus - 1,
  };
}

/** The RAM size registers 0x15/0x16, 0x17/0x18 (0x30/0x31), 0x34/0x35 and 0x5b-0x5d, as pc and microvm write them. */
export function cmosMemorySizes(below: bigint, above: bigint): Omit<CmosMemory, 'cpusMinusOne'> {
  const clamp = (v: bigint): number => Number(v > 65535n ? 65535n : v);
  return {
    baseKiB: Number(below / KiB > 640n ? 640n : below / KiB),
    extendedKiB: clamp(below > MiB ? (below - MiB) / KiB : 0n),
    above16MiB64K: clamp(below > 16n * MiB ? (below - 16n * MiB) / (64n * KiB) : 0n),
    above4GiB64K: Number((above / (64n * KiB)) & 0xffffffn),
  };
}

/**
 * Where QEMU puts the cold-plugged DIMMs (hw/mem/memory-device.c memory_device_get_free_addr: the
 * first free address of the device-memory region, in -device order), in the order the guest's ACPI
 * driver adds them (the DSDT's memory devices MPnn, by slot). Inclusive ends.
 */
function coldPluggedDimms(config: MachineConfig, region: { start: bigint; end: bigint } | null): Array<{ start: bigint; end: bigint }> {
  const dimms = config.devices.filter((d) => d.driver === 'pc-dimm');
  if (dimms.length === 0) return [];
  if (region === null) return []; // QEMU refuses a DIMM without slots/maxmem (checked where it plugs)
  let next = region.start;
  let freeSlot = 0;
  const placed: Array<{ slot: number; start: bigint; end: bigint }> = [];
  for (const d of dimms) {
    const text = optText(d.driver, d.props);
    if (prop(d.props, 'addr') !== undefined) throw new UnsupportedOptionError('-device', `${text}: an explicit DIMM addr= is not modelled`);
    const backend = config.backends.find((b) => b.id === prop(d.props, 'memdev'));
    if (backend === undefined) throw new UnsupportedOptionError('-device', `${text}: a DIMM without a memory backend of its own is not modelled`);
    // Anonymous RAM is aligned to 2 MiB (QEMU_VMALLOC_ALIGN); sizes that keep DIMMs contiguous only.
    if (backend.size % (2n * MiB) !== 0n) throw new UnsupportedOptionError('-device', `${text}: a DIMM whose size is not a multiple of 2 MiB (alignment gaps) is not modelled`);
    const slotText = prop(d.props, 'slot');
    const slot = slotText !== undefined ? Number(slotText) : freeSlot;
    while (placed.some((p) => p.slot === freeSlot) || freeSlot === slot) freeSlot++;
    placed.push({ slot, start: next, end: next + backend.size - 1n });
    next += backend.size;
  }
  return placed.sort((a, b) => a.slot - b.slot).map(({ start, end }) => ({ start, end }));
}
