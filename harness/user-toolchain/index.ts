// User-given components: the one place that turns `--qemu-binary/--bios/--bzimage/--fw-cfg-module/
// --toolchain FILE/--profile-*` (or a matrix's top-level `toolchain:`) into
//   1. the parts of a ProvisionedToolchain the user gave (provisioning supplies only the rest),
//   2. the Toolchain the model predicts with (the profile of each detected version, or the nearest
//      earlier one the model knows: extrapolated), and
//   3. provenance lines every report and JSON result carries ("QEMU 11.2.0: predicted with the
//      11.1 profile (extrapolated)").
//
// Versions are detected from the components, never asked for: QEMU from `--version` (and the
// machine types `-M help` lists), SeaBIOS from the version string inside the image, the kernel
// from the bzImage header (the kernel_version field of the boot protocol, Documentation/arch/x86/
// boot.rst). Detection is configuration, read from the binaries; the model never sees what a boot
// printed. Every command that takes a toolchain goes through resolveUserComponents + modelToolchainFor
// + provisionerFor; none parses these flags itself.
//
// The parts (harness/user-toolchain/): spec.ts (flags, file, matrix → UserComponents), detect.ts
// (versions read from the components), profile-choice.ts (which profile), model.ts (the model's
// Toolchain and provenance), provision.ts (what is missing, and UserToolchain).

// The flags, their commander options and the error live in user-toolchain-flags.ts, which
// `predict` loads without this module's detection and provisioning.
export { biosOfArgs, QEMU_BIOS_NAMES, USER_TOOLCHAIN_OPTIONS, UserComponentError, withUserToolchainOptions, type UserToolchainFlags } from '../user-toolchain-flags.ts';
export * from './profile-choice.ts';
export * from './spec.ts';
export * from './detect.ts';
export * from './model.ts';
export * from './provision.ts';
