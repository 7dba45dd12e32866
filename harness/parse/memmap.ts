// The memmap section: /sys/firmware/memmap/N in index order, one `N start end type` line each,
// the files' text as sysfs prints it (`0x9fbff`, `System RAM`; drivers/firmware/memmap.c, docs/model/linux.md#sysfirmwarememmap).

import type { MemmapJson } from '../../reference/report.ts';
import { LogParseError, type LogSource } from './errors.ts';
import { requireAscii, toLines, type LinesInput } from './lines.ts';

// sysfs prints `0x%llx`: lower-case, no padding, `0x0` for zero.
const MEMMAP = /^(\d+) (0x(?:0|[1-9a-f][0-9a-f]*)) (0x(?:0|[1-9a-f][0-9a-f]*)) (\S.*)$/;

export function parseMemmap(input: LinesInput, source: LogSource = 'serial'): MemmapJson[] {
  const lines = toLines(input);
  if (lines.length === 0) {
    throw new LogParseError(source, 0, '', 'the memmap section is empty', 'the guest found no /sys/firmware/memmap entries but did not say "unavailable:"');
  }
  return lines.map((line, i) => {
    requireAscii(source, line, '/sys/firmware/memmap');
    const m = MEMMAP.exec(line.text);
    if (!m) throw new LogParseError(source, line.no, line.text, 'not a memmap line', 'expected "N 0xstart 0xend type" with sysfs hex (lower case, no padding)');
    if (Number(m[1]) !== i) {
      throw new LogParseError(source, line.no, line.text, `memmap entry ${m[1]} where entry ${i} was expected`, 'the guest must print /sys/firmware/memmap/N in numeric order 0..n-1');
    }
    return { start: m[2] ?? '', end: m[3] ?? '', type: m[4] ?? '' };
  });
}
