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
  const taken = new Set(
    config.devices.filter((d) => d.driver === 'isa-serial').flatMap((d) => d.props.filter(([k]) => k === 'index').map(([, v]) => Number(v))),
  );
  if (!taken.has(0)) return 0;
  let i = 1;
  while (taken.has(i)) i++;
  return i;
}

/** `console=ttyS<n> panic=-1`: the guest's console, and reboot (so QEMU exits) at once on a panic. */
export function guestFixedKernelArgs(consoleIndex = 0): string {
  return `console=ttyS${consoleIndex} panic=-1`;
}

export const GUEST_FIXED_KERNEL_ARGS = guestFixedKernelArgs(0);

export function guestKernelCommandLine(userArgs: string, consoleIndex = 0): string {
  const user = userArgs.trim();
  const fixed = guestFixedKernelArgs(consoleIndex);
  return user === '' ? fixed : `${fixed} ${user}`;
}
