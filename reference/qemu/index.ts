// QEMU stage: MachineConfig + QEMU profile → Handoff (etc/e820 in file order, CMOS, fw_cfg facts,
// PCI windows, and what SeaBIOS will allocate). Mirrors hw/i386/pc.c pc_memory_init(),
// pc_piix.c pc_init1() / pc_init_isa(), pc_q35.c pc_q35_init(), isapc.c (10.2+),
// target/i386/cpu.c x86_cpu_realizefn() and hw/i386/acpi-build.c. Pure: no I/O, inputs untouched.
//
// The parts (reference/qemu/): stage.ts (the composition), machine.ts, cpu.ts, topology.ts,
// ram.ts, layout.ts (pc_memory_init and CMOS), microvm.ts (the microvm machine), pci-hole.ts, platform.ts, firmware-inputs.ts with
// devices.ts and tables.ts (what SeaBIOS is handed), options.ts.

export { qemuStage } from './stage.ts';
export type { HostFacts, QemuStageOptions } from './options.ts';
export { resolveMachine } from './machine.ts';
export { microvmCmos, microvmOptions, microvmStage } from './microvm.ts';
export { resolveCpu, type ResolvedCpu } from './cpu.ts';
export { resolveTopology, apicIdLimit } from './topology.ts';
export { splitRam, type RamSplit } from './ram.ts';
export { smbiosTablesBytes } from './tables.ts';
