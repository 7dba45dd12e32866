// The one shape both `e820 predict --json` and `e820 capture --json` print, so model and machine
// compare field by field. A field the model does not predict for a configuration, or a layer
// the harness could not observe, is absent, never empty-by-guess.

import { hex } from './address.ts';
import type { E820Range, E820Record } from './e820.ts';

export interface QemuE820Json {
  start: string;
  length: string;
  type: number;
}

/** SeaBIOS's dump: end exclusive. */
export interface FirmwareE820Json {
  start: string;
  end: string;
  type: number;
}

/** /sys/firmware/memmap/N: start, end (inclusive) and type exactly as sysfs prints them. */
export interface MemmapJson {
  start: string;
  end: string;
  type: string;
}

export interface LayerReport {
  qemu?: {
    /** etc/e820 records in file order. */
    e820?: QemuE820Json[];
  };
  firmware?: {
    /** The final SeaBIOS map (what INT 15h E820 returns), as `e820 map has N items:` dumps it. */
    e820?: FirmwareE820Json[];
    /** `Returned N bytes of ZoneHigh`. */
    zoneHighReturned?: number;
  };
  kernel?: {
    /** `BIOS-e820:` lines exactly as printed after the timestamp, in order. */
    biosE820?: string[];
    /** The other E820-related kernel lines (reference/kernel-lines.ts decides which), in order. */
    e820Edits?: string[];
    memmap?: MemmapJson[];
    /** /proc/iomem lines exactly as printed, indentation kept. */
    iomem?: string[];
  };
}

export function qemuE820Json(records: readonly E820Record[]): QemuE820Json[] {
  return records.map((r) => ({ start: hex(r.start), length: hex(r.length), type: r.type }));
}

export function firmwareE820Json(ranges: readonly E820Range[]): FirmwareE820Json[] {
  // Most of SeaBIOS's entries start where the one before ends: that number is spelled once.
  let prevEnd: bigint | null = null;
  let prevEndHex = '';
  return ranges.map((r) => {
    const start = r.start === prevEnd ? prevEndHex : hex(r.start);
    prevEnd = r.end;
    prevEndHex = hex(r.end);
    return { start, end: prevEndHex, type: r.type };
  });
}
