// Splits the guest's serial console log into the sections framed by guests/markers.ts.
//
// The console also carries the kernel's own messages: before the first BEGIN (the boot), between
// sections, after DONE (power-off), and, when a message is printed while /init is writing a
// section, in the middle of a body. Whole interleaved console lines are recognised by their
// printk timestamp and taken out (with a warning); anything else that breaks the framing or
// the body's character set is a LogParseError naming the line.

import { DONE_MARKER, MARKER_PREFIX, SECTIONS, UNAVAILABLE_PREFIX, type SectionName } from '../../guests/markers.ts';
import { LogParseError } from './errors.ts';
import { describeChar, noiseAt, requireAscii, splitLines, type SourceLine } from './lines.ts';

export interface Section {
  readonly name: SectionName;
  /** Exit status the guest printed on the END marker. */
  readonly rc: number;
  /** Body lines with their serial line numbers (interleaved console lines removed). */
  readonly body: readonly SourceLine[];
  /** The reason, when the body is the single line `unavailable: <reason>`; otherwise null. */
  readonly unavailable: string | null;
  readonly beginLine: number;
  readonly endLine: number;
}

export interface SerialSections {
  readonly sections: Partial<Record<SectionName, Section>>;
  /** Line number of the DONE marker. */
  readonly doneLine: number;
  /** Console lines before the first BEGIN (the kernel's boot messages, SeaBIOS/loader output). */
  readonly preambleLines: number;
  /** Things that did not stop the parse but someone should know about, each naming its line. */
  readonly warnings: readonly string[];
}

const SOURCE = 'serial';

/** A line the kernel console printed with CONFIG_PRINTK_TIME (`[    2.345678] text`). */
const CONSOLE_LINE = /^\[\s*\d+\.\d+\] /;

const BEGIN_RE = new RegExp(`^${MARKER_PREFIX} BEGIN (\\S+)\\s*$`);
const END_RE = new RegExp(`^${MARKER_PREFIX} END (\\S+) rc=(\\S*)\\s*$`);
const DONE_RE = new RegExp(`^${DONE_MARKER}\\s*$`);

function isSectionName(s: string): s is SectionName {
  return (SECTIONS as readonly string[]).includes(s);
}

interface Open {
  name: SectionName;
  beginLine: number;
  body: SourceLine[];
  /** Console lines taken out of the body, with the warning each one produced. */
  console: Array<{ line: SourceLine; warning: string }>;
}

export function splitSections(serial: string): SerialSections {
  const lines = splitLines(serial);
  if (lines.length === 0) {
    throw new LogParseError(SOURCE, 0, '', 'the serial log is empty', 'QEMU produced no console output: check -serial/console=ttyS0 and that the guest booted');
  }
  const sections: Partial<Record<SectionName, Section>> = {};
  const warnings: string[] = [];
  let open: Open | null = null;
  let seenBegin = false;
  let preambleLines = 0;
  let doneLine = 0;

  for (const line of lines) {
    const { text } = line;
    const markerAt = text.indexOf(MARKER_PREFIX);

    if (markerAt > 0) {
      // A marker glued to other output would otherwise be skipped and the section silently lost.
      throw new LogParseError(SOURCE, line.no, text, 'framing marker not at the start of the line', 'console output interleaved with the marker; rerun, or lower the console loglevel in the guest');
    }

    if (markerAt === 0) {
      const begin = BEGIN_RE.exec(text);
      const end = END_RE.exec(text);
      if (begin) {
        const name = begin[1] ?? '';
        if (!isSectionName(name)) throw new LogParseError(SOURCE, line.no, text, `unknown section "${name}"`, `expected one of ${SECTIONS.join(', ')}: guest init and harness are out of step`);
        if (open) throw new LogParseError(SOURCE, line.no, text, `section "${open.name}" begun at line ${open.beginLine} was never ended`, 'the guest command producing it did not finish; see the lines before');
        if (sections[name]) throw new LogParseError(SOURCE, line.no, text, `duplicate section "${name}" (first at line ${sections[name]?.beginLine})`, 'the guest rebooted or /init ran twice');
        open = { name, beginLine: line.no, body: [], console: [] };
        seenBegin = true;
        continue;
      }
      if (end) {
        const name = end[1] ?? '';
        const rcText = end[2] ?? '';
        if (!open) throw new LogParseError(SOURCE, line.no, text, `END of section "${name}" without a BEGIN`, 'the BEGIN marker was lost or corrupted on the serial line');
        if (name !== open.name) throw new LogParseError(SOURCE, line.no, text, `END of "${name}" while section "${open.name}" (line ${open.beginLine}) is open`);
        if (!/^\d+$/.test(rcText)) throw new LogParseError(SOURCE, line.no, text, `exit status "${rcText}" is not a number`);
        if (open.body.length === 0 && open.console.length > 0) {
          // Nothing but timestamped lines: that is the body itself (e.g. `dmesg` run without -r),
          // so hand it to the section's parser, which says what is wrong with it.
          open.body = open.console.map((c) => c.line);
        } else {
          warnings.push(...open.console.map((c) => c.warning));
        }
        sections[open.name] = finish(open, Number(rcText), line.no);
        open = null;
        continue;
      }
      if (DONE_RE.test(text)) {
        if (open) throw new LogParseError(SOURCE, line.no, text, `DONE while section "${open.name}" (line ${open.beginLine}) is still open`);
        doneLine = line.no;
        break; // after DONE only power-off noise follows
      }
      throw new LogParseError(SOURCE, line.no, text, 'malformed framing marker', `expected "${MARKER_PREFIX} BEGIN <section>", "${MARKER_PREFIX} END <section> rc=<n>" or "${DONE_MARKER}"`);
    }

    if (open) {
      if (CONSOLE_LINE.test(text)) {
        open.console.push({ line, warning: `serial line ${line.no}: kernel console message inside section "${open.name}" removed: ${JSON.stringify(text)}` });
        continue;
      }
      requireAscii(SOURCE, line, `the body of section "${open.name}"`);
      open.body.push(line);
      continue;
    }

    // Outside sections: console noise is expected; line noise is only worth a warning here,
    // because anything it could have hidden (a marker, a body line) is caught by the framing.
    if (!seenBegin) preambleLines++;
    const at = noiseAt(text);
    if (at >= 0) warnings.push(`serial line ${line.no}: ${describeChar(text[at] ?? '')} outside any section (ignored)`);
  }

  const last = lines[lines.length - 1] ?? { no: 0, text: '' };
  if (open) {
    throw new LogParseError(SOURCE, last.no, last.text, `log ends inside section "${open.name}" begun at line ${open.beginLine}`, 'the log was cut: the guest hung, panicked or QEMU was killed before /init finished');
  }
  if (!seenBegin) {
    throw new LogParseError(SOURCE, last.no, last.text, 'no section markers at all', 'the guest never reached /init: look for a panic or a hang in the console output');
  }
  if (doneLine === 0) {
    throw new LogParseError(SOURCE, last.no, last.text, `no "${DONE_MARKER}" marker: the log was cut`, 'the guest stopped or was killed before /init finished');
  }
  const missing = SECTIONS.filter((s) => !sections[s]);
  if (missing.length > 0) {
    throw new LogParseError(SOURCE, doneLine, DONE_MARKER, `section(s) missing: ${missing.join(', ')}`, 'guest init and harness are out of step: rebuild the initramfs');
  }
  return { sections, doneLine, preambleLines, warnings };
}

function finish(open: Open, rc: number, endLine: number): Section {
  const unavailableAt = open.body.findIndex((l) => l.text.startsWith(UNAVAILABLE_PREFIX));
  let unavailable: string | null = null;
  if (unavailableAt >= 0) {
    const l = open.body[unavailableAt] as SourceLine;
    if (open.body.length !== 1) {
      throw new LogParseError(SOURCE, l.no, l.text, `"${UNAVAILABLE_PREFIX}" line in section "${open.name}" alongside ${open.body.length - 1} other line(s)`, 'an unavailable section has exactly one body line');
    }
    unavailable = l.text.slice(UNAVAILABLE_PREFIX.length).trim();
    if (unavailable === '') throw new LogParseError(SOURCE, l.no, l.text, `"${UNAVAILABLE_PREFIX}" without a reason`);
  }
  return { name: open.name, rc, body: open.body, unavailable, beginLine: open.beginLine, endLine };
}

/**
 * The body of a section that must have produced data: throws if the command failed (rc ≠ 0)
 * and returns the reason instead of lines if the guest said the source is unavailable.
 */
export function sectionBody(section: Section): { lines: readonly SourceLine[] } | { unavailable: string } {
  if (section.unavailable !== null) return { unavailable: section.unavailable };
  if (section.rc !== 0) {
    throw new LogParseError(
      SOURCE,
      section.endLine,
      `${MARKER_PREFIX} END ${section.name} rc=${section.rc}`,
      `the guest command for section "${section.name}" failed with exit status ${section.rc}`,
      'its output is incomplete; look at the section body and the guest init',
    );
  }
  return { lines: section.body };
}
