// `dmesg -r` (the syslog ring buffer, raw): `<L>[    0.000000] text` per line. The number in
// `<…>` is facility*8 + level (kernel messages have facility 0; lines written to /dev/kmsg by
// user space have facility 1, e.g. `<12>`). The kernel prefixes every line of a multi-line
// record (record_print_text()), so each line of a multi-line record, and every pr_cont()
// continuation merged into its record, arrives with a prefix. A line without one is therefore
// not dmesg -r output (plain `dmesg`, or console text mixed in) and is an error, never glued
// onto the record before it, where it would corrupt a compared line.

import { isBiosE820Line, isE820EditLine, isUnclassifiedE820Mention } from '../../reference/kernel-lines.ts';
import { LogParseError, type LogSource } from './errors.ts';
import { requireAscii, toLines, type LinesInput } from './lines.ts';

export interface DmesgRecord {
  /** Syslog level 0–7 (6 = KERN_INFO, 7 = KERN_DEBUG). */
  readonly level: number;
  /** Syslog facility (0 = kernel). */
  readonly facility: number;
  /** Seconds since boot as printed; null when printk timestamps are off. */
  readonly time: number | null;
  /** The text exactly as printed after the timestamp. */
  readonly text: string;
  /** Line of the record's first line in the log. */
  readonly line: number;
}

// `<L>` then optionally `[ seconds.micro ]` and one space. The kernel pads the seconds to 5
// columns; the text starts right after `] `.
const RECORD = /^<(\d{1,3})>(?:\[\s*(\d+\.\d+)\] ?)?(.*)$/;

export function parseDmesg(input: LinesInput, source: LogSource = 'serial'): DmesgRecord[] {
  const records: DmesgRecord[] = [];
  for (const line of toLines(input)) {
    requireAscii(source, line, 'dmesg output');
    const m = RECORD.exec(line.text);
    if (!m) {
      throw new LogParseError(source, line.no, line.text, 'not a "<level>[time] text" dmesg record', 'the guest must run `dmesg -r` (raw, with level prefixes); console output must not mix into the section');
    }
    const pri = Number(m[1]);
    if (pri > 191) throw new LogParseError(source, line.no, line.text, `syslog priority <${pri}> out of range`);
    records.push({ level: pri & 7, facility: pri >> 3, time: m[2] === undefined ? null : Number(m[2]), text: m[3] ?? '', line: line.no });
  }
  return records;
}

export interface KernelE820Lines {
  /** `BIOS-e820:` lines in order, exactly as printed after the timestamp. */
  readonly biosE820: string[];
  /** Lines matching reference/kernel-lines.ts E820_EDIT_PATTERNS, in order. */
  readonly e820Edits: string[];
  /** Lines that mention e820 but match no rule (neither compared nor knowingly excluded). */
  readonly unclassified: ReadonlyArray<{ line: number; text: string }>;
}

/** Kernel (facility 0) records selected by the rules of reference/kernel-lines.ts. */
export function selectE820Lines(records: readonly DmesgRecord[]): KernelE820Lines {
  const biosE820: string[] = [];
  const e820Edits: string[] = [];
  const unclassified: Array<{ line: number; text: string }> = [];
  for (const r of records) {
    // Messages user space wrote to /dev/kmsg are not the kernel's.
    if (r.facility !== 0) continue;
    if (isBiosE820Line(r.text)) biosE820.push(r.text);
    else if (isE820EditLine(r.text)) e820Edits.push(r.text);
    else if (isUnclassifiedE820Mention(r.text)) unclassified.push({ line: r.line, text: r.text });
  }
  return { biosE820, e820Edits, unclassified };
}
