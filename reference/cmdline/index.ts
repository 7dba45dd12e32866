// QEMU command line ⇄ MachineConfig. Pure.
//
// parseQemuArgs() reads a user's qemu-system-x86_64 argv the way QEMU's vl.c does (per QEMU
// version), refuses what QEMU refuses while *reading options* with QEMU's own words, and
// refuses what the model does not cover with UnsupportedOptionError — never a silent guess.
// Errors QEMU only finds during machine init (RAM too large for the machine, machine type not
// registered in this version, slots > 256, NUMA sizes not summing to RAM, …) belong to the QEMU
// stage, which gets the config this module produces.
//
// toQemuArgs() prints the canonical argv of a config; parseQemuArgs(toQemuArgs(c)) equals c,
// and toQemuArgs(parseQemuArgs(a)) is a fixed point after one round.
//
// Provenance of the messages: QEMU 7.2.22 (Debian bookworm) run on this machine for every error
// path below (see suites/reference/cmdline.test.ts); 5.2 and 10.0 wording from the sources named
// per table entry (QEMU's softmmu/vl.c, qemu-options.hx and hw/core/machine.c of each release).
//
// The parts (reference/cmdline/): options.ts (the option table), qemu-opts.ts (QemuOpts text),
// profile.ts (per-version parsing), parser.ts (the two passes), memory.ts, machine.ts,
// smp-cpu.ts, numa.ts (one section each), properties.ts and machine-type.ts (the tables they
// check against), errors.ts, printer.ts.

export { QemuCmdlineError, HarnessOwnedOptionError } from './errors.ts';
export { DEFAULT_RAM_SIZE, RAM_SIZE_ALIGN } from './profile.ts';
export { splitQemuOpts } from './qemu-opts.ts';
export { QEMU_OPTIONS } from './options.ts';
export { noMapEffectReason } from './properties.ts';
export { parseMachineType } from './machine-type.ts';
export { parseQemuArgs, type ParseOptions } from './parser.ts';
export { numaOptArg, toQemuArgs } from './printer.ts';
