// Which command-line options each QEMU release knows, and which take an argument, as data.
// QEMU reads argv twice (softmmu/vl.c, later system/vl.c qemu_init): a first pass looks up every
// option with lookup_opt() and exits on the first unknown one ("-X: invalid option") or on a
// missing argument ("-X: requires an argument") before any option takes effect, so an option a
// release lacks refuses the whole command line, wherever it stands.
// Source: qemu-options.hx of each release (DEF(name, HAS_ARG or 0, …)); the lists were taken from
// `-help` of the Debian builds (5.2+dfsg-11, 7.2+dfsg-7, 10.0.13, 11.1.3), completed with the
// options -help folds into another line (-hdb, -fdb, -hdd, -g, -prom-env, …), and are checked
// against those binaries by suites/reference/qemu-options.test.ts.

import type { QemuVersion } from '../toolchain.ts';

/** Options every modelled release takes with an argument. */
const COMMON_WITH_ARG = [
  'D', 'L', 'M', 'accel', 'acpitable', 'add-fd', 'append', 'audiodev', 'bios', 'blockdev', 'boot', 'cdrom',
  'chardev', 'cpu', 'd', 'debugcon', 'device', 'dfilter', 'display', 'drive', 'dtb', 'dump-vmstate', 'echr',
  'fda', 'fdb', 'fsdev', 'fw_cfg', 'g', 'gdb', 'global', 'hda', 'hdb', 'hdc', 'hdd', 'icount', 'incoming',
  'initrd', 'iscsi', 'k', 'kernel', 'loadvm', 'm', 'machine', 'mem-path', 'mon', 'monitor', 'msg', 'mtdblock',
  'name', 'net', 'netdev', 'nic', 'numa', 'object', 'option-rom', 'overcommit', 'parallel', 'pflash', 'pidfile',
  'plugin', 'prom-env', 'qmp', 'qmp-pretty', 'readconfig', 'rtc', 'sandbox', 'sd', 'seed', 'semihosting-config',
  'serial', 'set', 'smbios', 'smp', 'spice', 'tpmdev', 'trace', 'usbdevice', 'uuid', 'vga', 'virtfs', 'vnc',
  'watchdog-action', 'xen-domid',
] as const;

/** Options every modelled release takes without an argument. */
const COMMON_FLAGS = [
  'preconfig', 'S', 'daemonize', 'enable-kvm', 'enable-sync-profile', 'full-screen', 'h', 'help',
  'mem-prealloc', 'no-fd-bootchk', 'no-reboot', 'no-shutdown', 'no-user-config', 'nodefaults', 'nographic',
  'only-migratable', 's', 'semihosting', 'snapshot', 'usb', 'version', 'win2k-hack', 'xen-attach',
  'xen-domid-restrict',
] as const;

interface ReleaseOptions {
  withArg: readonly string[];
  flags: readonly string[];
}

/** What each release adds to the common lists (removed options are simply absent). */
const RELEASE_OPTIONS: Readonly<Record<QemuVersion, ReleaseOptions>> = {
  '5.2': {
    withArg: ['chroot', 'realtime', 'rotate', 'runas', 'soundhw', 'tb-size', 'watchdog', 'writeconfig'],
    flags: ['alt-grab', 'audio-help', 'ctrl-grab', 'curses', 'enable-fips', 'no-acpi', 'no-hpet', 'no-quit', 'old-param', 'portrait', 'sdl', 'show-cursor', 'singlestep'],
  },
  // Between 5.2 and 7.2 QEMU added -action, -audio and -compat and removed -enable-fips, -realtime,
  // -soundhw, -tb-size, -watchdog, -writeconfig and the SDL/curses shorthands
  // (docs/about/removed-features.rst of 7.2 lists each removal).
  '7.2': {
    withArg: ['action', 'audio', 'chroot', 'compat', 'rotate', 'runas'],
    flags: ['async-teardown', 'audio-help', 'no-acpi', 'no-hpet', 'old-param', 'portrait', 'singlestep'],
  },
  // Between 7.2 and 10.0 -no-acpi and -no-hpet were removed (-machine acpi=off / hpet=off), and
  // -chroot, -runas (-run-with) and -singlestep (-accel one-insn-per-tb=on) with them.
  '10.0': { withArg: ['action', 'audio', 'compat', 'run-with', 'shim'], flags: ['jitdump', 'old-param', 'perfmap'] },
  '11.1': { withArg: ['action', 'audio', 'compat', 'run-with', 'shim'], flags: ['jitdump', 'perfmap'] },
};

export interface QemuOptionNames {
  /** Every option name (without dashes) this release's lookup_opt() finds. */
  known: ReadonlySet<string>;
  /** …of which these take the next argv element as their argument. */
  withArg: ReadonlySet<string>;
}

const TABLE = new Map<QemuVersion, QemuOptionNames>();

export function qemuOptionNames(qemu: QemuVersion): QemuOptionNames {
  let names = TABLE.get(qemu);
  if (names === undefined) {
    const r = RELEASE_OPTIONS[qemu];
    const withArg = new Set<string>([...COMMON_WITH_ARG, ...r.withArg]);
    names = { known: new Set([...withArg, ...COMMON_FLAGS, ...r.flags]), withArg };
    TABLE.set(qemu, names);
  }
  return names;
}

/** Options no modelled release gives an argument: how a harness walks argv of any release. */
export function optionsWithoutArgument(): ReadonlySet<string> {
  return new Set([...COMMON_FLAGS, ...Object.values(RELEASE_OPTIONS).flatMap((r) => r.flags)]);
}
