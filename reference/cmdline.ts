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

import { KiB, MiB, FOUR_GIB, alignUp, U64_MAX } from './address.ts';
import type {
  Accelerator,
  CpuConfig,
  DeviceConfig,
  IgnoredOption,
  MachineConfig,
  MachineFamily,
  MachineType,
  MemoryBackend,
  MemoryConfig,
  NumaNode,
  SmpConfig,
} from './config.ts';
import { QEMU_LAYOUT } from './profiles/qemu.ts';
import { qemuOptionNames } from './profiles/qemu-options.ts';
import { QEMU_SIZE_SYNTAX, formatQemuSize, qemuStrtosz, type QemuSizeSyntax, type SizeUnit } from './qemu-size.ts';
import { QemuRefusal, UnsupportedOptionError } from './stages.ts';
import { toolchainOf, type QemuVersion } from './toolchain.ts';

// ---- errors -----------------------------------------------------------------------------------

/**
 * QEMU would exit while reading this option. `qemuMessage` is exactly the first line QEMU prints
 * after `qemu-system-x86_64: `; `hint` the lines it appends, if any.
 */
export class QemuCmdlineError extends QemuRefusal {
  constructor(
    /** The option as typed (`-m`, `--machine`). */
    readonly option: string,
    /** Its argument as typed; null for options without one. */
    readonly arg: string | null,
    qemuMessage: string,
    readonly hint: string | null = null,
  ) {
    super(qemuMessage);
    this.name = 'QemuCmdlineError';
    const where = arg === null ? option : `${option} ${arg}`;
    // QEMU usually names the option itself ("-m banana: …"); say where when it does not.
    this.message = qemuMessage.startsWith(where)
      ? `QEMU would refuse this command line: ${qemuMessage}`
      : `QEMU would refuse ${where}: ${qemuMessage}`;
  }
}

/** An option the harness supplies itself; a user command line must not carry it. */
export class HarnessOwnedOptionError extends UnsupportedOptionError {
  constructor(option: string, what: string) {
    super(
      option,
      `the harness adds ${what} itself (it boots its own kernel and initramfs and reads the serial and debug ports); remove it from the command line`,
    );
    this.name = 'HarnessOwnedOptionError';
  }
}

// ---- per-version behaviour of option parsing --------------------------------------------------

interface CmdlineProfile {
  readonly size: QemuSizeSyntax;
  /**
   * How `-m` is applied: 5.2 softmmu/vl.c set_memory_options() (suffix-less value × MiB, its own
   * maxmem messages) or 7.2+ vl.c parse_memory_options() + hw/core/machine.c machine_set_mem()
   * (suffix-less value gets an `M` appended and is parsed again as property `memory.size`).
   */
  readonly memApply: 'vl-set-memory-options' | 'machine-set-mem';
  /** `-smp` parsed by QemuOpts (5.2: per-option messages) or keyval into machine `smp.*` (6.1+). */
  readonly smpParser: 'qemuopts' | 'keyval';
  /**
   * A topology value of 0: 5.2 treats it as "not given"; 6.2 … 8.2 warn and do the same;
   * 9.0 removed it (docs/about/removed-features.rst, "-smp parameter=0").
   */
  readonly smpZero: 'unset' | 'warn' | 'error';
  /** vl.c select_machine() names the unknown type (`unsupported machine type: "<type>"`): 9.1+. */
  readonly unsupportedMachineNamed: boolean;
  /** 5.2 puts the option's location in front (`-M pc-i440fx-1.3: unsupported machine type`), observed; 7.2 does not. */
  readonly machineErrorsLocated: boolean;
  /** Which options take a JSON argument: -object from 6.0, -device from 6.2, -netdev from 7.1 (qemu-options.hx). */
  readonly jsonSyntax: { readonly object: boolean; readonly device: boolean; readonly netdev: boolean };
  /** net_client_init's errors name the -netdev they are about (7.2+; 5.2 prints the bare message). */
  readonly netdevErrorsLocated: boolean;
  /** `-smp` levels besides sockets/dies/cores/threads this release parses: clusters (7.0), books and drawers (8.2), modules (9.0). */
  readonly extraTopologyLevels: readonly string[];
}

const CMDLINE_PROFILES: Readonly<Record<QemuVersion, CmdlineProfile>> = {
  '5.2': { size: QEMU_SIZE_SYNTAX['5.2'], machineErrorsLocated: true, memApply: 'vl-set-memory-options', smpParser: 'qemuopts', smpZero: 'unset', unsupportedMachineNamed: false, jsonSyntax: { object: false, device: false, netdev: false }, netdevErrorsLocated: false, extraTopologyLevels: [] },
  '7.2': { size: QEMU_SIZE_SYNTAX['7.2'], machineErrorsLocated: false, memApply: 'machine-set-mem', smpParser: 'keyval', smpZero: 'warn', unsupportedMachineNamed: false, jsonSyntax: { object: true, device: true, netdev: true }, netdevErrorsLocated: true, extraTopologyLevels: ['clusters'] },
  '10.0': { size: QEMU_SIZE_SYNTAX['10.0'], machineErrorsLocated: false, memApply: 'machine-set-mem', smpParser: 'keyval', smpZero: 'error', unsupportedMachineNamed: true, jsonSyntax: { object: true, device: true, netdev: true }, netdevErrorsLocated: true, extraTopologyLevels: ['clusters', 'books', 'drawers', 'modules'] },
  '11.1': { size: QEMU_SIZE_SYNTAX['11.1'], machineErrorsLocated: false, memApply: 'machine-set-mem', smpParser: 'keyval', smpZero: 'error', unsupportedMachineNamed: true, jsonSyntax: { object: true, device: true, netdev: true }, netdevErrorsLocated: true, extraTopologyLevels: ['clusters', 'books', 'drawers', 'modules'] },
};

/** hw/core/machine.c machine_class_init(): default_ram_size, what `-m 0` or no `-m` means. */
export const DEFAULT_RAM_SIZE = QEMU_LAYOUT.DEFAULT_RAM;
/** hw/core/machine.c machine_set_mem() / 5.2 set_memory_options(): QEMU_ALIGN_UP(size, 8192). */
export const RAM_SIZE_ALIGN = 8n * KiB;
/** hw/i386/pc.c pc_machine_set_max_ram_below_4g(): the largest value accepted. */
const MAX_RAM_BELOW_4G_LIMIT = FOUR_GIB;
/** …and the value below which it warns (0 included: verified on 7.2.22). */
const MAX_RAM_BELOW_4G_WARN = MiB;

const SIZE_HINT =
  'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.';

// ---- QemuOpts / keyval text -------------------------------------------------------------------

/** One `key=value` of an option argument; `implied` when the key came from the implied first key. */
interface Param {
  key: string;
  value: string;
  implied: boolean;
}

/**
 * Splits `a,b=c,d=e,,f` the way QemuOpts/keyval do: `,,` is a literal comma; a first element
 * without `=` belongs to `impliedKey`; a later bare `flag` means `flag=on`.
 */
export function splitQemuOpts(text: string, impliedKey: string | null): Param[] {
  const raw: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
      } else {
        raw.push(cur);
        cur = '';
      }
    } else {
      cur += c;
    }
  }
  raw.push(cur);
  if (text === '') return [];
  return raw.map((p, i) => {
    const eq = p.indexOf('=');
    if (eq >= 0) return { key: p.slice(0, eq), value: p.slice(eq + 1), implied: false };
    if (i === 0 && impliedKey !== null) return { key: impliedKey, value: p, implied: true };
    return { key: p, value: 'on', implied: false };
  });
}

/** Escapes a value for a QemuOpts list (`,` → `,,`). */
function esc(value: string): string {
  return value.replaceAll(',', ',,');
}

/** Prints `implied,k=v,…` (the implied value first, bare); the inverse of splitQemuOpts. */
function joinQemuOpts(implied: string | null, pairs: ReadonlyArray<readonly [string, string]>): string {
  const parts = pairs.map(([k, v]) => `${k}=${esc(v)}`);
  return (implied === null ? parts : [esc(implied), ...parts]).join(',');
}

// ---- option table -----------------------------------------------------------------------------

type Handler =
  | 'm'
  | 'machine'
  | 'accel'
  | 'enable-kvm'
  | 'smp'
  | 'cpu'
  | 'numa'
  | 'object'
  | 'bios'
  | 'nodefaults'
  | 'device'
  | 'drive'
  | 'netdev'
  | 'nic'
  | 'append'
  | 'vga'
  | 'nographic'
  | 'no-acpi'
  | 'no-hpet'
  | 'usb'
  | 'global'
  | 'chardev'
  | 'mon'
  | 'boot';

interface OptionSpec {
  readonly arg: boolean;
  readonly kind: { handle: Handler } | { ignore: string } | { harness: string } | { unsupported: string };
}

/** Checked by `e820 check` boots on pc and q35 (QEMU 7.2, -m 1G): the map does not move. */
const NO_MAP_EFFECT = 'its table/device change leaves the memory map unchanged (checked by boots on pc and q35); kept on the QEMU command line';

/** Host-side backends and plumbing: the guest sees only the -device that uses them, judged on its own (suites/matrix/harmless.yaml boots each). */
const BACKEND_ONLY = 'a host-side backend: the guest sees only the -device that uses it, which is judged on its own';

const h = (handle: Handler, arg = true): OptionSpec => ({ arg, kind: { handle } });
const ign = (why: string, arg = true): OptionSpec => ({ arg, kind: { ignore: why } });
const own = (what: string, arg = true): OptionSpec => ({ arg, kind: { harness: what } });
const no = (why: string, arg = true): OptionSpec => ({ arg, kind: { unsupported: why } });

/**
 * Every option the model knows, by its name without dashes (QEMU accepts `-opt` and `--opt`,
 * never `-opt=value`). Options not listed here are refused as not modelled.
 */
export const QEMU_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  // modelled
  m: h('m'),
  M: h('machine'),
  machine: h('machine'),
  accel: h('accel'),
  'enable-kvm': h('enable-kvm', false),
  smp: h('smp'),
  cpu: h('cpu'),
  numa: h('numa'),
  object: h('object'),
  bios: h('bios'),
  nodefaults: h('nodefaults', false),
  device: h('device'),
  drive: h('drive'),
  netdev: h('netdev'),
  nic: h('nic'),
  append: h('append'),
  vga: h('vga'),
  nographic: h('nographic', false),
  // vl.c (≤ 8.x): `-no-acpi` is `-machine acpi=off`; 10.0 and 11.1 no longer know it (profiles/qemu-options.ts).
  'no-acpi': h('no-acpi', false),
  // vl.c: `-usb` is `-machine usb=on`, where it stands.
  usb: h('usb', false),
  boot: h('boot'),
  // accepted, cannot change what any layer reports about memory
  name: ign('names the VM (window title, process name) only'),
  display: ign('chooses the host display backend only; guest devices are unchanged'),
  vnc: ign('host VNC server only; guest devices are unchanged'),
  'full-screen': ign('host window only', false),
  monitor: ign('host-side monitor channel; adds no guest device'),
  qmp: ign('host-side QMP channel; adds no guest device'),
  'no-reboot': ign('what QEMU does when the guest resets; the memory map is unchanged', false),
  'no-shutdown': ign('what QEMU does when the guest powers off; the memory map is unchanged', false),
  rtc: ign('RTC clock base and drift only; the CMOS memory registers are unchanged'),
  uuid: ign('SMBIOS type 1 UUID: a fixed-size field, the SMBIOS tables keep their size'),
  k: ign('VNC keyboard layout only'),
  snapshot: ign('drives write to temporary files; nothing guest-visible changes', false),
  'no-user-config': ign('QEMU reads no host config files; the harness passes everything explicitly', false),
  'mem-prealloc': ign('host-side preallocation of guest RAM; the guest sees the same RAM', false),
  'mem-path': ign('host file backing guest RAM; the guest sees the same RAM'),
  overcommit: ign('host-side memory locking / CPU PM hints; the memory map is unchanged'),
  realtime: ign('host-side memory locking (mlock=; 5.2 only, later -overcommit); the memory map is unchanged'),
  msg: ign('formatting of QEMU’s own messages only'),
  trace: ign('host-side tracing only'),
  D: ign('host-side log file only'),
  d: ign('host-side logging only'),
  sandbox: ign('host-side seccomp filter only'),
  pidfile: ign('host-side pid file only'),
  'watchdog-action': ign('what QEMU does when a watchdog fires; no device is added'),
  parallel: ign('LPT port: SeaBIOS records it in the BIOS data area only, no allocation'),
  // libvirt starts every guest stopped and continues it over QMP; the harness boots it running.
  S: ign('the CPU starts stopped until a monitor `cont`; the map is built the same once it runs (the harness boots it running)', false),
  chardev: h('chardev'),
  mon: h('mon'),
  blockdev: ign(`block node: ${BACKEND_ONLY} (drive=)`),
  fsdev: ign(`9p export: ${BACKEND_ONLY}`),
  audiodev: ign(`audio backend: ${BACKEND_ONLY}`),
  tpmdev: ign(`TPM backend: ${BACKEND_ONLY}`),
  'add-fd': ign('hands QEMU a host file descriptor; nothing guest-visible'),
  spice: ign('host SPICE server only; its guest devices (qxl, vdagent) are separate -device options'),
  compat: ign('policy for deprecated management interfaces only'),
  action: ign('what QEMU does on reset, shutdown, panic or a watchdog; the memory map is unchanged'),
  'enable-fips': ign('host crypto policy only', false),
  'no-hpet': h('no-hpet', false),
  // the harness's own
  kernel: own('-kernel'),
  initrd: own('-initrd'),
  serial: own('-serial'),
  debugcon: own('the debug console (-device isa-debugcon)'),
  // known to QEMU, not modelled
  hda: no('adds an IDE disk SeaBIOS drives; not modelled in this spelling: use -drive file=…,if=ide'),
  hdb: no('adds an IDE disk SeaBIOS drives; not modelled in this spelling: use -drive file=…,if=ide'),
  hdc: no('adds an IDE disk SeaBIOS drives; not modelled in this spelling: use -drive file=…,if=ide'),
  hdd: no('adds an IDE disk SeaBIOS drives; not modelled in this spelling: use -drive file=…,if=ide'),
  cdrom: no('adds a CD-ROM SeaBIOS drives; not modelled in this spelling: use -drive file=…,media=cdrom'),
  fda: no('adds a floppy SeaBIOS drives; not modelled in this spelling: use -drive file=…,if=floppy'),
  fdb: no('adds a floppy SeaBIOS drives; not modelled in this spelling: use -drive file=…,if=floppy'),
  net: no('legacy NIC/backend syntax is not modelled: use -nic or -netdev with -device'),
  usbdevice: no('adds a USB device SeaBIOS initialises (allocations); not modelled'),
  global: h('global'),
  smbios: no('changes the SMBIOS tables SeaBIOS copies into memory; not modelled'),
  acpitable: no('adds ACPI tables SeaBIOS allocates for; not modelled'),
  fw_cfg: no('adds fw_cfg files the firmware may act on; not modelled'),
  L: no('changes where QEMU finds firmware and option ROMs; not modelled (use -bios PATH)'),
  dtb: no('adds SETUP_DTB setup_data to the kernel image; not modelled'),
  daemonize: no('QEMU would leave the harness’s process tree', false),
  incoming: no('migration input: the state comes from elsewhere; not modelled'),
  loadvm: no('restores a snapshot: the state comes from elsewhere; not modelled'),
  readconfig: no('reads options from a file the model cannot see; pass them on the command line'),
  'option-rom': no('adds an option ROM SeaBIOS runs; not modelled'),
  'no-kvm': no('removed from QEMU; use -accel tcg', false),
  'xen-domid': no('Xen is not modelled'),
};

/** Machine properties: what parsing does with each (keys before the first `.`). */
type MachinePropClass =
  | 'stage'
  | { noEffect: string }
  | { ignore: string }
  | { unsupported: string }
  | { harness: string }
  /** vl.c qemu_apply_legacy_machine_options() hands it to the kvm accelerator: nothing under TCG. */
  | { kvmOnly: string };

const MACHINE_PROPS: Readonly<Record<string, MachinePropClass>> = {
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
const BOOL_MACHINE_PROPS: Readonly<Record<string, { default: 'on' | 'off'; why: string }>> = {
  // hw/core/machine.c machine_set_usb: off by default.
  usb: { default: 'off', why: 'usb=off is the default (no USB controller)' },
  // hw/i386/pc.c pc_machine_set_hpet: on by default.
  hpet: { default: 'on', why: 'hpet=on is the default' },
};

const MICROVM_ONLY = new Set(['pcie', 'ioapic2', 'isa-serial', 'rtc', 'auto-kernel-cmdline', 'x-option-roms']);
const PC_ONLY = new Set([
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

const KNOWN_ACCELS_UNMODELLED = new Set(['xen', 'hax', 'whpx', 'hvf', 'nvmm', 'qtest']);
/** TCG accelerator properties: translation-cache and threading knobs, no guest-visible effect. */
const TCG_IGNORED_PROPS = new Set(['thread', 'tb-size', 'split-wx', 'one-insn-per-tb']);

/**
 * -object types that live on the host only (secrets, TLS credentials, I/O threads, RNG sources
 * and persistent-reservation helpers, throttling, authorisation): no guest device, no map change.
 */
const HOST_SIDE_OBJECTS = new Set([
  'secret', 'secret_keyring', 'tls-creds-x509', 'tls-creds-psk', 'tls-creds-anon', 'tls-cipher-suites',
  'iothread', 'main-loop', 'thread-context', 'rng-random', 'rng-builtin', 'rng-egd', 'pr-manager-helper',
  'throttle-group', 'authz-simple', 'authz-list', 'authz-listfile', 'authz-pam',
]);

const BACKEND_KINDS = ['memory-backend-ram', 'memory-backend-file', 'memory-backend-memfd'] as const;
type BackendKind = (typeof BACKEND_KINDS)[number];
/** backends/hostmem*.c properties per kind (host-side placement and policy: none changes the guest map). */
const BACKEND_PROPS: Readonly<Record<BackendKind, ReadonlySet<string>>> = (() => {
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
const GLOBALS_WITHOUT_MAP_EFFECT: Readonly<Record<string, string>> = {
  'kvm-pit.lost_tick_policy': 'the KVM in-kernel PIT’s tick policy (no such device under TCG)',
  'ICH9-LPC.disable_s3': 'S3 left out of the DSDT (AML only)',
  'ICH9-LPC.disable_s4': 'S4 left out of the DSDT (AML only)',
  'PIIX4_PM.disable_s3': 'S3 left out of the DSDT (AML only)',
  'PIIX4_PM.disable_s4': 'S4 left out of the DSDT (AML only)',
};

const BOOT_IGNORED_KEYS = new Set(['order', 'once', 'strict', 'menu', 'reboot-timeout', 'splash-time']);

// ---- machine types ----------------------------------------------------------------------------

const UNMODELLED_MACHINES = /^(none|xenfv(-.*)?|xenpv|x-remote|nitro-enclave)$/;

/** Reads a `-machine type=` value; null when QEMU has no such machine in any version. */
export function parseMachineType(name: string): MachineType | null {
  const plain: Record<string, MachineFamily> = { pc: 'pc', q35: 'q35', isapc: 'isapc', microvm: 'microvm' };
  const family = plain[name];
  if (family !== undefined) return { family, version: null, name };
  let m = /^pc-i440fx-([0-9]+\.[0-9]+)$/.exec(name);
  if (m?.[1] !== undefined) return { family: 'pc', version: m[1], name };
  m = /^pc-q35-([0-9]+\.[0-9]+(?:\.[0-9]+)?)$/.exec(name);
  if (m?.[1] !== undefined) return { family: 'q35', version: m[1], name };
  m = /^pc-(1\.[0-3])$/.exec(name);
  if (m?.[1] !== undefined) return { family: 'pc', version: m[1], name };
  return null;
}

/** The QOM type name QEMU uses in "Property '<type>.<prop>' not found". */
function machineQomType(t: MachineType, qemu: QemuVersion): string {
  if (t.version === null && t.family === 'pc') return `pc-i440fx-${qemu}-machine`;
  if (t.version === null && t.family === 'q35') return `pc-q35-${qemu}-machine`;
  return `${t.name}-machine`;
}

// ---- number helpers ---------------------------------------------------------------------------

/** qemu_strtou64(value, NULL, 0, …): base 0 (0x hex, 0 octal), whole string. */
function strtou64Base0(text: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (m?.[1] === undefined) return null;
  const t = m[1];
  const v = /^0[xX]/.test(t) ? BigInt(t) : t.length > 1 && t.startsWith('0') ? BigInt(`0o${t.slice(1)}`) : BigInt(t);
  return v > U64_MAX ? null : v;
}

function toSafeNumber(v: bigint, option: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UnsupportedOptionError(option, `${what} ${v} is beyond what the model represents (2^53)`);
  }
  return Number(v);
}

// ---- the parser -------------------------------------------------------------------------------

export interface ParseOptions {
  /** QEMU version whose option parsing to follow (a profile key: '5.2', '7.2', '10.0', '11.1'); default '7.2'. */
  qemuVersion?: string;
}

/** One occurrence of an option in argv. */
interface Occurrence {
  /** As typed: `-m`, `--m`. */
  opt: string;
  arg: string;
}

class Parser {
  readonly profile: CmdlineProfile;
  readonly warnings: string[] = [];
  readonly ignored: IgnoredOption[] = [];
  memOccurrences: Occurrence[] = [];
  machineOccurrences: Occurrence[] = [];
  accelOccurrences: Array<Occurrence | null> = []; // null: -enable-kvm
  smpOccurrences: Occurrence[] = [];
  cpu: Occurrence | null = null;
  numaOccurrences: Occurrence[] = [];
  objectOccurrences: Occurrence[] = [];
  bios: string | null = null;
  nodefaults = false;
  vga: string | null = null;
  nographic = false;
  devices: DeviceConfig[] = [];
  drives: Array<Array<readonly [string, string]>> = [];
  netdevs: Array<Array<readonly [string, string]>> = [];
  nics: Array<Array<readonly [string, string]>> = [];
  kernelArgs = '';
  /** `-chardev … id=` values, for the monitors that name one. */
  chardevIds = new Set<string>();
  monitors: Occurrence[] = [];
  /** Machine properties QEMU gives the kvm accelerator only: ignored under TCG, not modelled under KVM. */
  kvmOnly: Array<{ option: string; value: string; why: string }> = [];

  constructor(readonly qemu: QemuVersion) {
    this.profile = CMDLINE_PROFILES[qemu];
  }

  size(text: string, unit: SizeUnit = 'B') {
    return qemuStrtosz(text, this.profile.size, unit);
  }

  run(argv: readonly string[]): MachineConfig {
    this.lookUpOptions(argv);
    for (let i = 0; i < argv.length; i++) {
      const typed = argv[i] ?? '';
      if (!typed.startsWith('-') || typed === '-') {
        throw new UnsupportedOptionError(
          typed,
          'a bare argument is a disk image for QEMU (-hda); not modelled in this spelling: use -drive file=…',
        );
      }
      const name = typed.startsWith('--') ? typed.slice(2) : typed.slice(1);
      const spec = Object.hasOwn(QEMU_OPTIONS, name) ? QEMU_OPTIONS[name] : undefined;
      if (spec === undefined) {
        throw new UnsupportedOptionError(typed, `not modelled (QEMU ${this.qemu} knows it): the model cannot say what it does to the memory map`);
      }
      const arg = spec.arg ? (argv[++i] ?? '') : null;
      const k = spec.kind;
      if ('ignore' in k) {
        this.ignored.push({ option: `-${name}`, value: arg, why: k.ignore });
      } else if ('harness' in k) {
        throw new HarnessOwnedOptionError(typed, k.harness);
      } else if ('unsupported' in k) {
        throw new UnsupportedOptionError(typed, k.unsupported);
      } else {
        this.collect(k.handle, typed, arg ?? '');
      }
    }
    return this.finish();
  }

  /**
   * vl.c's first pass over argv (lookup_opt for every option): an option this release does not
   * know, or one missing its argument, refuses the command line before any option is applied.
   */
  lookUpOptions(argv: readonly string[]): void {
    const names = qemuOptionNames(this.qemu);
    for (let i = 0; i < argv.length; i++) {
      const typed = argv[i] ?? '';
      if (!typed.startsWith('-') || typed === '-') continue; // a disk image: the second pass says more
      const name = typed.startsWith('--') ? typed.slice(2) : typed.slice(1);
      if (!names.known.has(name)) {
        const eq = name.indexOf('=');
        const hint = eq > 0 && names.known.has(name.slice(0, eq)) ? `QEMU takes the value as the next argument: ${typed.slice(0, typed.indexOf('='))} ${name.slice(eq + 1)}` : null;
        throw new QemuCmdlineError(typed, null, `${typed}: invalid option`, hint);
      }
      if (names.withArg.has(name)) {
        if (i + 1 >= argv.length) throw new QemuCmdlineError(typed, null, `${typed}: requires an argument`);
        i++;
      }
    }
  }

  collect(handler: Handler, opt: string, arg: string): void {
    const occ = { opt, arg };
    switch (handler) {
      case 'm':
        this.validateMemOccurrence(occ);
        this.memOccurrences.push(occ);
        return;
      case 'machine':
        this.machineOccurrences.push(occ);
        return;
      case 'accel':
        this.accelOccurrences.push(occ);
        return;
      case 'enable-kvm':
        this.accelOccurrences.push(null);
        return;
      case 'smp':
        this.smpOccurrences.push(occ);
        return;
      case 'cpu':
        this.cpu = occ;
        return;
      case 'numa':
        this.numaOccurrences.push(occ);
        return;
      case 'object':
        this.objectOccurrences.push(this.fromJson(occ, 'qom-type', this.profile.jsonSyntax.object));
        return;
      case 'bios':
        this.bios = arg;
        return;
      case 'nodefaults':
        this.nodefaults = true;
        return;
      case 'vga':
        this.vga = arg;
        return;
      case 'nographic':
        // vl.c: -nographic is `-machine graphics=off` plus `-display none` (and stdio defaults for
        // serial/monitor, which the harness overrides). The graphics=off part reaches the firmware.
        this.nographic = true;
        this.ignored.push({ option: '-nographic', value: null, why: 'its display part (-display none) is host-side; its graphics=off part is kept as a machine property' });
        return;
      case 'boot':
        this.boot(occ);
        return;
      case 'usb':
        this.machineOccurrences.push({ opt, arg: 'usb=on' });
        return;
      case 'global':
        this.global(occ);
        return;
      case 'chardev': {
        const id = splitQemuOpts(arg, 'backend').find((p) => p.key === 'id')?.value;
        if (id !== undefined) this.chardevIds.add(id);
        this.ignored.push({ option: opt, value: arg, why: `character device: ${BACKEND_ONLY}` });
        return;
      }
      case 'mon':
        this.monitors.push(occ);
        this.ignored.push({ option: opt, value: arg, why: 'a monitor on a character device: host-side, adds no guest device' });
        return;
      case 'no-hpet':
        // vl.c: `-machine hpet=off` where it stands (5.2 sets a global that pc_basic_device_init reads).
        this.machineOccurrences.push({ opt, arg: 'hpet=off' });
        return;
      case 'no-acpi':
        // vl.c puts acpi=off into the machine options where it stands: a later -machine acpi= wins.
        this.machineOccurrences.push({ opt, arg: 'acpi=off' });
        return;
      case 'append':
        this.kernelArgs = arg;
        return;
      case 'device':
        this.device(this.fromJson(occ, 'driver', this.profile.jsonSyntax.device));
        return;
      case 'drive':
        this.drives.push(splitQemuOpts(arg, null).map((p) => [p.key, p.value] as const));
        return;
      case 'netdev': {
        const pairs = splitQemuOpts(this.fromJson(occ, 'type', this.profile.jsonSyntax.netdev).arg, 'type').map((p) => [p.key, p.value] as const);
        // net_client_init: every -netdev needs an id (5.2 words it without the option).
        if (!pairs.some(([k]) => k === 'id')) throw new QemuCmdlineError(opt, arg, `${this.profile.netdevErrorsLocated ? `${opt} ${arg}: ` : ''}Parameter 'id' is missing`);
        this.netdevs.push(pairs);
        return;
      }
      case 'nic':
        this.nics.push(splitQemuOpts(arg, 'type').map((p) => [p.key, p.value] as const));
        return;
    }
  }

  /**
   * A JSON argument (`-object '{"qom-type":…}'`, libvirt's spelling for QEMU ≥ 6) read as the
   * QemuOpts text it stands for, so one reader follows; where this release takes no JSON, not modelled.
   */
  fromJson(occ: Occurrence, typeKey: string, accepted: boolean): Occurrence {
    if (!occ.arg.trimStart().startsWith('{')) return occ;
    if (!accepted) {
      // The release reads the JSON text as key=value: `{"qom-type":"x"` is the type, no `id=` follows
      // (object_create: qom-type, then id), and the device "model" is the text up to the first comma.
      if (typeKey === 'qom-type') throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: Parameter 'id' is missing`);
      if (typeKey === 'driver') throw new QemuCmdlineError(occ.opt, occ.arg, `'${splitQemuOpts(occ.arg, 'driver')[0]?.value ?? ''}' is not a valid device model name`);
      throw new UnsupportedOptionError(occ.opt, `JSON syntax: QEMU ${this.qemu} reads ${occ.opt} as key=value; what it makes of a JSON argument is not modelled`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(occ.arg);
    } catch (err) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: not valid JSON (${(err as Error).message}); QEMU's own JSON parser error is not modelled`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UnsupportedOptionError(occ.opt, `${occ.arg}: a JSON argument that is not an object is not modelled`);
    const pairs: Array<readonly [string, string]> = [];
    let type: string | null = null;
    for (const [key, value] of Object.entries(parsed)) {
      let text: string;
      if (typeof value === 'string') text = value;
      else if (typeof value === 'boolean') text = value ? 'on' : 'off';
      else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) text = String(value);
      else if (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) text = value.join(':');
      else throw new UnsupportedOptionError(occ.opt, `${occ.arg}: JSON value of '${key}' (${JSON.stringify(value)}) is not modelled`);
      if (key === typeKey) type = text;
      else pairs.push([key, text]);
    }
    return { opt: occ.opt, arg: joinQemuOpts(null, type === null ? pairs : [[typeKey, type], ...pairs]) };
  }

  /** `-global DRIVER.PROP=VALUE` or `-global driver=D,property=P,value=V` (qdev_prop_register_global). */
  global(occ: Occurrence): void {
    const params = splitQemuOpts(occ.arg, null);
    const named = (k: string) => params.find((p) => p.key === k)?.value;
    let driver = named('driver');
    let property = named('property');
    let value = named('value');
    if (driver === undefined && params.length === 1) {
      const { key, value: v } = params[0]!;
      const dot = key.indexOf('.');
      if (dot > 0) [driver, property, value] = [key.slice(0, dot), key.slice(dot + 1), v];
    }
    const known = driver !== undefined && property !== undefined ? GLOBALS_WITHOUT_MAP_EFFECT[`${driver}.${property}`] : undefined;
    if (known === undefined || value === undefined) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: sets a device property globally; its effect on memory is not modelled (known: ${Object.keys(GLOBALS_WITHOUT_MAP_EFFECT).join(', ')})`);
    }
    this.ignored.push({ option: occ.opt, value: occ.arg, why: known });
  }

  boot(occ: Occurrence): void {
    for (const p of splitQemuOpts(occ.arg, 'order')) {
      if (!BOOT_IGNORED_KEYS.has(p.key)) {
        throw new UnsupportedOptionError(occ.opt, `${occ.arg}: boot property '${p.key}' is not modelled (a splash image is loaded and decoded by SeaBIOS)`);
      }
    }
    this.ignored.push({ option: '-boot', value: occ.arg, why: 'boot order and menu only: the harness boots its kernel directly, SeaBIOS allocates nothing that stays' });
  }

  device(occ: Occurrence): void {
    const params = splitQemuOpts(occ.arg, 'driver');
    const d = params.find((p) => p.key === 'driver');
    if (d === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: Parameter 'driver' is missing`);
    if (d.value === 'help' || d.value === '?' || params.some((p) => p.key === 'help')) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: help output is not a configuration`);
    }
    if (d.value === 'isa-debugcon') throw new HarnessOwnedOptionError(occ.opt, '-device isa-debugcon');
    this.devices.push({ driver: d.value, props: params.filter((p) => p !== d).map((p) => [p.key, p.value] as const) });
  }

  // -- -m --------------------------------------------------------------------------------------

  /** QemuOpts validation of one `-m` argument (vl.c qemu_mem_opts: size, slots, maxmem). */
  validateMemOccurrence(occ: Occurrence): void {
    const where = `${occ.opt} ${occ.arg}`;
    for (const p of splitQemuOpts(occ.arg, 'size')) {
      if (p.key === 'size' || p.key === 'maxmem') {
        const r = this.size(p.value);
        for (const w of r.warnings) this.warnings.push(`${where}: ${w}`);
        if (!r.ok && r.error === 'ERANGE') {
          throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Value '${p.value}' is out of range for parameter '${p.key}'`);
        }
        if (!r.ok) {
          throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter '${p.key}' expects a non-negative number below 2^64`, SIZE_HINT);
        }
      } else if (p.key === 'slots') {
        if (strtou64Base0(p.value) === null) {
          throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'slots' expects a number`);
        }
      } else {
        throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Invalid parameter '${p.key}'`);
      }
    }
  }

  memory(): MemoryConfig {
    // QemuOpts merges every -m into one list; the last value of each key wins.
    const last = new Map<string, { value: string; occ: Occurrence }>();
    for (const occ of this.memOccurrences) {
      for (const p of splitQemuOpts(occ.arg, 'size')) last.set(p.key, { value: p.value, occ });
    }
    const sizeText = last.get('size');
    const maxText = last.get('maxmem');
    const slotsText = last.get('slots');
    const opt = sizeText?.occ.opt ?? maxText?.occ.opt ?? slotsText?.occ.opt ?? '-m';
    const argOf = (x: { occ: Occurrence } | undefined) => x?.occ.arg ?? null;
    const ok = (r: ReturnType<Parser['size']>): bigint => (r.ok ? r.value : 0n);
    const lastDigit = (s: string) => /[0-9]$/.test(s);
    const v52 = this.profile.memApply === 'vl-set-memory-options';
    // 5.2 softmmu/vl.c set_memory_options() reports at the merged -m QemuOpts' location: the first -m
    // as typed (observed on 5.2: `-m 1G -m slots=2` → "-m 1G: invalid -m option value: …").
    const firstM = this.memOccurrences[0];
    const loc52 = v52 && firstM !== undefined ? `${firstM.opt} ${firstM.arg}: ` : '';

    let size: bigint | null = null;
    if (sizeText !== undefined) {
      const bytes = ok(this.size(sizeText.value));
      if (bytes !== 0n) {
        if (this.profile.memApply === 'vl-set-memory-options') {
          // 5.2: "Fix up legacy suffix-less format": sz *= MiB with an overflow check.
          const sz = lastDigit(sizeText.value) ? bytes * MiB : bytes;
          if (sz > U64_MAX) throw new QemuCmdlineError(opt, argOf(sizeText), `${loc52}too large 'size' option value`);
          size = sz;
        } else {
          // 7.2+: a suffix-less value gets "M" appended and is parsed again as memory.size.
          const text = lastDigit(sizeText.value) ? `${sizeText.value}M` : sizeText.value;
          const r = this.size(text);
          this.warnings.push(...r.warnings);
          if (!r.ok) throw new QemuCmdlineError(opt, argOf(sizeText), "Parameter 'memory.size' expects size");
          size = r.value;
        }
        size = alignUp(size, RAM_SIZE_ALIGN);
        if (size > U64_MAX) throw new QemuCmdlineError(opt, argOf(sizeText), `${loc52}ram size too large`);
      }
    }
    const ramSize = size ?? DEFAULT_RAM_SIZE;

    let maxmem: bigint | null = null;
    if (maxText !== undefined) {
      const r = this.size(maxText.value);
      if (this.profile.memApply === 'machine-set-mem') this.warnings.push(...r.warnings); // parsed again as max-size
      maxmem = ok(r);
    }
    const slots = slotsText === undefined ? null : strtou64Base0(slotsText.value) ?? 0n;
    const hx = (v: bigint) => v.toString(16);
    if (maxmem !== null) {
      const prefix = v52 ? `${loc52}invalid value of -m option maxmem: ` : 'invalid value of maxmem: ';
      if (maxmem < ramSize) {
        throw new QemuCmdlineError(opt, argOf(maxText), `${prefix}maximum memory size (0x${hx(maxmem)}) must be at least the initial memory size (0x${hx(ramSize)})`);
      }
      if (slots !== null && slots !== 0n && maxmem === ramSize) {
        throw new QemuCmdlineError(opt, argOf(maxText), `${prefix}memory slots were specified but maximum memory size (0x${hx(maxmem)}) is equal to the initial memory size (0x${hx(ramSize)})`);
      }
    } else if (slots !== null) {
      throw new QemuCmdlineError(opt, argOf(slotsText), v52 ? `${loc52}invalid -m option value: missing 'maxmem' option` : 'slots specified but no max-size');
    }
    return {
      size,
      spelled: sizeText?.value ?? null,
      slots: slots === null ? null : toSafeNumber(slots, opt, 'slots'),
      maxmem,
    };
  }

  // -- -machine / -accel -------------------------------------------------------------------------

  machine(): { machine: MachineType; maxRamBelow4g: bigint | null; memoryBackend: string | null; props: Array<readonly [string, string]>; accel: { value: string; occ: Occurrence } | null } {
    // All -machine options merge; the last value of a key wins, in first-seen key order.
    const merged = new Map<string, { value: string; occ: Occurrence }>();
    for (const occ of this.machineOccurrences) {
      for (const p of splitQemuOpts(occ.arg, 'type')) {
        merged.delete(p.key);
        merged.set(p.key, { value: p.value, occ });
      }
    }
    const typeEntry = merged.get('type');
    const typeName = typeEntry?.value ?? 'pc'; // pc is the default machine of qemu-system-x86_64
    if (typeName === 'help' || typeName === '?') {
      throw new UnsupportedOptionError(typeEntry?.occ.opt ?? '-machine', 'help output is not a configuration');
    }
    if (UNMODELLED_MACHINES.test(typeName)) {
      throw new UnsupportedOptionError(typeEntry?.occ.opt ?? '-machine', `machine type '${typeName}' is not modelled (pc, q35 and their versioned types, and isapc, are; microvm is read but not modelled)`);
    }
    const parsed = parseMachineType(typeName);
    const typedAt = typeEntry !== undefined ? `${typeEntry.occ.opt} ${typeEntry.occ.arg}` : undefined;
    if (parsed === null) {
      const msg = this.profile.unsupportedMachineNamed
        ? `unsupported machine type: "${typeName}"`
        : this.profile.machineErrorsLocated && typedAt !== undefined
          ? `${typedAt}: unsupported machine type`
          : 'unsupported machine type';
      throw new QemuCmdlineError(typeEntry?.occ.opt ?? '-machine', typeEntry?.occ.arg ?? null, msg, 'Use -machine help to list supported machines');
    }
    // Kept only where this release's messages quote it (5.2).
    const machine = typedAt !== undefined && this.profile.machineErrorsLocated ? { ...parsed, typedAt } : parsed;
    let maxRamBelow4g: bigint | null = null;
    let memoryBackend: string | null = null;
    let accel: { value: string; occ: Occurrence } | null = null;
    const props: Array<readonly [string, string]> = [];
    // -nographic's graphics=off comes first; an explicit graphics= given with -machine wins.
    if (this.nographic && !merged.has('graphics')) props.push(['graphics', 'off']);
    for (const [key, { value, occ }] of merged) {
      if (key === 'type') continue;
      const base = key.split('.')[0] ?? key;
      const notFound = () =>
        new QemuCmdlineError(occ.opt, occ.arg, `Property '${machineQomType(machine, this.qemu)}.${key}' not found`);
      if ((machine.family === 'microvm' && PC_ONLY.has(base)) || (machine.family !== 'microvm' && MICROVM_ONLY.has(base))) {
        throw notFound();
      }
      if (key === 'accel') {
        accel = { value, occ };
        continue;
      }
      if (key === 'memory-backend') {
        memoryBackend = value;
        continue;
      }
      const bool = Object.hasOwn(BOOL_MACHINE_PROPS, key) ? BOOL_MACHINE_PROPS[key] : undefined;
      if (bool !== undefined) {
        // A QOM bool: only the value away from the default reaches the stage.
        const on = ['on', 'yes', 'true'].includes(value) ? 'on' : ['off', 'no', 'false'].includes(value) ? 'off' : null;
        if (on === null) throw new QemuCmdlineError(occ.opt, occ.arg, `Parameter '${key}' expects 'on' or 'off'`);
        if (on === bool.default) this.ignored.push({ option: '-machine', value: `${key}=${value}`, why: bool.why });
        else props.push([key, on]);
        continue;
      }
      if (key === 'acpi') {
        // hw/i386/x86.c x86_machine_set_acpi: an OnOffAuto; on and auto are the default.
        if (value === 'on' || value === 'auto') this.ignored.push({ option: '-machine', value: `acpi=${value}`, why: 'ACPI on is the default' });
        else if (value === 'off') props.push(['acpi', 'off']);
        else throw new UnsupportedOptionError(`${occ.opt} acpi=`, `${value}: only on, off and auto are modelled`);
        continue;
      }
      if (key === 'max-ram-below-4g') {
        maxRamBelow4g = this.maxRamBelow4g(value, occ);
        continue;
      }
      const cls = Object.hasOwn(MACHINE_PROPS, base) ? MACHINE_PROPS[base] : undefined;
      if (cls === undefined) throw notFound();
      if (cls === 'stage') {
        props.push([key, value]);
      } else if ('noEffect' in cls) {
        props.push([key, value]);
        this.ignored.push({ option: '-machine', value: `${key}=${value}`, why: cls.noEffect });
      } else if ('ignore' in cls) {
        this.ignored.push({ option: '-machine', value: `${key}=${value}`, why: cls.ignore });
      } else if ('harness' in cls) {
        throw new HarnessOwnedOptionError(`${occ.opt} ${key}=`, cls.harness);
      } else if ('kvmOnly' in cls) {
        this.kvmOnly.push({ option: `${occ.opt} ${key}=`, value: `${key}=${value}`, why: cls.kvmOnly });
      } else {
        throw new UnsupportedOptionError(`${occ.opt} ${key}=`, cls.unsupported);
      }
    }
    return { machine, maxRamBelow4g, memoryBackend, props, accel };
  }

  /** hw/i386/pc.c pc_machine_set_max_ram_below_4g(): a size, bare number = bytes. */
  maxRamBelow4g(value: string, occ: Occurrence): bigint {
    const r = this.size(value);
    this.warnings.push(...r.warnings);
    if (!r.ok) throw new QemuCmdlineError(occ.opt, occ.arg, "Parameter 'max-ram-below-4g' expects size");
    if (r.value > MAX_RAM_BELOW_4G_LIMIT) {
      throw new QemuCmdlineError(occ.opt, occ.arg, `Machine option 'max-ram-below-4g=${r.value}' expects size less than or equal to 4G`);
    }
    if (r.value < MAX_RAM_BELOW_4G_WARN) {
      this.warnings.push(`warning: Only ${r.value} bytes of RAM below the 4GiB boundary,BIOS may not work with less than 1MiB`);
    }
    return r.value;
  }

  accel(machineAccel: { value: string; occ: Occurrence } | null): Accelerator {
    const chosen: Array<{ name: string; opt: string; arg: string | null }> = [];
    for (const occ of this.accelOccurrences) {
      if (occ === null) {
        chosen.push({ name: 'kvm', opt: '-enable-kvm', arg: null });
        continue;
      }
      const params = splitQemuOpts(occ.arg, 'accel');
      const a = params.find((p) => p.key === 'accel');
      if (a === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: Parameter 'accel' is missing`);
      this.checkAccelName(a.value, occ.opt, occ.arg, true);
      for (const p of params) {
        if (p === a) continue;
        if (a.value === 'tcg' && TCG_IGNORED_PROPS.has(p.key)) {
          this.ignored.push({ option: '-accel', value: `${p.key}=${p.value}`, why: 'TCG translation cache / threading only' });
        } else {
          throw new UnsupportedOptionError(occ.opt, `${occ.arg}: accelerator property '${p.key}' is not modelled`);
        }
      }
      chosen.push({ name: a.value, opt: occ.opt, arg: occ.arg });
    }
    if (machineAccel !== null) {
      if (chosen.length > 0) {
        throw new QemuCmdlineError(chosen[0]?.opt ?? '-accel', chosen[0]?.arg ?? null, 'The -accel and "-machine accel=" options are incompatible');
      }
      const { value, occ } = machineAccel;
      if (value.includes(':')) {
        throw new UnsupportedOptionError(`${occ.opt} accel=`, `${value}: a fallback list depends on the host; name one accelerator`);
      }
      this.checkAccelName(value, occ.opt, occ.arg, false);
      return value as Accelerator;
    }
    const distinct = [...new Set(chosen.map((c) => c.name))];
    if (distinct.length > 1) {
      throw new UnsupportedOptionError(chosen[1]?.opt ?? '-accel', `several accelerators (${distinct.join(', ')}) make QEMU fall back by host capability; name one`);
    }
    // vl.c configure_accelerators(): with no choice, "tcg:kvm" → TCG.
    return (distinct[0] ?? 'tcg') as Accelerator;
  }

  checkAccelName(name: string, opt: string, arg: string, located: boolean): void {
    if (name === 'tcg' || name === 'kvm') return;
    if (KNOWN_ACCELS_UNMODELLED.has(name)) throw new UnsupportedOptionError(opt, `accelerator '${name}' is not modelled (tcg and kvm are)`);
    if (name === 'help') throw new UnsupportedOptionError(opt, 'help output is not a configuration');
    throw new QemuCmdlineError(opt, arg, located ? `${opt} ${arg}: invalid accelerator ${name}` : `invalid accelerator ${name}`);
  }

  // -- -smp --------------------------------------------------------------------------------------

  smp(): SmpConfig {
    const keys = ['cpus', 'sockets', 'dies', 'cores', 'threads', 'maxcpus'] as const;
    const out: SmpConfig = { cpus: null, sockets: null, dies: null, cores: null, threads: null, maxcpus: null };
    const keyval = this.profile.smpParser === 'keyval';
    for (const occ of this.smpOccurrences) {
      const where = `${occ.opt} ${occ.arg}`;
      for (const p of splitQemuOpts(occ.arg, 'cpus')) {
        if (this.profile.extraTopologyLevels.includes(p.key)) {
          // One of a level is no level: hw/core/machine-smp.c treats it as the default.
          if (strtou64Base0(p.value) !== 1n) throw new UnsupportedOptionError(occ.opt, `${occ.arg}: topology level '${p.key}' is not modelled (only ${p.key}=1)`);
          this.ignored.push({ option: occ.opt, value: `${p.key}=${p.value}`, why: 'a topology level of one changes nothing' });
          continue;
        }
        const key = keys.find((k) => k === p.key);
        if (key === undefined) {
          throw new QemuCmdlineError(occ.opt, occ.arg, keyval ? `Parameter 'smp.${p.key}' is unexpected` : `${where}: Invalid parameter '${p.key}'`);
        }
        const v = strtou64Base0(p.value);
        if (v === null) {
          throw new QemuCmdlineError(occ.opt, occ.arg, keyval ? `Parameter 'smp.${key}' expects integer` : `${where}: Parameter '${key}' expects a number`);
        }
        if (v === 0n) {
          if (this.profile.smpZero === 'error') {
            throw new QemuCmdlineError(occ.opt, occ.arg, 'Invalid CPU topology: CPU topology parameters must be greater than zero');
          }
          if (this.profile.smpZero === 'warn') {
            const w = 'warning: Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero';
            if (!this.warnings.includes(w)) this.warnings.push(w);
          }
          out[key] = null; // 0 means "not given" where QEMU still accepts it
        } else {
          out[key] = toSafeNumber(v, occ.opt, `smp ${key}`);
        }
      }
    }
    return out;
  }

  // -- -cpu --------------------------------------------------------------------------------------

  cpuConfig(): CpuConfig {
    if (this.cpu === null) return { model: null, props: [] };
    const { opt, arg } = this.cpu;
    // vl.c parse_cpu_option(): model up to the first comma; target/i386/cpu.c
    // x86_cpu_parse_featurestr(): comma-separated (no ",," escape, empty items skipped),
    // `+f`/`-f` (feature on/off), `k=v`, bare `f` (= on); '_' in names means '-'.
    const comma = arg.indexOf(',');
    const model = comma < 0 ? arg : arg.slice(0, comma);
    if (model === 'help' || model === '?') throw new UnsupportedOptionError(opt, 'help output is not a configuration');
    if (model === '') throw new QemuCmdlineError(opt, arg, `unable to find CPU model '${model}'`);
    const props: Array<readonly [string, string]> = [];
    const items = comma < 0 ? [] : arg.slice(comma + 1).split(',').filter((s) => s !== '');
    for (const item of items) {
      let key: string;
      let value: string;
      if (item.startsWith('+') || item.startsWith('-')) {
        key = item.slice(1);
        value = item.startsWith('+') ? 'on' : 'off';
      } else if (item.includes('=')) {
        key = item.slice(0, item.indexOf('='));
        value = item.slice(item.indexOf('=') + 1);
      } else {
        key = item;
        value = 'on';
      }
      key = key.replaceAll('_', '-');
      if ((key === 'phys-bits' || key === 'host-phys-bits-limit') && strtou64Base0(value) === null) {
        throw new QemuCmdlineError(opt, arg, `can't apply global ${model}-x86_64-cpu.${key}=${value}: Parameter '${key}' expects uint64`);
      }
      props.push([key, value]);
    }
    return { model, props };
  }

  // -- -object / -numa ---------------------------------------------------------------------------

  backends(): MemoryBackend[] {
    const out: MemoryBackend[] = [];
    for (const occ of this.objectOccurrences) {
      const where = `${occ.opt} ${occ.arg}`;
      const params = splitQemuOpts(occ.arg, 'qom-type');
      const type = params.find((p) => p.key === 'qom-type')?.value;
      if (type === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'qom-type' is missing`);
      const kind = BACKEND_KINDS.find((k) => k === type);
      if (kind === undefined && HOST_SIDE_OBJECTS.has(type)) {
        if (!params.some((p) => p.key === 'id')) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'id' is missing`);
        this.ignored.push({ option: occ.opt, value: occ.arg, why: `${type} is a host-side object: no guest device` });
        continue;
      }
      if (kind === undefined) {
        if (type === 'help') throw new UnsupportedOptionError(occ.opt, 'help output is not a configuration');
        throw new UnsupportedOptionError(occ.opt, `${occ.arg}: object type '${type}' is not modelled (memory-backend-ram/-file/-memfd are)`);
      }
      const id = params.find((p) => p.key === 'id')?.value;
      if (id === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'id' is missing`);
      const sizeText = params.find((p) => p.key === 'size')?.value;
      if (sizeText === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'size' is missing`);
      const props: Array<readonly [string, string]> = [];
      for (const p of params) {
        if (p.key === 'qom-type' || p.key === 'id' || p.key === 'size') continue;
        if (!BACKEND_PROPS[kind].has(p.key)) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Invalid parameter '${p.key}'`);
        props.push([p.key, p.value]);
      }
      if (kind === 'memory-backend-file' && !props.some(([k]) => k === 'mem-path')) {
        throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'mem-path' is missing`);
      }
      const r = this.size(sizeText);
      this.warnings.push(...r.warnings.map((w) => `${where}: ${w}`));
      if (!r.ok) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'size' expects a size value`);
      if (out.some((b) => b.id === id)) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Duplicate ID '${id}' for object`);
      if (r.value === 0n) throw new QemuCmdlineError(occ.opt, occ.arg, `property 'size' of ${kind} doesn't take value '0'`);
      out.push({ id, kind, size: r.value, props });
    }
    return out;
  }

  numa(backends: readonly MemoryBackend[]): NumaNode[] {
    const out: NumaNode[] = [];
    for (const occ of this.numaOccurrences) {
      const where = `${occ.opt} ${occ.arg}`;
      const refuse = (msg: string) => new QemuCmdlineError(occ.opt, occ.arg, `${where}: ${msg}`);
      const params = splitQemuOpts(occ.arg, 'type');
      const type = params.find((p) => p.key === 'type')?.value;
      if (type === undefined) throw refuse("Parameter 'type' is missing");
      if (['dist', 'cpu', 'hmat-lb', 'hmat-cache'].includes(type)) {
        throw new UnsupportedOptionError(occ.opt, `${occ.arg}: -numa ${type} is not modelled (-numa node is)`);
      }
      if (type !== 'node') throw refuse(`Parameter 'type' does not accept value '${type}'`);
      const node: NumaNode = { nodeid: null, memdev: null, mem: null, cpus: null };
      for (const p of params) {
        switch (p.key) {
          case 'type':
            break;
          case 'nodeid': {
            const v = strtou64Base0(p.value);
            if (v === null) throw refuse("Parameter 'nodeid' expects a uint64 value");
            node.nodeid = toSafeNumber(v, occ.opt, 'nodeid');
            break;
          }
          case 'cpus':
            if (!/^[0-9]+(-[0-9]+)?$/.test(p.value)) throw refuse("Parameter 'cpus' expects a uint64 value or range");
            if (node.cpus !== null) throw new UnsupportedOptionError(occ.opt, `${occ.arg}: several cpus= ranges in one node are not modelled`);
            node.cpus = p.value;
            break;
          case 'mem': {
            if (!this.size(p.value).ok) throw refuse("Parameter 'mem' expects a size value");
            // hw/core/numa.c parse_numa(): "Fix up legacy suffix-less format" → qemu_strtosz_MiB.
            const r = this.size(p.value, 'M');
            // (On ERANGE QEMU ignores the failure and keeps the byte value.)
            node.mem = r.ok ? r.value : this.sizeOrZero(p.value);
            break;
          }
          case 'memdev':
            node.memdev = p.value;
            break;
          case 'initiator':
            throw new UnsupportedOptionError(occ.opt, `${occ.arg}: NUMA initiators (ACPI HMAT) are not modelled`);
          default:
            throw refuse(`Invalid parameter '${p.key}'`);
        }
      }
      const haveMem = out.some((n) => n.mem !== null);
      const haveMemdev = out.some((n) => n.memdev !== null);
      if ((node.mem !== null && (node.memdev !== null || haveMemdev)) || (node.memdev !== null && haveMem)) {
        throw refuse('numa configuration should use either mem= or memdev=,mixing both is not allowed');
      }
      if (node.memdev !== null && !backends.some((b) => b.id === node.memdev)) throw refuse(`memdev=${node.memdev} is ambiguous`);
      node.spelled = occ.arg;
      out.push(node);
    }
    return out;
  }

  sizeOrZero(text: string): bigint {
    const r = this.size(text);
    return r.ok ? r.value : 0n;
  }

  finish(): MachineConfig {
    for (const occ of this.monitors) {
      // monitor_init_opts → qemu_chr_find: the monitor's chardev must have been defined.
      const chardev = splitQemuOpts(occ.arg, 'chardev').find((p) => p.key === 'chardev')?.value;
      if (chardev !== undefined && !this.chardevIds.has(chardev)) throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: chardev "${chardev}" not found`);
    }
    const memory = this.memory();
    const m = this.machine();
    const accel = this.accel(m.accel);
    for (const k of this.kvmOnly) {
      if (accel === 'kvm') throw new UnsupportedOptionError(k.option, k.why);
      this.ignored.push({ option: '-machine', value: k.value, why: 'QEMU applies it to the kvm accelerator only (vl.c qemu_apply_legacy_machine_options); nothing under TCG' });
    }
    const smp = this.smp();
    const cpu = this.cpuConfig();
    const backends = this.backends();
    const numa = this.numa(backends);
    if (m.memoryBackend !== null && numa.some((n) => n.memdev !== null)) {
      throw new QemuCmdlineError('-machine', `memory-backend=${m.memoryBackend}`, "'-machine memory-backend' and '-numa memdev' properties are mutually exclusive");
    }
    return {
      machine: m.machine,
      maxRamBelow4g: m.maxRamBelow4g,
      machineProps: m.props,
      accel,
      memory,
      cpu,
      smp,
      backends,
      numa,
      bios: this.bios,
      nodefaults: this.nodefaults,
      devices: this.devices,
      drives: this.drives,
      kernelArgs: this.kernelArgs,
      ignored: this.ignored,
      memoryBackend: m.memoryBackend,
      vga: this.vga,
      netdevs: this.netdevs,
      nics: this.nics,
      warnings: this.warnings,
    };
  }
}

/**
 * Reads a user's qemu-system-x86_64 argv (without the program name) into a MachineConfig, as the
 * given QEMU version would read it. Throws QemuCmdlineError for what QEMU refuses while reading
 * options, UnsupportedOptionError (HarnessOwnedOptionError) for what the model does not cover,
 * UnknownVersionError for a QEMU version without a profile.
 */
export function parseQemuArgs(argv: readonly string[], opts: ParseOptions = {}): MachineConfig {
  const qemu = toolchainOf({ qemu: opts.qemuVersion ?? '7.2' }).qemu;
  return new Parser(qemu).run(argv);
}

// ---- the printer ------------------------------------------------------------------------------

/** A -numa node's argument as printed by toQemuArgs (canonical, not as typed). */
export function numaOptArg(n: NumaNode): string {
  const pairs: Array<readonly [string, string]> = [];
  if (n.nodeid !== null) pairs.push(['nodeid', String(n.nodeid)]);
  if (n.cpus !== null) pairs.push(['cpus', n.cpus]);
  if (n.memdev !== null) pairs.push(['memdev', n.memdev]);
  // mem= is read in MiB when suffix-less: always print a suffix.
  if (n.mem !== null) pairs.push(['mem', n.mem === 0n ? '0B' : formatQemuSize(n.mem).replace(/([0-9])$/, '$1B')]);
  return joinQemuOpts('node', pairs);
}

/**
 * The canonical argv of a config (no program name, none of the harness's own options). Options
 * recorded in `ignored` are not printed: they cannot change the memory map, and some (display,
 * monitor) would fight the harness's own.
 */
export function toQemuArgs(config: MachineConfig): string[] {
  const args: string[] = [];
  const machinePairs: Array<readonly [string, string]> = [];
  if (config.maxRamBelow4g !== null) machinePairs.push(['max-ram-below-4g', formatQemuSize(config.maxRamBelow4g)]);
  if (config.memoryBackend != null) machinePairs.push(['memory-backend', config.memoryBackend]);
  machinePairs.push(...config.machineProps);
  args.push('-machine', joinQemuOpts(config.machine.name, machinePairs));
  args.push('-accel', config.accel);

  const mem = config.memory;
  const memPairs: Array<readonly [string, string]> = [];
  if (mem.slots !== null) memPairs.push(['slots', String(mem.slots)]);
  if (mem.maxmem !== null) memPairs.push(['maxmem', formatQemuSize(mem.maxmem)]);
  const spelled = mem.spelled ?? (mem.size === null ? null : formatQemuSize(mem.size));
  if (spelled !== null || memPairs.length > 0) {
    args.push('-m', spelled === null || spelled.includes('=') ? joinQemuOpts(null, spelled === null ? memPairs : [['size', spelled], ...memPairs]) : joinQemuOpts(spelled, memPairs));
  }

  if (config.cpu.model !== null) {
    args.push('-cpu', [config.cpu.model, ...config.cpu.props.map(([k, v]) => `${k}=${v}`)].join(','));
  }
  const smpPairs = (['cpus', 'sockets', 'dies', 'cores', 'threads', 'maxcpus'] as const)
    .filter((k) => config.smp[k] !== null)
    .map((k) => [k, String(config.smp[k])] as const);
  if (smpPairs.length > 0) args.push('-smp', joinQemuOpts(null, smpPairs));

  for (const b of config.backends) {
    args.push('-object', joinQemuOpts(b.kind, [['id', b.id], ['size', formatQemuSize(b.size)], ...b.props]));
  }
  for (const n of config.numa) args.push('-numa', n.spelled ?? numaOptArg(n));
  if (config.bios !== null) args.push('-bios', config.bios);
  if (config.nodefaults) args.push('-nodefaults');
  if (config.vga != null) args.push('-vga', config.vga);
  for (const d of config.devices) args.push('-device', joinQemuOpts(d.driver, d.props));
  for (const d of config.drives) args.push('-drive', joinQemuOpts(null, d));
  for (const n of config.netdevs ?? []) args.push('-netdev', joinQemuOpts(null, n));
  for (const n of config.nics ?? []) args.push('-nic', joinQemuOpts(null, n));
  if (config.kernelArgs !== '') args.push('-append', config.kernelArgs);
  return args;
}
