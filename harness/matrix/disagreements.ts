// The disagreements of a run, grouped by layer and by what changed: "qemu.e820: new 2 reserved
// entry 0xfd00000000-0xffffffffff in 40 of 134 cells". Pure over the cell results (verdicts and
// their diffs); `e820 run` prints it after the summary table and stores it in results.json. Made
// for a new QEMU (or SeaBIOS, or kernel) checked against the profile of an older one: the groups
// say what the new release changed, and in how many cells.

import { FIELDS, type Layer } from './verdict.ts';
import type { CellResult } from './runner.ts';

export interface DisagreementGroup {
  layer: Layer;
  field: string;
  /** What changed, model → machine ("firmware.e820: 1 RAM end moved down 4 KiB"). */
  change: string;
  /** Keys of the cells that show it. */
  cells: string[];
}

export interface DisagreementSummary {
  /** Cells that ran. */
  cells: number;
  /** Cells whose verdict is a disagreement (fail, or QEMU refusing what the model boots). */
  disagreeing: string[];
  groups: DisagreementGroup[];
  /** Harness errors that are not disagreements (timeouts, panics…): key and kind. */
  errors: Array<{ key: string; kind: string }>;
}

interface Entry {
  start: bigint;
  /** Inclusive. */
  end: bigint;
  type: string;
}

const HEX = '(?:0x)?([0-9a-fA-F]+)';
/** Each field's lines as entries (reference/report.ts shapes as harness/matrix/compare.ts prints them). */
const ENTRY_LINE: Record<string, { re: RegExp; endExclusive: boolean }> = {
  'qemu.e820': { re: new RegExp(`^${HEX}-${HEX} len \\S+ = (.+)$`), endExclusive: false },
  'firmware.e820': { re: new RegExp(`^${HEX} - ${HEX} = (.+)$`), endExclusive: true },
  'kernel.biosE820': { re: new RegExp(`\\[(?:mem|gap) ${HEX}-${HEX}\\]\\s*(.*)$`), endExclusive: false },
  'kernel.memmap': { re: new RegExp(`^${HEX}-${HEX} (.+)$`), endExclusive: false },
  'kernel.iomem': { re: new RegExp(`^\\s*${HEX}-${HEX} : (.+)$`), endExclusive: false },
};

function entryOf(field: string, line: string): Entry | null {
  const spec = ENTRY_LINE[field];
  const m = spec?.re.exec(line);
  if (!spec || !m) return null;
  const start = BigInt(`0x${m[1]!}`);
  const end = BigInt(`0x${m[2]!}`) - (spec.endExclusive ? 1n : 0n);
  // Linux 6.x prints the holes between entries as `BIOS-e820: [gap …]`, with no type.
  return { start, end, type: m[3]!.trim() || 'gap' };
}

/** 4096 → "4 KiB"; sizes that are not whole KiB in bytes. */
export function formatSize(bytes: bigint): string {
  const units: Array<[bigint, string]> = [
    [1n << 30n, 'GiB'],
    [1n << 20n, 'MiB'],
    [1n << 10n, 'KiB'],
  ];
  for (const [u, name] of units) if (bytes >= u && bytes % u === 0n) return `${bytes / u} ${name}`;
  return `${bytes} bytes`;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** What changed between the model's lines (removed) and the machine's (added) of one field. */
export function describeChanges(field: string, removed: readonly string[], added: readonly string[]): string[] {
  const out: string[] = [];
  const rem = removed.map((l) => ({ line: l, e: entryOf(field, l) }));
  const add = added.map((l) => ({ line: l, e: entryOf(field, l) }));
  const used = new Set<number>();
  for (const r of rem) {
    if (r.e === null) continue;
    // The same entry moved: same type, and one of its ends unchanged.
    const j = add.findIndex((a, i) => !used.has(i) && a.e !== null && a.e.type === r.e!.type && (a.e.start === r.e!.start || a.e.end === r.e!.end));
    if (j < 0) continue;
    used.add(j);
    const a = add[j]!.e!;
    const moved: string[] = [];
    if (a.start !== r.e.start) moved.push(`start moved ${a.start < r.e.start ? 'down' : 'up'} ${formatSize(a.start < r.e.start ? r.e.start - a.start : a.start - r.e.start)}`);
    if (a.end !== r.e.end) moved.push(`end moved ${a.end < r.e.end ? 'down' : 'up'} ${formatSize(a.end < r.e.end ? r.e.end - a.end : a.end - r.e.end)}`);
    out.push(`${r.e.type} ${hex(r.e.start)}-${hex(r.e.end)}: ${moved.join(', ')}`);
    r.e = null;
    r.line = '';
  }
  for (const r of rem) if (r.line !== '') out.push(r.e !== null ? `${r.e.type} entry ${hex(r.e.start)}-${hex(r.e.end)} gone` : `line gone: ${r.line.trim()}`);
  add.forEach((a, i) => {
    if (used.has(i)) return;
    out.push(a.e !== null ? `new ${a.e.type} entry ${hex(a.e.start)}-${hex(a.e.end)}` : `new line: ${a.line.trim()}`);
  });
  return out;
}

/** The `- `/`+ ` lines of a unified-style diff (harness/matrix/diff.ts renderDiff). */
export function diffSides(diff: string): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  for (const l of diff.split('\n')) {
    if (l.startsWith('--- ') || l.startsWith('+++ ')) continue;
    if (l.startsWith('- ')) removed.push(l.slice(2));
    else if (l.startsWith('+ ')) added.push(l.slice(2));
  }
  return { removed, added };
}

const FIELD_ORDER: readonly string[] = ['qemu.refusal', ...FIELDS.map((f) => f.field)];

/** Groups the disagreements of a run by layer, field and what changed. Pure. */
export function groupDisagreements(results: readonly CellResult[]): DisagreementSummary {
  const groups = new Map<string, DisagreementGroup>();
  const disagreeing: string[] = [];
  const errors: DisagreementSummary['errors'] = [];
  const add = (layer: Layer, field: string, change: string, key: string) => {
    const id = `${field}\0${change}`;
    const g = groups.get(id) ?? { layer, field, change, cells: [] };
    if (!g.cells.includes(key)) g.cells.push(key);
    groups.set(id, g);
  };
  let ran = 0;
  for (const r of results) {
    if (r.outcome === 'not-run') continue;
    ran++;
    const v = r.verdict;
    if (v?.outcome === 'error') {
      // QEMU refusing a configuration the model says it boots is a disagreement at the qemu layer
      // (the judge makes it an error: harness/matrix/judge.ts). Results written before cells
      // recorded their claim count it as a harness error.
      if (r.claim === 'boots' && r.machine?.outcome === 'qemu-refused') {
        disagreeing.push(r.key);
        const said = v.error.message.split('\n').map((l) => l.replace(/^\S*qemu-system-x86_64: /, '').trim()).find((l) => l !== '' && !/^QEMU (exited|refused)/i.test(l));
        add('qemu', 'qemu.refusal', `QEMU refuses what the model boots${said ? `: ${said.slice(0, 160)}` : ''}`, r.key);
      } else errors.push({ key: r.key, kind: v.error.kind });
      continue;
    }
    if (v?.outcome !== 'fail') continue;
    disagreeing.push(r.key);
    if (v.first.field === 'qemu.refusal') {
      add('qemu', 'qemu.refusal', v.first.summary.replace(/^qemu\.refusal: /, ''), r.key);
      continue;
    }
    for (const f of v.fields) {
      if (f.status !== 'differ' || f.diff === undefined) continue;
      const { removed, added } = diffSides(f.diff);
      const changes = describeChanges(f.field, removed, added);
      for (const c of changes.length ? changes : [f.summary ?? 'differs']) add(f.layer, f.field, c, r.key);
    }
  }
  const sorted = [...groups.values()].sort(
    (a, b) => FIELD_ORDER.indexOf(a.field) - FIELD_ORDER.indexOf(b.field) || b.cells.length - a.cells.length || a.change.localeCompare(b.change),
  );
  return { cells: ran, disagreeing, groups: sorted, errors };
}

/** The readable summary printed after the summary table. */
export function renderDisagreements(s: DisagreementSummary): string {
  if (s.disagreeing.length === 0) return `disagreements: none (${s.cells} cells)${s.errors.length ? `; ${s.errors.length} harness errors, not counted` : ''}`;
  const out = [`disagreements by layer and change (${s.disagreeing.length} of ${s.cells} cells disagree):`];
  let layer: Layer | null = null;
  for (const g of s.groups) {
    if (g.layer !== layer) {
      layer = g.layer;
      out.push(`  ${layer} layer`);
    }
    out.push(`    ${g.field}: ${g.change} in ${g.cells.length} of ${s.cells} cells`);
  }
  if (s.errors.length) out.push(`  not counted: ${s.errors.length} harness errors (${[...new Set(s.errors.map((e) => e.kind))].join(', ')})`);
  return out.join('\n');
}
