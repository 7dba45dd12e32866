// /proc/iomem read as root (kernel/resource.c r_show(): `%*s%0*llx-%0*llx : %s`, two spaces per
// depth, at least 8 hex digits). Lines are kept verbatim: the comparison is on exact text.

import { LogParseError, type LogSource } from './errors.ts';
import { requireAscii, toLines, type LinesInput } from './lines.ts';

export interface IomemNode {
  readonly start: bigint;
  /** Inclusive, as printed. */
  readonly end: bigint;
  readonly name: string;
  readonly depth: number;
  /** Index of the parent node in the returned array, null at top level. */
  readonly parent: number | null;
  /** The line exactly as printed. */
  readonly line: string;
  readonly lineNo: number;
}

const IOMEM = /^( *)([0-9a-f]{8,})-([0-9a-f]{8,}) : (.*)$/;

export function parseIomem(input: LinesInput, source: LogSource = 'serial'): IomemNode[] {
  const lines = toLines(input);
  if (lines.length === 0) throw new LogParseError(source, 0, '', '/proc/iomem is empty', 'the guest printed nothing for it but did not say "unavailable:"');
  const nodes: IomemNode[] = [];
  const stack: number[] = []; // index of the open node at each depth
  for (const line of lines) {
    requireAscii(source, line, '/proc/iomem');
    const m = IOMEM.exec(line.text);
    if (!m) throw new LogParseError(source, line.no, line.text, 'not a /proc/iomem line', 'expected "<indent>start-end : name" with at least 8 lower-case hex digits');
    const indent = (m[1] ?? '').length;
    if (indent % 2 !== 0) throw new LogParseError(source, line.no, line.text, `indentation of ${indent} spaces is not a multiple of 2`);
    const depth = indent / 2;
    if (depth > stack.length) throw new LogParseError(source, line.no, line.text, `nesting jumps to depth ${depth} under a node of depth ${stack.length - 1}`);
    stack.length = depth;
    const start = BigInt(`0x${m[2]}`);
    const end = BigInt(`0x${m[3]}`);
    if (end < start) throw new LogParseError(source, line.no, line.text, 'range ends before it starts');
    const parent = depth === 0 ? null : (stack[depth - 1] ?? null);
    nodes.push({ start, end, name: m[4] ?? '', depth, parent, line: line.text, lineNo: line.no });
    stack.push(nodes.length - 1);
  }
  if (nodes.length > 0 && nodes.every((n) => n.start === 0n && n.end === 0n)) {
    const first = lines[0] ?? { no: 0, text: '' };
    throw new LogParseError(source, first.no, first.text, 'every /proc/iomem range reads 00000000-00000000', 'the file was read without CAP_SYS_ADMIN: the guest must read it as root');
  }
  return nodes;
}
