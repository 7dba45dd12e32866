// One boot's captured logs → the LayerReport the comparator checks against the model, plus what
// could not be observed and why. A layer that could not be observed is listed in `unobserved`
// and left out of the report, never filled with an empty value.

import { firmwareE820Json, qemuE820Json, type LayerReport } from '../../reference/report.ts';
import { selectE820Iomem } from '../../reference/kernel-lines.ts';
import type { SectionName } from '../../guests/markers.ts';
import { LogParseError } from './errors.ts';
import { parseDmesg, selectE820Lines, type DmesgRecord } from './dmesg.ts';
import { parseFwCfgE820 } from './fwcfg.ts';
import { parseIomem, type IomemNode } from './iomem.ts';
import { parseMemmap } from './memmap.ts';
import { parseSeabiosLog, type SeabiosLog } from './seabios.ts';
import { sectionBody, splitSections, type Section, type SerialSections } from './sections.ts';
import type { SourceLine } from './lines.ts';

export interface Unobserved {
  readonly layer: 'qemu' | 'firmware' | 'kernel';
  readonly field: string;
  readonly reason: string;
}

export interface BootObservation {
  readonly report: LayerReport;
  readonly uname: string;
  readonly cmdline: string;
  readonly unobserved: Unobserved[];
  readonly dmesg: DmesgRecord[];
  /** /proc/iomem as a tree (all lines; report.kernel.iomem holds the same lines as text). */
  readonly iomem: IomemNode[] | null;
  /** How many /proc/iomem lines the E820 rule compares and excludes (reference/kernel-lines.ts). */
  readonly iomemCounts: { compared: number; excluded: number } | null;
  readonly seabios: SeabiosLog;
  readonly sections: SerialSections;
  /** Everything odd that did not stop the parse, each naming its log and line. */
  readonly warnings: string[];
}

/** The text of a one-line section (uname, cmdline). */
function oneLine(section: Section): string {
  const body = sectionBody(section);
  if ('unavailable' in body) {
    throw new LogParseError('serial', section.beginLine, `unavailable: ${body.unavailable}`, `section "${section.name}" is unavailable`, 'the guest must always be able to print it');
  }
  const [first, ...rest] = body.lines;
  if (!first || rest.length > 0) {
    const at = rest[0] ?? { no: section.endLine, text: '' };
    throw new LogParseError('serial', at.no, at.text, `section "${section.name}" must hold exactly one line, it holds ${body.lines.length}`);
  }
  return first.text;
}

/** The firmware layer from SeaBIOS's debug log, into `report`, or why not into `unobserved`. */
function firmwareLayer(seabios: SeabiosLog, report: LayerReport, unobserved: Unobserved[]): void {
  if (seabios.lineCount === 0) {
    const reason = 'the SeaBIOS debug log is empty: this BIOS image prints nothing on port 0x402 (Debian 1.16.3+ bios.bin is built without debug output; bios-256k.bin logs)';
    unobserved.push({ layer: 'firmware', field: 'e820', reason }, { layer: 'firmware', field: 'zoneHighReturned', reason });
    return;
  }
  const firmware: NonNullable<LayerReport['firmware']> = {};
  if (seabios.dump) firmware.e820 = firmwareE820Json(seabios.dump.entries);
  else unobserved.push({ layer: 'firmware', field: 'e820', reason: `no "e820 map has N items:" dump in the SeaBIOS log (${seabios.lineCount} lines): POST did not reach boot, or the image logs below level 1` });
  if (seabios.zoneHighReturned !== null) firmware.zoneHighReturned = seabios.zoneHighReturned;
  else unobserved.push({ layer: 'firmware', field: 'zoneHighReturned', reason: 'no "Returned N bytes of ZoneHigh" line in the SeaBIOS log' });
  if (Object.keys(firmware).length > 0) report.firmware = firmware;
}

/** The prefix of every reason a firmware-scope capture gives for what it did not observe. */
export const FIRMWARE_SCOPE_PREFIX = 'capture scope firmware';

/** The kernel-layer fields a full capture reports (reference/report.ts LayerReport['kernel']). */
export const KERNEL_FIELDS = ['biosE820', 'e820Edits', 'memmap', 'iomem'] as const;

/**
 * A boot the harness ended once SeaBIOS handed over to the boot loader (capture scope firmware):
 * only the firmware log exists. The firmware layer is read as in a full capture; the kernel
 * fields are unobserved with `reason` (why the scope is firmware); the qemu layer is unobserved
 * too, because nothing that could read fw_cfg ran: SeaBIOS's own `qemu/e820:` lines are not the
 * file (1.14/1.16.2 log only RAM records, and every version skips types other than 1 and 2),
 * so they are counted in the reason, never reported as etc/e820.
 */
export function parseFirmwareBoot(input: { firmwareLog: string; /** Why the scope is firmware: `capture scope firmware: …`. */ reason: string }): BootObservation {
  const seabios = parseSeabiosLog(input.firmwareLog);
  const report: LayerReport = {};
  const unobserved: Unobserved[] = [];
  const logged = seabios.qemuE820.length > 0 ? `; SeaBIOS's ${seabios.qemuE820.length} qemu/e820 line(s) need not be the whole file` : '';
  unobserved.push({ layer: 'qemu', field: 'e820', reason: `${FIRMWARE_SCOPE_PREFIX}: no guest ran to read fw_cfg etc/e820${logged}` });
  firmwareLayer(seabios, report, unobserved);
  for (const field of KERNEL_FIELDS) unobserved.push({ layer: 'kernel', field, reason: input.reason });
  return {
    report,
    uname: '',
    cmdline: '',
    unobserved,
    dmesg: [],
    iomem: null,
    iomemCounts: null,
    seabios,
    sections: { sections: {}, doneLine: 0, preambleLines: 0, warnings: [] },
    warnings: [...seabios.warnings],
  };
}

export function parseBoot(input: { serial: string; firmwareLog: string }): BootObservation {
  const split = splitSections(input.serial);
  const warnings: string[] = [...split.warnings];
  const unobserved: Unobserved[] = [];
  const report: LayerReport = {};
  const section = (name: SectionName) => split.sections[name] as Section;

  const uname = oneLine(section('uname'));
  const cmdline = oneLine(section('cmdline'));

  const seabios = parseSeabiosLog(input.firmwareLog);

  // qemu: etc/e820 as the guest read it from fw_cfg. SeaBIOS's `qemu/e820:` lines are no
  // substitute: 1.14/1.16.2 log only the RAM records and every version skips types other than
  // 1 and 2, so they are mentioned in the reason, not reported.
  const fw = sectionBody(section('fwcfg-e820'));
  if ('unavailable' in fw) {
    const logged = seabios.qemuE820.length > 0 ? `; SeaBIOS logged ${seabios.qemuE820.length} qemu/e820 line(s), which need not be the whole file` : '';
    unobserved.push({ layer: 'qemu', field: 'e820', reason: `guest could not read fw_cfg etc/e820: ${fw.unavailable}${logged}` });
  } else {
    report.qemu = { e820: qemuE820Json(parseFwCfgE820(fw.lines)) };
  }

  // firmware: SeaBIOS's debug port.
  warnings.push(...seabios.warnings);
  firmwareLayer(seabios, report, unobserved);

  // kernel.
  const kernel: NonNullable<LayerReport['kernel']> = {};
  let dmesg: DmesgRecord[] = [];
  const dm = sectionBody(section('dmesg'));
  if ('unavailable' in dm) {
    for (const field of ['biosE820', 'e820Edits']) unobserved.push({ layer: 'kernel', field, reason: `dmesg: ${dm.unavailable}` });
  } else {
    dmesg = parseDmesg(dm.lines);
    if (dmesg.length === 0) throw new LogParseError('serial', section('dmesg').endLine, '', 'the dmesg section is empty');
    const sel = selectE820Lines(dmesg);
    kernel.biosE820 = sel.biosE820;
    kernel.e820Edits = sel.e820Edits;
    for (const u of sel.unclassified) warnings.push(`serial line ${u.line}: dmesg line mentions e820 but matches no rule in reference/kernel-lines.ts: ${JSON.stringify(u.text)}`);
    if (sel.biosE820.length === 0) warnings.push('dmesg holds no BIOS-e820 line: the ring buffer may have wrapped (log_buf_len) or the firmware map came from elsewhere');
  }

  const mm = sectionBody(section('memmap'));
  if ('unavailable' in mm) unobserved.push({ layer: 'kernel', field: 'memmap', reason: `/sys/firmware/memmap: ${mm.unavailable}` });
  else kernel.memmap = parseMemmap(mm.lines);

  let iomem: IomemNode[] | null = null;
  let iomemCounts: BootObservation['iomemCounts'] = null;
  const io = sectionBody(section('iomem'));
  if ('unavailable' in io) {
    unobserved.push({ layer: 'kernel', field: 'iomem', reason: `/proc/iomem: ${io.unavailable}` });
  } else {
    iomem = parseIomem(io.lines as readonly SourceLine[]);
    kernel.iomem = iomem.map((n) => n.line);
    const sel = selectE820Iomem(kernel.iomem);
    iomemCounts = { compared: sel.compared.length, excluded: sel.excluded };
  }
  if (Object.keys(kernel).length > 0) report.kernel = kernel;

  return { report, uname, cmdline, unobserved, dmesg, iomem, iomemCounts, seabios, sections: split, warnings };
}
