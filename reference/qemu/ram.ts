// RAM: its size as the machine applies -m and NUMA, and the split below/above 4 GiB
// (hw/i386/pc_piix.c pc_init1, pc_q35.c pc_q35_init).

import { numaOptArg, RAM_SIZE_ALIGN } from '../cmdline/index.ts';
import { alignUp, GiB } from '../address.ts';
import type { MachineConfig } from '../config.ts';
import { MACHINE_COMPAT, machineVersionAtMost, QEMU_LAYOUT as L, type MachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, UnsupportedOptionError } from '../stages.ts';

export interface RamSplit {
  below: bigint;
  above: bigint;
  warnings: string[];
}

/** pc_piix.c pc_init1() / pc_q35.c pc_q35_init() (docs/model/qemu.md#splitting-ram-below-and-above-4-gib): same in all covered versions. */
export function splitRam(family: 'pc' | 'q35', ramSize: bigint, maxRamBelow4g: bigint | null, gigabyteAlign: boolean): RamSplit {
  const warnings: string[] = [];
  const userM = maxRamBelow4g ?? 0n;
  let lowmem: bigint;
  if (family === 'pc') {
    const M = userM === 0n ? L.PC_DEFAULT_LOWMEM : userM;
    lowmem = M;
    if (ramSize >= M && gigabyteAlign) {
      if (lowmem > L.PC_GIGABYTE_LOWMEM) lowmem = L.PC_GIGABYTE_LOWMEM;
      if (lowmem % GiB !== 0n) {
        warnings.push(`Large machine and max_ram_below_4g (${M}) not a multiple of 1G; possible bad performance.`);
      }
    }
  } else {
    lowmem = ramSize >= L.Q35_LOWMEM_THRESHOLD ? L.Q35_SPLIT_LOWMEM : L.Q35_LOWMEM_THRESHOLD;
    const M = userM === 0n ? L.FOUR_GIB : userM;
    if (lowmem > M) {
      lowmem = M;
      // (ram_size - lowmem) > lowmem is computed in uint64_t: it wraps when ram_size < lowmem.
      const diff = (ramSize - lowmem + (1n << 64n)) % (1n << 64n);
      if (diff > lowmem && lowmem % GiB !== 0n) {
        warnings.push(
          `There is possibly poor performance as the ram size  (0x${ramSize.toString(16)}) is more then twice the size of max-ram-below-4g (${M}) and max-ram-below-4g is not a multiple of 1G.`,
        );
      }
    }
  }
  return ramSize >= lowmem ? { below: lowmem, above: ramSize - lowmem, warnings } : { below: ramSize, above: 0n, warnings };
}

/**
 * hw/core/numa.c parse_numa_node(), per node in order, while vl.c parse_numa_opts() walks the -numa
 * options (qemu_opts_foreach restores each option's location, so the message carries
 * `-numa <arg>: `): the mixing check, then numa_mem_supported. vl.c runs it after the machine
 * options (-smp) and the -cpu model lookup, before board init (CPU realize, pc_memory_init).
 */
export function numaParseChecks(config: MachineConfig, machine: MachineVersion): void {
  let haveMem = false;
  let haveMemdev = false;
  for (const n of config.numa) {
    const where = `-numa ${n.spelled ?? numaOptArg(n)}`;
    haveMem ||= n.mem !== null;
    haveMemdev ||= n.memdev !== null;
    if ((n.mem !== null && haveMemdev) || (n.memdev !== null && haveMem)) {
      throw new QemuRefusal(`${where}: numa configuration should use either mem= or memdev=,mixing both is not allowed`);
    }
    if (n.mem !== null && !machineVersionAtMost(machine, MACHINE_COMPAT.numaMemUpTo)) {
      throw new QemuRefusal(`${where}: Parameter -numa node,mem is not supported by this machine type\nUse -numa node,memdev instead`);
    }
  }
}

/**
 * What QEMU writes to FW_CFG_RAM_SIZE: the global ram_size, which `-machine memory-backend=`
 * sets to the backend's size in every version. v5.2.0's vl.c qemu_init does so after it has
 * copied ram_size to current_machine->ram_size, so there the machine (its layout, etc/e820, CMOS)
 * keeps the 128 MiB default without -m (ramSizeOf, profile.ramSizeFromMemoryBackend) while this
 * key reports the backend; from 7.2 both are the backend's size. Only a configuration QEMU
 * accepts gets here: with -m the two sizes must already be equal.
 */
export function fwCfgRamSizeOf(config: MachineConfig, ramSize: bigint): bigint {
  return machineBackendSize(config) ?? ramSize;
}

/** The size of `-machine memory-backend=`'s backend; null without one (or an id ramSizeOf refuses). */
function machineBackendSize(config: MachineConfig): bigint | null {
  return config.memoryBackend == null ? null : (config.backends.find((b) => b.id === config.memoryBackend)?.size ?? null);
}

/** Whether implicitMaxram leaves device memory: a backend smaller than the default maxram_size. */
export function backendLeavesDeviceMemory(config: MachineConfig, profile: QemuProfile): boolean {
  const maxram = implicitMaxram(config, profile);
  const size = machineBackendSize(config);
  return maxram !== null && size !== null && size < maxram;
}

/**
 * maxram_size when -m does not set it: the class default (hw/core/machine.c machine_initfn sets
 * ram_size and maxram_size to default_ram_size). From 7.2 `-machine memory-backend=` without -m
 * sizes ram_size alone (vl.c qemu_resolve_machine_memdev), so a backend below the 128 MiB default
 * leaves maxram_size above ram_size: a device-memory region of the difference and
 * etc/reserved-memory-end, as `-m 100M,maxmem=128M` would (docs/model/explore-findings.md#m29). null: none
 * beyond -m's own maxmem.
 */
export function implicitMaxram(config: MachineConfig, profile: QemuProfile): bigint | null {
  const noM = config.memory.size === null || config.memory.size === 0n;
  return noM && config.memory.maxmem === null && config.memoryBackend != null && profile.ramSizeFromMemoryBackend ? L.DEFAULT_RAM : null;
}

export function ramSizeOf(config: MachineConfig, profile: QemuProfile, machine: MachineVersion, machineName: string): bigint {
  // The parser keeps `-machine memory-backend=` in its own field, not in machineProps.
  const backendId = config.memoryBackend ?? null;
  let ram = config.memory.size === null || config.memory.size === 0n ? null : alignUp(config.memory.size, RAM_SIZE_ALIGN);
  if (backendId !== null) {
    const b = config.backends.find((x) => x.id === backendId);
    if (b === undefined) throw new QemuRefusal(`Memory backend '${backendId}' not found`);
    if (config.numa.some((n) => n.memdev !== null)) {
      throw new QemuRefusal("'-machine memory-backend' and '-numa memdev' properties are mutually exclusive");
    }
    if (ram === null) {
      // v5.2.0 leaves ram_size at default_ram_size when -m is absent (profile.ramSizeFromMemoryBackend).
      if (profile.ramSizeFromMemoryBackend) ram = b.size;
    } else if (ram !== b.size) throw new QemuRefusal(profile.messages.memoryBackendSizeMismatch);
  }
  ram ??= L.DEFAULT_RAM;
  if (config.numa.length > 0) {
    let sum = 0n;
    const legacy = config.numa.some((n) => n.mem !== null);
    if (legacy && config.numa.some((n) => n.memdev !== null)) {
      throw new QemuRefusal('numa configuration should use either mem= or memdev=,mixing both is not allowed');
    }
    for (const n of config.numa) {
      if (n.mem !== null) sum += n.mem;
      else if (n.memdev !== null) {
        const b = config.backends.find((x) => x.id === n.memdev);
        if (b === undefined) throw new QemuRefusal(`Memory backend '${n.memdev}' not found`);
        sum += b.size;
      } else {
        throw new UnsupportedOptionError('-numa node', `node without mem= or memdev= (${machineName}) is not modelled`);
      }
    }
    if (sum !== ram) throw new QemuRefusal(profile.messages.numaSum(sum, ram));
  }
  return ram;
}
