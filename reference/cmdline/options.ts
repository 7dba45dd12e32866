// The option table: every qemu-system-x86_64 option the model knows, by name, with what parsing
// does with it (handled, ignored with a reason, owned by the harness, or not modelled).

export type Handler =
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

export interface OptionSpec {
  readonly arg: boolean;
  readonly kind: { handle: Handler } | { ignore: string } | { harness: string } | { unsupported: string };
}

/** Checked by `e820 check` boots on pc and q35 (QEMU 7.2, -m 1G): the map does not move. */
export const NO_MAP_EFFECT = 'its table/device change leaves the memory map unchanged (checked by boots on pc and q35); kept on the QEMU command line';

/** Host-side backends and plumbing: the guest sees only the -device that uses them, judged on its own (suites/matrix/harmless.yaml boots each). */
export const BACKEND_ONLY = 'a host-side backend: the guest sees only the -device that uses it, which is judged on its own';

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
