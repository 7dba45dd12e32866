// What the QEMU stage takes besides the configuration and the profile, and the two helpers every
// part reads machine and CPU properties with.

import type { QemuChange } from '../intent.ts';
import type { BiosVariant } from '../profiles/seabios.ts';

/** Facts about the KVM host the model cannot derive from the command line. */
export interface HostFacts {
  cpuVendor: 'AuthenticAMD' | 'GenuineIntel' | 'HygonGenuine';
  physBits: number;
  /**
   * The host CPU has CPUID.(7,0):ECX.LA57, which KVM passes on (`host`, `max`, or a model or flag
   * asking for la57). Unknown: a configuration whose guest would ask for it is refused as unmodelled.
   */
  la57?: boolean;
}

export interface QemuStageOptions {
  /** Required when the config uses KVM (the guest CPU takes the host's vendor). */
  host?: HostFacts;
  /** The -bios image's configuration when known from the image (FirmwareInputs.biosVariant). */
  biosVariant?: BiosVariant;
  /**
   * Declared etc/e820 records (reference/intent.ts): a patched QEMU calling e820_add_entry
   * (hw/i386/e820_memory_layout.c), which appends to the table. Appended in order after the
   * machine's own records; absent or empty: the table is the machine's alone.
   */
  intent?: readonly QemuChange[];
}

export const prop = (props: ReadonlyArray<readonly [string, string]>, key: string): string | undefined => {
  let found: string | undefined;
  for (const [k, v] of props) if (k === key) found = v; // last one wins, as in QEMU's option parsing
  return found;
};

export const isOn = (v: string | undefined): boolean => v !== undefined && ['on', 'yes', 'true', ''].includes(v);
