// A MachineConfig built directly (not parsed), for stage tests that vary one field at a time.

import type { MachineConfig } from '../../reference/config.ts';

/** `machine` is a type name ('pc', 'q35', 'pc-i440fx-1.7', 'pc-q35-4.2'); `m` the RAM size, null = QEMU's default. */
export function machineConfig(machine: string, m: bigint | null, extra: Partial<MachineConfig> = {}): MachineConfig {
  const family = machine === 'q35' || machine.startsWith('pc-q35') ? 'q35' : 'pc';
  return {
    machine: { family, version: /(\d+\.\d+)$/.exec(machine)?.[1] ?? null, name: machine },
    maxRamBelow4g: null,
    machineProps: [],
    accel: 'tcg',
    memory: { size: m, spelled: null, slots: null, maxmem: null },
    cpu: { model: null, props: [] },
    smp: { cpus: null, sockets: null, dies: null, cores: null, threads: null, maxcpus: null },
    backends: [],
    numa: [],
    bios: null,
    nodefaults: false,
    devices: [],
    drives: [],
    kernelArgs: '',
    ignored: [],
    ...extra,
  } as MachineConfig;
}
