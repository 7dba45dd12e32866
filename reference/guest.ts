// The kernel arguments the harness always passes in front of the user's `-append`. The kernel
// stage parses the whole command line, so the model and the harness share these functions.

import type { MachineConfig } from './config.ts';

/**
 * The ttyS the guest prints its observations on: COM1 (ttyS0), unless the user's own
 * `-device isa-serial,index=0` takes it; then the lowest index none of the user's ISA serial ports
 * has. (A user port without index= gets the next one after the board's COM1: QEMU's
 * hw/char/serial-isa.c serial_isa_realizefn counts them, so it never takes index 0 here.)
 */
export function guestConsoleIndex(config: Pick<MachineConfig, 'devices'>): number {
  // Asked once a prediction: most configurations have no ISA serial port, and need no set.
  let taken: Set<number> | null = null;
  for (const d of config.devices) {
    if (d.driver !== 'isa-serial') continue;
    for (const [k, v] of d.props) if (k === 'index') (taken ??= new Set()).add(Number(v));
  }
  if (taken === null || !taken.has(0)) return 0;
  let i = 1;
  while (taken.has(i)) i++;
  return i;
}

/**
 * Whether the guest starts one CPU: -smp absent, or none of its counts above 1 (maxcpus aside: those
 * CPUs are not brought up). The harness gives such a guest noapictimer and noreplace-smp
 * (guestFixedKernelArgs).
 */
export function guestHasOneCpu(config: Pick<MachineConfig, 'smp'>): boolean {
  const s = config.smp;
  return [s.cpus, s.sockets, s.dies, s.cores, s.threads].every((n) => n === null || n === 1);
}

/**
 * `console=ttyS<n> panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 [noapictimer noreplace-smp]`: the guest's
 * console; reboot (so QEMU exits) at once on a panic; only messages more urgent than KERN_INFO on
 * that console; timer settings and a tty setting that touch no layer.
 *
 * loglevel=6: the kernel writes its console synchronously to the 8250, byte by byte
 * (drivers/tty/serial/8250/8250_port.c serial8250_console_write), and under TCG the ~13 KiB of
 * KERN_INFO boot lines cost 0.3-0.5 s before /init (docs/minimal-kernel.md). What the console still
 * has to show is at KERN_NOTICE or above: the banner `Linux version …` (init/main.c start_kernel,
 * pr_notice), the harness's `kernel` stage, and panics (kernel/panic.c, pr_emerg). Every layer
 * comes from the ring buffer, which keeps every level: /init prints it whole (`dmesg -r`). A user's
 * `-append loglevel=N` comes later on the line and wins (init/main.c loglevel early_param, the last
 * one parsed).
 *
 * no_timer_check: the IO-APIC timer check (arch/x86/kernel/apic/io_apic.c timer_irq_works()) counts
 * ticks over a short busy wait, which a loaded TCG host now and then misses, and then panics with
 * "IO-APIC + timer doesn't work!"; skipped, it cannot fail. noapictimer: no local APIC timer, so no
 * calibration of it (arch/x86/kernel/apic/apic.c calibrate_APIC_clock(), a fixed 100 ms on the PIT,
 * which TCG CPUs without a TSC deadline timer all pay); ticks come from the PIT/HPET broadcast
 * instead, which is why only a one-CPU guest gets it: every other CPU would take each tick as an
 * IPI, and under TCG `-smp 64` reached /init at 59 s instead of 10 s. Both measured in
 * docs/minimal-kernel.md (**Timer arguments**).
 *
 * noreplace-smp, also for a one-CPU guest only: with one CPU present, arch/x86/kernel/alternative.c
 * alternative_instructions() rewrites every LOCK prefix of the kernel's text to a no-op
 * (alternatives_smp_unlock(), one text_poke() each), code TCG has already translated and must
 * drop; with the argument the prefixes stay, which one CPU cannot tell from the patched code.
 * 50-60 ms of every one-CPU boot under TCG, 115-180 ms on the cloud kernel (docs/minimal-kernel.md,
 * **SMP alternatives**). A guest with more CPUs is never patched, so it needs no argument.
 *
 * pty.legacy_count=0: no BSD ptys. The minimal kernels have CONFIG_LEGACY_PTYS (tinyconfig's
 * default) with 256 of them, and drivers/tty/pty.c pty_init() registers 512 devices for them:
 * 28-39 ms of every boot under TCG, 0.5 ms with none (legacy_pty_init returns at once). The cloud
 * kernels have no legacy ptys, so for them it is an unknown dotted parameter, which init/main.c
 * unknown_bootoption drops without a word (docs/minimal-kernel.md, **Legacy ptys**).
 */
export function guestFixedKernelArgs(consoleIndex = 0, oneCpu = true): string {
  return `console=ttyS${consoleIndex} panic=-1 loglevel=6 no_timer_check pty.legacy_count=0${oneCpu ? ' noapictimer noreplace-smp' : ''}`;
}

export const GUEST_FIXED_KERNEL_ARGS = guestFixedKernelArgs(0);

export function guestKernelCommandLine(userArgs: string, consoleIndex = 0, oneCpu = true): string {
  const user = userArgs.trim();
  const fixed = guestFixedKernelArgs(consoleIndex, oneCpu);
  return user === '' ? fixed : `${fixed} ${user}`;
}
