// The full QEMU argv for one harness boot: the user's arguments (as given, or printed from a
// MachineConfig by reference/cmdline/) plus the parts the harness owns — guest kernel and
// initramfs, the kernel command line prefix, where the console and the SeaBIOS debug port go,
// and "exit instead of rebooting". Pure: no I/O, no defaults read from the environment.
//
// Nothing the harness adds may change the memory map: the console stays on the default
// isa-serial (COM1), and the debug port is an ISA I/O port device with no memory behind it.

import type { Accelerator } from '../reference/config.ts';
import { GUEST_FIXED_KERNEL_ARGS, guestFixedKernelArgs } from '../reference/guest.ts';
import { optionsWithoutArgument } from '../reference/profiles/qemu-options.ts';
import { HarnessArgvError } from './errors.ts';

/**
 * Kernel arguments the harness always passes, in front of the user's `-append`.
 * console=ttyS0: the guest's observations go to the serial log. panic=-1: reboot at once on a
 * panic, which -no-reboot turns into QEMU exiting, so a panic never waits for the deadline.
 * loglevel=6: the console shows the kernel's banner and panics but not its KERN_INFO boot lines,
 * which cost TCG time; /init prints the whole ring buffer (reference/guest.ts says why).
 * no_timer_check: no IO-APIC timer check (its panic under load); noapictimer, for a one-CPU guest:
 * no local APIC timer calibration (100 ms a boot), and noreplace-smp: no rewriting of the kernel's
 * LOCK prefixes for one CPU (50-60 ms a boot); pty.legacy_count=0: no 512 legacy pty devices
 * registered (30-40 ms a boot); reference/guest.ts says why.
 * The model's kernel stage needs these: they are part of the command line the guest sees, so
 * the value lives in reference/guest.ts and both sides read the one constant.
 */
export const HARNESS_KERNEL_ARGS = GUEST_FIXED_KERNEL_ARGS;

/**
 * SeaBIOS's debug output port (CONFIG_DEBUG_IO, DEBUG_IO_PORT 0x402 on QEMU). Plain -debugcon
 * is an isa-debugcon at 0xe9, where SeaBIOS writes nothing.
 */
export const SEABIOS_DEBUG_PORT = 0x402;

/** Chardev id of the firmware log; a user chardev with this id would clash. */
export const FIRMWARE_CHARDEV_ID = 'e820fw';
/** Chardev id of the console when it is not on COM1 (consoleIndex > 0). */
export const CONSOLE_CHARDEV_ID = 'e820con';

export interface HarnessArgvOptions {
  /** The user's QEMU arguments, without the binary. */
  userArgs: readonly string[];
  /** Guest kernel image (bzImage). */
  kernel: string;
  /** Guest initramfs. */
  initrd: string;
  /** Extra arguments the guest needs (e.g. from the initramfs builder), after the fixed ones, before the user's. */
  kernelArgs?: string;
  /** File the guest console is written to. */
  serialLog: string;
  /**
   * The ttyS the guest console goes to (reference/guest.ts guestConsoleIndex): 0 is the board's
   * COM1 through -serial; another index, when the user's own isa-serial holds COM1, is an ISA
   * serial port of the harness's (and -serial none keeps QEMU from adding a default COM1).
   */
  consoleIndex?: number;
  /** Whether the guest starts one CPU (reference/guest.ts guestHasOneCpu), which adds noapictimer and noreplace-smp. Default: true. */
  oneCpu?: boolean;
  /** File the SeaBIOS debug port is written to. */
  firmwareLog: string;
  /** Used unless the user's arguments already choose an accelerator. Default: tcg. */
  accel?: Accelerator;
  /** `-audio none` unless the user's arguments name an audio backend (QemuProfile.harnessAudioNone). */
  audioNone?: boolean;
  /** Extra firmware search directory (`-L`), e.g. another suite's SeaBIOS images. */
  firmwareDir?: string;
}

/** A user option the harness removed or replaced, listed so nothing is dropped silently. */
export interface DroppedOption {
  option: string;
  value: string | null;
  why: string;
}

export interface HarnessArgv {
  /** Arguments for the QEMU binary (argv[1..]). */
  args: string[];
  /** The kernel command line the guest will see (/proc/cmdline). */
  kernelCmdline: string;
  /** The user's `-append` (the last one, as QEMU takes), '' if none. */
  userAppend: string;
  /** The accelerator in effect: the user's if they chose one, else `accel`; null when the user's choice is not a plain name. */
  accel: string | null;
  dropped: DroppedOption[];
}

/**
 * QEMU options that take no argument in any modelled release (reference/profiles/qemu-options.ts):
 * every other option takes exactly one; this is how the user's argv is walked without a parser.
 */
const NO_ARG_OPTIONS = optionsWithoutArgument();

/** Options the harness owns: they are replaced by the harness's own and reported as dropped. */
const REPLACED: Record<string, string> = {
  serial: 'the harness sends the guest console to its own serial log',
  nographic: 'the harness runs with -display none and the console in a file',
  display: 'the harness runs with -display none',
  vnc: 'the harness runs with -display none',
  curses: 'the harness runs with -display none',
  sdl: 'the harness runs with -display none',
  monitor: 'the harness runs with -monitor none',
  qmp: 'the harness does not expose a monitor',
  debugcon: 'the harness owns the debug console (SeaBIOS log on port 0x402)',
  'no-reboot': 'the harness always passes -no-reboot',
  'no-shutdown': 'the guest powers off when done; -no-shutdown would keep QEMU running until the deadline',
  // libvirt starts every guest stopped and sends QMP `cont` once set up; the harness has no monitor.
  S: 'the CPU would wait for a monitor `cont` that never comes; the harness boots it running, as `cont` would',
};

/** Options that cannot be combined with a harness boot at all. */
const REFUSED: Record<string, string> = {
  kernel: 'the harness boots its own guest kernel',
  initrd: 'the harness boots its own initramfs',
  daemonize: 'the harness must own the QEMU process',
  incoming: 'the harness boots a fresh guest',
  loadvm: 'the harness boots a fresh guest',
};

interface ParsedOption {
  /** Name without dashes. */
  name: string;
  /** The option as spelled (`-m`, `--m`). */
  spelled: string;
  value: string | null;
  /** Original tokens. */
  tokens: string[];
}

/** Splits the user's argv into options (and positional tokens, kept as they are). */
function walk(userArgs: readonly string[]): Array<ParsedOption | { positional: string }> {
  const out: Array<ParsedOption | { positional: string }> = [];
  for (let i = 0; i < userArgs.length; i++) {
    const tok = userArgs[i]!;
    if (!tok.startsWith('-') || tok === '-') {
      out.push({ positional: tok });
      continue;
    }
    const name = tok.replace(/^--?/, '');
    if (NO_ARG_OPTIONS.has(name)) {
      out.push({ name, spelled: tok, value: null, tokens: [tok] });
      continue;
    }
    const value = userArgs[i + 1];
    if (value === undefined) throw new HarnessArgvError(tok, 'requires an argument');
    out.push({ name, spelled: tok, value, tokens: [tok, value] });
    i++;
  }
  return out;
}

/** QEMU's option-value escaping: a comma inside a value is written twice. */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/** `console=ttyS<n> panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 [noapictimer noreplace-smp] <extra> <user -append>`, single-spaced, as the guest will see it. */
export function kernelCommandLine(userAppend: string, extra = '', consoleIndex = 0, oneCpu = true): string {
  return [guestFixedKernelArgs(consoleIndex, oneCpu), extra.trim(), userAppend.trim()].filter((s) => s !== '').join(' ');
}

/**
 * The -accel value the harness passes when the user chose no accelerator. Its own TCG runs every
 * vCPU on one host thread (thread=single, QEMU's round-robin TCG; accel/tcg/tcg-all.c): the default
 * multi-threaded TCG gives each vCPU a thread, and on this project's 2-core machines an -smp 64
 * guest went from 24.3 s to 4.2 s to power-off with one (/init at 10.1 s → 2.9 s; QEMU 7.2, the
 * 6.1 minimal kernel). What the guest sees is the same machine: CPUs, memory, devices.
 */
function harnessAccelValue(accel: Accelerator): string {
  return accel === 'tcg' ? 'tcg,thread=single' : accel;
}

/**
 * `-audio none` where the release wants it (QemuProfile.harnessAudioNone) and the user's arguments
 * name no audio backend (-audio, -audiodev): their sound devices then get the `none` driver instead
 * of whatever the host has, so a run does not depend on the host's sound.
 */
function audioArgs(audioNone: boolean | undefined, options: readonly ParsedOption[]): string[] {
  return audioNone === true && !options.some((o) => o.name === 'audio' || o.name === 'audiodev') ? ['-audio', 'none'] : [];
}

/** Which accelerator the user's arguments choose, if any (`undefined`: none chosen). */
function userAccel(options: ParsedOption[]): string | null | undefined {
  let chosen: string | null | undefined;
  for (const o of options) {
    if (o.name === 'enable-kvm') chosen = 'kvm';
    else if (o.name === 'accel' && o.value !== null) chosen = o.value.split(',')[0] ?? null;
    else if ((o.name === 'machine' || o.name === 'M') && o.value !== null) {
      const m = /(?:^|,)accel=([^,]*)/.exec(o.value);
      if (m) chosen = m[1]!.includes(':') ? null : m[1]!;
    }
  }
  return chosen;
}

/**
 * The accelerator the user's arguments choose (`-accel kvm`, `-enable-kvm`, `-M …,accel=kvm`):
 * its name, null when the choice is not a plain name (`kvm:tcg`), undefined when none is chosen.
 */
export function userAccelerator(userArgs: readonly string[]): string | null | undefined {
  return userAccel(walk(userArgs).filter((i): i is ParsedOption => 'name' in i));
}

/**
 * The user's options as the harness takes them, in order: positional tokens kept; `own` asked
 * first: `{ drop: why }` drops an option (listed), 'taken' means the caller uses it itself (not
 * passed on, not listed), null lets it through; then REFUSED options are thrown and REPLACED ones
 * dropped (and listed), every other option kept as typed.
 */
function takeUserOptions(
  items: ReadonlyArray<ParsedOption | { positional: string }>,
  own: (o: ParsedOption) => { drop: string } | 'taken' | null,
): { kept: string[]; dropped: DroppedOption[] } {
  const kept: string[] = [];
  const dropped: DroppedOption[] = [];
  for (const item of items) {
    if ('positional' in item) {
      kept.push(item.positional);
      continue;
    }
    const decided = own(item);
    if (decided === 'taken') continue;
    const why = decided?.drop ?? (REFUSED[item.name] !== undefined ? refuse(item) : REPLACED[item.name]);
    if (why !== undefined) dropped.push({ option: item.spelled, value: item.value, why });
    else kept.push(...item.tokens);
  }
  return { kept, dropped };
}

function refuse(o: ParsedOption): never {
  throw new HarnessArgvError(o.spelled, `cannot be used with the harness: ${REFUSED[o.name]}`);
}

/** Builds the full argv of a harness boot; see the module comment. */
export function planHarnessArgv(opts: HarnessArgvOptions): HarnessArgv {
  const items = walk(opts.userArgs);
  const options = items.filter((i): i is ParsedOption => 'name' in i);
  const appends = options.filter((o) => o.name === 'append');
  const userAppend = appends.at(-1)?.value ?? '';
  const { kept, dropped } = takeUserOptions(items, (item) => {
    // The last -append goes into the guest's kernel command line (kernelCommandLine).
    if (item.name === 'append') return item !== appends.at(-1) ? { drop: 'QEMU uses only the last -append' } : 'taken';
    const ownId = [FIRMWARE_CHARDEV_ID, CONSOLE_CHARDEV_ID].find((id) => item.name === 'chardev' && item.value !== null && new RegExp(`(?:^|,)id=${id}(?:,|$)`).test(item.value));
    if (ownId !== undefined) throw new HarnessArgvError(item.spelled, `chardev id ${ownId} is reserved for the harness's ${ownId === FIRMWARE_CHARDEV_ID ? 'firmware log' : 'console'}`);
    return null;
  });

  const chosen = userAccel(options);
  const accelArgs = chosen === undefined ? ['-accel', harnessAccelValue(opts.accel ?? 'tcg')] : [];
  const consoleIndex = opts.consoleIndex ?? 0;
  const kernelCmdline = kernelCommandLine(userAppend, opts.kernelArgs, consoleIndex, opts.oneCpu ?? true);
  const console =
    consoleIndex === 0
      ? ['-serial', `file:${opts.serialLog}`]
      : ['-serial', 'none', '-chardev', `file,id=${CONSOLE_CHARDEV_ID},path=${qemuOptValue(opts.serialLog)}`, '-device', `isa-serial,chardev=${CONSOLE_CHARDEV_ID},index=${consoleIndex}`];

  const args = [
    ...(opts.firmwareDir !== undefined ? ['-L', opts.firmwareDir] : []),
    ...kept,
    ...accelArgs,
    ...audioArgs(opts.audioNone, options),
    '-kernel', opts.kernel,
    '-initrd', opts.initrd,
    '-append', kernelCmdline,
    ...console,
    '-chardev', `file,id=${FIRMWARE_CHARDEV_ID},path=${qemuOptValue(opts.firmwareLog)}`,
    '-device', `isa-debugcon,iobase=0x${SEABIOS_DEBUG_PORT.toString(16)},chardev=${FIRMWARE_CHARDEV_ID}`,
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
  ];
  return {
    args,
    kernelCmdline,
    userAppend,
    accel: chosen === undefined ? (opts.accel ?? 'tcg') : chosen,
    dropped,
  };
}

/** The argv (without the binary) of a harness boot. */
export function harnessArgv(opts: HarnessArgvOptions): string[] {
  return planHarnessArgv(opts).args;
}

// ---------------------------------------------------------------------------------------------
// The QEMU layer without a guest (harness/qtest/): the same user arguments, no guest.

/** Guest-only options: a qtest run boots no guest, so they are dropped (and listed). */
const GUEST_ONLY: Record<string, string> = {
  kernel: 'qtest boots no guest',
  initrd: 'qtest boots no guest',
  append: 'qtest boots no guest',
  dtb: 'qtest boots no guest',
};

export interface QtestArgvOptions {
  userArgs: readonly string[];
  /** Used unless the user's arguments already choose an accelerator. Default: tcg (as a boot). */
  accel?: Accelerator;
  /** As HarnessArgvOptions.audioNone. */
  audioNone?: boolean;
  /** Extra firmware search directory (`-L`), as for a boot. */
  firmwareDir?: string;
  /** As HarnessArgvOptions.consoleIndex: > 0 means the user's own isa-serial holds COM1. */
  consoleIndex?: number;
}

/**
 * The argv of a qtest run: the user's arguments as a boot would take them (the same options
 * dropped, the same refused), minus the guest-only ones, with the boot's accelerator and -L.
 * `-S` keeps the CPU at its reset vector, so no firmware runs and fw_cfg and CMOS stay as board
 * init left them; `-qtest stdio` speaks QEMU's qtest protocol (docs/devel/qtest.rst) on
 * stdin/stdout. The qtest server works under any accelerator, so TCG is kept: Debian's 7.2 and
 * 10.0 builds ship no qtest accelerator module, and TCG makes the same checks as the boots.
 */
export function planQtestArgv(opts: QtestArgvOptions): { args: string[]; accel: string | null; dropped: DroppedOption[] } {
  const items = walk(opts.userArgs);
  const options = items.filter((i): i is ParsedOption => 'name' in i);
  const { kept, dropped } = takeUserOptions(items, (item) => {
    const why = GUEST_ONLY[item.name];
    return why !== undefined ? { drop: why } : null;
  });
  const chosen = userAccel(options);
  const args = [
    ...(opts.firmwareDir !== undefined ? ['-L', opts.firmwareDir] : []),
    ...kept,
    ...(chosen === undefined ? ['-accel', opts.accel ?? 'tcg'] : []),
    ...audioArgs(opts.audioNone, options),
    '-S',
    '-qtest', 'stdio',
    // No qtest log at all (system/qtest.c qtest_server_start: "none" opens none), rather than
    // /dev/null, which formats a timestamped line per command and reply.
    '-qtest-log', 'none',
    // COM1 stays as in a boot (there the console's file), unless the user's own serial holds it.
    '-serial', (opts.consoleIndex ?? 0) === 0 ? 'null' : 'none',
    '-display', 'none',
    '-monitor', 'none',
  ];
  return { args, accel: chosen === undefined ? (opts.accel ?? 'tcg') : chosen, dropped };
}
