// The framing the guest's /init prints on the serial console and the harness parses.
// Kept in one module so the init script and the parser can never disagree.
//
//   ==E820== BEGIN <section>
//   …section body, verbatim…
//   ==E820== END <section> rc=<exit status of the command that produced it>
//   …
//   ==E820== DONE
//
// A section whose source does not exist prints one body line `unavailable: <reason>`.

export const MARKER_PREFIX = '==E820==';

export const SECTIONS = [
  /** `uname -r`. */
  'uname',
  /** `/proc/cmdline`. */
  'cmdline',
  /** `dmesg -r`: the whole ring buffer, every level, `<L>[ t ] text` per line. */
  'dmesg',
  /** `/proc/iomem` read as root. */
  'iomem',
  /** /sys/firmware/memmap/N in index order, one line each: `N start end type` (files' text as is). */
  'memmap',
  /** The bytes of /sys/firmware/qemu_fw_cfg/by_name/etc/e820/raw as hex, `od -An -v -tx1` style. */
  'fwcfg-e820',
] as const;

export type SectionName = (typeof SECTIONS)[number];

export const beginMarker = (s: SectionName) => `${MARKER_PREFIX} BEGIN ${s}`;
export const endMarkerPrefix = (s: SectionName) => `${MARKER_PREFIX} END ${s} rc=`;
export const DONE_MARKER = `${MARKER_PREFIX} DONE`;
export const UNAVAILABLE_PREFIX = 'unavailable: ';
