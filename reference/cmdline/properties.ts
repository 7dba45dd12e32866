// Tables of properties and values the parser accepts, ignores or refuses: machine properties,
// accelerators, -object types, memory-backend properties, -global settings, -boot keys.

import { NO_MAP_EFFECT } from './options.ts';

/** Machine properties: what parsing does with each (keys before the first `.`). */
export type MachinePropClass =
  | 'stage'
  | { noEffect: string }
  | { ignore: string }
  | { unsupported: string }
  | { harness: string }
  /** vl.c qemu_apply_legacy_machine_options() hands it to the kvm accelerator: nothing under TCG. */
  | { kvmOnly: string };

export const MACHINE_PROPS: Readonly<Record<string, MachinePropClass>> = {
  // read by the QEMU stage
  'smbios-entry-point-type': 'stage',
  // kept on QEMU's command line, no effect on the map (listed in config.ignored with the reason)
  // SeaBIOS's own ACPI tables (no table-loader) carry an HPET table only when there is one.
  hpet: 'stage',
  smm: { noEffect: `SMRAM: ${NO_MAP_EFFECT}` },
  vmport: { noEffect: `VMware I/O port: ${NO_MAP_EFFECT}` },
  i8042: { noEffect: `PS/2 controller: ${NO_MAP_EFFECT}` },
  pit: { noEffect: `i8254 PIT: ${NO_MAP_EFFECT}` },
  pic: { noEffect: `i8259 PIC: ${NO_MAP_EFFECT}` },
  smbus: { noEffect: `SMBus controller: ${NO_MAP_EFFECT}` },
  graphics: { noEffect: `firmware graphics hint: ${NO_MAP_EFFECT}` },
  'x-oem-id': { noEffect: `ACPI OEM id (fixed-width field): ${NO_MAP_EFFECT}` },
  'x-oem-table-id': { noEffect: `ACPI OEM table id (fixed-width field): ${NO_MAP_EFFECT}` },
  'default-bus-bypass-iommu': { noEffect: `IOMMU bypass flag: ${NO_MAP_EFFECT}` },
  // change what SeaBIOS allocates in ways the model does not follow (measured)
  // acpi=off is read by the QEMU stage (no ACPI tables, and on pc no PIIX4 PM device); see machine().
  acpi: 'stage',
  sata: { unsupported: 'sata=off removes the q35 AHCI controller (and where the default CD-ROM goes); not modelled' },
  // usb=on is read by the QEMU stage (the board's own USB controllers); see machine().
  usb: 'stage',
  'fd-bootchk': { unsupported: 'floppy boot-signature check: a newer machine property, not modelled' },
  // microvm only
  pcie: 'stage',
  ioapic2: 'stage',
  'isa-serial': 'stage',
  rtc: 'stage',
  'auto-kernel-cmdline': 'stage',
  'x-option-roms': 'stage',
  // host-side only
  'dump-guest-core': { ignore: 'host core dumps only' },
  'mem-merge': { ignore: 'host KSM merging only' },
  'suppress-vmdesc': { ignore: 'migration stream only' },
  'bus-lock-ratelimit': { ignore: 'KVM bus-lock exit throttling only' },
  // not modelled
  firmware: { unsupported: 'pflash firmware is not modelled (SeaBIOS via -bios only)' },
  pflash0: { unsupported: 'pflash firmware is not modelled (SeaBIOS via -bios only)' },
  pflash1: { unsupported: 'pflash firmware is not modelled (SeaBIOS via -bios only)' },
  'confidential-guest-support': { unsupported: 'confidential guests are not modelled' },
  'memory-encryption': { unsupported: 'confidential guests are not modelled' },
  'sgx-epc': { unsupported: 'SGX EPC sections (an extra E820 entry) are not modelled' },
  nvdimm: { unsupported: 'NVDIMMs are not modelled' },
  'nvdimm-persistence': { unsupported: 'NVDIMMs are not modelled' },
  cxl: { unsupported: 'CXL windows (etc/reserved-memory-end) are not modelled' },
  'cxl-fmw': { unsupported: 'CXL windows (etc/reserved-memory-end) are not modelled' },
  hmat: { unsupported: 'ACPI HMAT is not modelled' },
  'kernel-irqchip': { kvmOnly: 'KVM in-kernel irqchip modes are not modelled' },
  kernel_irqchip: { kvmOnly: 'KVM in-kernel irqchip modes are not modelled' },
  'kvm-shadow-mem': { unsupported: 'KVM MMU settings are not modelled' },
  'dt-compatible': { unsupported: 'device-tree boot is not modelled' },
  dtb: { unsupported: 'device-tree boot is not modelled' },
  dumpdtb: { unsupported: 'device-tree boot is not modelled' },
  'phandle-start': { unsupported: 'device-tree boot is not modelled' },
  'max-fw-size': { unsupported: 'pflash firmware is not modelled' },
  boot: { unsupported: 'use -boot' },
  memory: { unsupported: 'machine memory.* properties are not modelled: use -m SIZE,slots=N,maxmem=MAX' },
  smp: { unsupported: 'machine smp.* properties are not modelled: use -smp' },
  'igd-passthru': { unsupported: 'device passthrough is not modelled' },
  // the harness's own
  kernel: { harness: '-kernel' },
  initrd: { harness: '-initrd' },
  append: { harness: 'the kernel command line (user arguments go in -append)' },
};

/** Why a machine property is kept but has no effect on the map, or null when it is not such a property. */
export function noMapEffectReason(key: string): string | null {
  const cls = Object.hasOwn(MACHINE_PROPS, key) ? MACHINE_PROPS[key] : undefined;
  return cls !== undefined && typeof cls === 'object' && 'noEffect' in cls ? cls.noEffect : null;
}

/** Machine bools the QEMU stage reads; the stage sees them only when they differ from the default. */
export const BOOL_MACHINE_PROPS: Readonly<Record<string, { default: 'on' | 'off'; why: string }>> = {
  // hw/core/machine.c machine_set_usb: off by default.
  usb: { default: 'off', why: 'usb=off is the default (no USB controller)' },
  // hw/i386/pc.c pc_machine_set_hpet: on by default.
  hpet: { default: 'on', why: 'hpet=on is the default' },
};

export const MICROVM_ONLY = new Set(['pcie', 'ioapic2', 'isa-serial', 'rtc', 'auto-kernel-cmdline', 'x-option-roms']);
export const PC_ONLY = new Set([
  'max-ram-below-4g',
  'hpet',
  'sata',
  'smbus',
  'vmport',
  'i8042',
  'smbios-entry-point-type',
  'default-bus-bypass-iommu',
  'fd-bootchk',
  'sgx-epc',
  'nvdimm',
  'nvdimm-persistence',
  'cxl',
  'cxl-fmw',
]);

export const KNOWN_ACCELS_UNMODELLED = new Set(['xen', 'hax', 'whpx', 'hvf', 'nvmm', 'qtest']);
/** TCG accelerator properties: translation-cache and threading knobs, no guest-visible effect. */
export const TCG_IGNORED_PROPS = new Set(['thread', 'tb-size', 'split-wx', 'one-insn-per-tb']);

/**
 * -object types that live on the host only (secrets, TLS credentials, I/O threads, RNG sources
 * and persistent-reservation helpers, throttling, authorisation): no guest device, no map change.
 */
export const HOST_SIDE_OBJECTS = new Set([
  'secret', 'secret_keyring', 'tls-creds-x509', 'tls-creds-psk', 'tls-creds-anon', 'tls-cipher-suites',
  'iothread', 'main-loop', 'thread-context', 'rng-random', 'rng-builtin', 'rng-egd', 'pr-manager-helper',
  'throttle-group', 'authz-simple', 'authz-list', 'authz-listfile', 'authz-pam',
]);

export const BACKEND_KINDS = ['memory-backend-ram', 'memory-backend-file', 'memory-backend-memfd'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];
/** backends/hostmem*.c properties per kind (host-side placement and policy: none changes the guest map). */
export const BACKEND_PROPS: Readonly<Record<BackendKind, ReadonlySet<string>>> = (() => {
  const common = [
    'merge',
    'dump',
    'prealloc',
    'prealloc-threads',
    'prealloc-context',
    'host-nodes',
    'policy',
    'share',
    'reserve',
    'x-use-canonical-path-for-ramblock-id',
  ];
  return {
    'memory-backend-ram': new Set(common),
    'memory-backend-file': new Set([...common, 'mem-path', 'align', 'offset', 'discard-data', 'pmem', 'readonly', 'rom']),
    'memory-backend-memfd': new Set([...common, 'hugetlb', 'hugetlbsize', 'seal']),
  };
})();

/**
 * `-global` settings libvirt writes that cannot move the map, and why. disable_s3/disable_s4 only
 * drop the _S3/_S4 packages from the DSDT (AML): QEMU pads the table blob to a fixed size, and
 * its legacy sizing (i440fx ≤ 2.0) counts AML by a fixed estimate, not its length
 * (hw/i386/acpi-build.c acpi_build). Booted by suites/matrix/libvirt.yaml.
 */
export const GLOBALS_WITHOUT_MAP_EFFECT: Readonly<Record<string, string>> = {
  'kvm-pit.lost_tick_policy': 'the KVM in-kernel PIT’s tick policy (no such device under TCG)',
  'ICH9-LPC.disable_s3': 'S3 left out of the DSDT (AML only)',
  'ICH9-LPC.disable_s4': 'S4 left out of the DSDT (AML only)',
  'PIIX4_PM.disable_s3': 'S3 left out of the DSDT (AML only)',
  'PIIX4_PM.disable_s4': 'S4 left out of the DSDT (AML only)',
};

export const BOOT_IGNORED_KEYS = new Set(['order', 'once', 'strict', 'menu', 'reboot-timeout', 'splash-time']);
