// SeaBIOS's debug-port log (isa-debugcon at 0x402), formats per src/e820map.c dump_map and docs/model/seabios.md#debug-port-log.
// Every line we do not recognise is skipped: the log is mostly device setup chatter. Lines that
// start like one of ours but do not match its format are errors, so a garbled line can never
// silently drop an entry.

import { E820_TYPE_NAMES, type E820Range, type E820Record } from '../../reference/e820.ts';
import { LogParseError, type LogSource } from './errors.ts';
import { describeChar, noiseAt, toLines, type LinesInput, type SourceLine } from './lines.ts';

export interface SeabiosQemuE820Line {
  readonly start: bigint;
  readonly length: bigint;
  /** Only RAM and reserved records are logged (others are ignored by qemu_early_e820). */
  readonly kind: 'RAM' | 'reserved';
  readonly line: number;
}

export interface SeabiosDump {
  /** Line of the `e820 map has N items:` header. */
  readonly line: number;
  /** Entries as dump_map prints them: end exclusive. */
  readonly entries: readonly E820Range[];
}

export interface SeabiosLog {
  /** `SeaBIOS (version …)` of the first banner, null if none. */
  readonly version: string | null;
  /** `qemu/e820: addr … len … [RAM|reserved]` lines of the POST whose dump is used, in order. */
  readonly qemuE820: readonly SeabiosQemuE820Line[];
  /** `qemu/e820: fw_cfg file etc/e820 not found` seen (SeaBIOS took the CMOS path). */
  readonly etcE820NotFound: boolean;
  /** `Returned N bytes of ZoneHigh` of that POST, null if absent. */
  readonly zoneHighReturned: number | null;
  /** The last `e820 map has N items:` dump: the map the kernel got. Null if none. */
  readonly dump: SeabiosDump | null;
  /** How many dumps the log holds (more than one means the machine reset and POSTed again). */
  readonly dumpCount: number;
  readonly lineCount: number;
  readonly warnings: readonly string[];
}

const BANNER = /^SeaBIOS \(version (.+)\)$/;
const QEMU_E820 = /^qemu\/e820: addr 0x([0-9a-f]{16}) len 0x([0-9a-f]{16}) \[(RAM|reserved)\]$/;
const QEMU_E820_NOT_FOUND = 'qemu/e820: fw_cfg file etc/e820 not found';
// Other qemu/e820 lines exist at hidden debug levels (RamSize…); accept them, check ours.
const QEMU_E820_OTHER = /^qemu\/e820: (RamSize|RamSizeOver4G): 0x[0-9a-f]+$/;
const RETURNED = /^Returned (\d+) bytes of ZoneHigh$/;
/** dump_map() header and entries (src/e820map.c); the runner follows them live too (run-qemu.ts). */
export const DUMP_HEADER = /^e820 map has (\d+) items:$/;
export const DUMP_ENTRY = /^ {2}(\d+): ([0-9a-f]{16}) - ([0-9a-f]{16}) = (\d+) (RAM|RESERVED|ACPI|NVS|UNUSABLE|UNKNOWN)$/;
/**
 * The line SeaBIOS prints when POST is over and it hands over to a boot entry (src/boot.c:
 * boot_disk/boot_cdrom/boot_rom/boot_cbfs print "Booting from …", boot_fail "No bootable
 * device."). It follows the final e820 dump, so after both the firmware map can no longer change.
 */
export const BOOT_LINE = /^(?:Booting from |No bootable device)/;

/** dump_map's name for a type (src/e820map.c): reference/e820.ts E820_TYPE_NAMES. */
export function seabiosTypeName(type: number): string {
  return E820_TYPE_NAMES[type]?.seabios ?? 'UNKNOWN';
}

export function parseSeabiosLog(input: LinesInput, source: LogSource = 'seabios'): SeabiosLog {
  const lines = toLines(input);
  const warnings: string[] = [];
  let version: string | null = null;
  let dump: SeabiosDump | null = null;
  let dumpCount = 0;
  // Per-POST state: reset after each dump so the values belong to the dump we keep.
  let qemuE820: SeabiosQemuE820Line[] = [];
  let notFound = false;
  let returned: number | null = null;
  let kept: { qemuE820: SeabiosQemuE820Line[]; notFound: boolean; returned: number | null } = { qemuE820, notFound, returned };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as SourceLine;
    const text = line.text.trimEnd();

    const banner = BANNER.exec(text);
    if (banner) {
      version ??= banner[1] ?? null;
      continue;
    }
    if (text.startsWith('qemu/e820:')) {
      const m = QEMU_E820.exec(text);
      if (m) {
        qemuE820.push({ start: BigInt(`0x${m[1]}`), length: BigInt(`0x${m[2]}`), kind: m[3] as 'RAM' | 'reserved', line: line.no });
      } else if (text === QEMU_E820_NOT_FOUND) {
        notFound = true;
      } else if (!QEMU_E820_OTHER.test(text)) {
        throw new LogParseError(source, line.no, line.text, 'unrecognised qemu/e820 line', 'expected "qemu/e820: addr 0x%016llx len 0x%016llx [RAM|reserved]"');
      }
      continue;
    }
    if (text.startsWith('Returned ') && text.includes('ZoneHigh')) {
      const m = RETURNED.exec(text);
      if (!m) throw new LogParseError(source, line.no, line.text, 'malformed "Returned N bytes of ZoneHigh" line');
      returned = Number(m[1]);
      continue;
    }
    if (text.startsWith('e820 map has')) {
      const m = DUMP_HEADER.exec(text);
      if (!m) throw new LogParseError(source, line.no, line.text, 'malformed "e820 map has N items:" header');
      const n = Number(m[1]);
      const entries: E820Range[] = [];
      for (let k = 0; k < n; k++) {
        const entryLine = lines[i + 1 + k];
        if (!entryLine) {
          throw new LogParseError(source, line.no, line.text, `dump announces ${n} items but the log ends after ${k}`, 'the SeaBIOS log was cut');
        }
        const e = DUMP_ENTRY.exec(entryLine.text.trimEnd());
        if (!e) {
          throw new LogParseError(source, entryLine.no, entryLine.text, `dump announced at line ${line.no} has ${n} items but entry ${k} is not a dump line`, 'expected "  N: start - end = type NAME" (16 hex digits, end exclusive)');
        }
        const [, idx, s, en, ty, name] = e;
        if (Number(idx) !== k) throw new LogParseError(source, entryLine.no, entryLine.text, `dump entry numbered ${idx}, expected ${k}`);
        const type = Number(ty);
        if (seabiosTypeName(type) !== name) throw new LogParseError(source, entryLine.no, entryLine.text, `type ${type} printed with name ${name}, SeaBIOS would print ${seabiosTypeName(type)}`);
        const start = BigInt(`0x${s}`);
        const end = BigInt(`0x${en}`);
        entries.push({ start, end, type });
      }
      // An extra entry-shaped line right after means the header's count is wrong.
      const after = lines[i + 1 + n];
      if (after && DUMP_ENTRY.test(after.text.trimEnd())) {
        throw new LogParseError(source, after.no, after.text, `dump announced at line ${line.no} has ${n} items but more entry lines follow`);
      }
      if (dump) warnings.push(`SeaBIOS log has more than one e820 dump (lines ${dump.line} and ${line.no}): the machine reset and POSTed again; the last one is used`);
      dump = { line: line.no, entries };
      dumpCount++;
      kept = { qemuE820, notFound, returned };
      qemuE820 = [];
      notFound = false;
      returned = null;
      i += n;
      continue;
    }
    const at = noiseAt(line.text);
    if (at >= 0) warnings.push(`SeaBIOS log line ${line.no}: ${describeChar(line.text[at] ?? '')} (line ignored)`);
  }

  if (dump && (qemuE820.length > 0 || returned !== null)) {
    warnings.push(`SeaBIOS log continues after the last e820 dump (line ${dump.line}) with a POST that never finished; that partial POST is ignored`);
  }
  if (!dump) kept = { qemuE820, notFound, returned };
  return {
    version,
    qemuE820: kept.qemuE820,
    etcE820NotFound: kept.notFound,
    zoneHighReturned: kept.returned,
    dump,
    dumpCount,
    lineCount: lines.length,
    warnings,
  };
}

/** The `qemu/e820` lines as records (what SeaBIOS read from etc/e820, RAM and reserved only). */
export function seabiosQemuRecords(log: SeabiosLog): E820Record[] {
  return log.qemuE820.map((l) => ({ start: l.start, length: l.length, type: l.kind === 'RAM' ? 1 : 2 }));
}
