// Model versus machine, field by field in boot order. Pure: two LayerReports, the harness's
// list of what it could not observe, and the iomem rule in; a Verdict out.
//
// Exactness: entries are compared by value (addresses as bigint, numeric type), kernel lines
// and sysfs text as exact strings. Nothing is tolerated; what is not compared is counted and
// named (fields the model did not predict, fields the harness could not observe, iomem lines
// that are not E820-derived).

import { declaredChanges, describeChange, type DeclaredChange, type DeclaredIntent } from '../../reference/intent.ts';
import { E820_TYPE_NAMES } from '../../reference/e820.ts';
import type { LayerReport } from '../../reference/report.ts';
import { printable } from '../errors.ts';
import { diffLines, renderDiff } from './diff.ts';
import { FIELDS, type FieldName, type FieldResult, type Layer, type Verdict, type VerdictCounts } from './verdict.ts';

export interface Unobserved {
  layer: string;
  field: string;
  reason: string;
}

export interface CompareInput {
  expected: LayerReport;
  observed: LayerReport;
  /** What the harness says it could not observe (observation.unobserved). */
  unobserved?: readonly Unobserved[];
  /**
   * Layers this run leaves out on purpose, and why (a firmware-scope capture leaves out the
   * kernel). Their fields are 'excluded' whatever the two sides hold: listed, never compared.
   */
  excluded?: ReadonlyArray<{ layer: Layer; reason: string }>;
  /** The documented rule: which observed /proc/iomem lines are E820-derived (compared). */
  isE820IomemLine: (line: string) => boolean;
  /**
   * What the build was declared to change (the prediction already contains it). On a failure,
   * declared changes of a differing layer that the observation lacks are named in the summary.
   */
  declared?: DeclaredIntent;
}

const ADDRESS_DIGITS = 16;

function addr(text: string): string {
  // Values, not spellings: `0x0` and `0x0000` are the same address.
  try {
    return BigInt(text).toString(16).padStart(ADDRESS_DIGITS, '0');
  } catch {
    return `?${text}`;
  }
}

function typeText(type: number): string {
  const names = E820_TYPE_NAMES[type];
  return `${type} ${names?.seabios ?? names?.short ?? 'UNKNOWN'}`;
}

/** etc/e820 record: start, inclusive end (for reading), length, type. */
export function qemuE820Line(r: { start: string; length: string; type: number }): string {
  let end = '?';
  try {
    end = (BigInt(r.start) + BigInt(r.length) - 1n).toString(16).padStart(ADDRESS_DIGITS, '0');
  } catch {
    /* shown as ? */
  }
  return `${addr(r.start)}-${end} len ${addr(r.length)} = ${typeText(r.type)}`;
}

/** As SeaBIOS dumps its map: end exclusive. */
export function firmwareE820Line(r: { start: string; end: string; type: number }): string {
  return `${addr(r.start)} - ${addr(r.end)} = ${typeText(r.type)}`;
}

export function memmapLine(r: { start: string; end: string; type: string }): string {
  return `${r.start}-${r.end} ${r.type}`;
}

export function zoneHighLine(bytes: number): string {
  return `${bytes} bytes (0x${bytes.toString(16)})`;
}

type Get = (r: LayerReport) => string[] | undefined;

/** Each field as comparable lines (undefined = absent). */
export const FIELD_LINES: Record<FieldName, Get> = {
  'qemu.e820': (r) => r.qemu?.e820?.map(qemuE820Line),
  'firmware.e820': (r) => r.firmware?.e820?.map(firmwareE820Line),
  'firmware.zoneHighReturned': (r) =>
    r.firmware?.zoneHighReturned === undefined ? undefined : [zoneHighLine(r.firmware.zoneHighReturned)],
  'kernel.biosE820': (r) => r.kernel?.biosE820?.slice(),
  'kernel.e820Edits': (r) => r.kernel?.e820Edits?.slice(),
  'kernel.memmap': (r) => r.kernel?.memmap?.map(memmapLine),
  'kernel.iomem': (r) => r.kernel?.iomem?.slice(),
};

/** What a field's count counts, for summaries (the comparator and drift). */
export const FIELD_UNIT: Record<FieldName, string> = {
  'qemu.e820': 'entries',
  'firmware.e820': 'entries',
  'firmware.zoneHighReturned': 'value',
  'kernel.biosE820': 'lines',
  'kernel.e820Edits': 'lines',
  'kernel.memmap': 'entries',
  'kernel.iomem': 'E820-derived lines',
};

/**
 * The one field a cell may pass without: etc/e820 as the guest reads it from fw_cfg sysfs. Old
 * machine types (pc-1.x) have no fw_cfg ACPI device, so the guest's qemu_fw_cfg module finds
 * nothing (the harness says so in the reason); the same entries still reach the firmware layer,
 * which is compared. Every other predicted field must be observed.
 */
const MAY_GO_UNOBSERVED: ReadonlySet<FieldName> = new Set(['qemu.e820']);

function unobservedReason(list: readonly Unobserved[], layer: Layer, field: FieldName): string {
  const short = field.slice(layer.length + 1);
  const hit = list.find(
    (u) =>
      u.field === field ||
      (u.layer === layer && (u.field === short || u.field === '*' || u.field === '' || u.field === layer)),
  );
  return hit?.reason ?? 'absent from the observation (the harness gave no reason)';
}

function compareField(layer: Layer, field: FieldName, input: CompareInput): FieldResult {
  const get = FIELD_LINES[field];
  const expected = get(input.expected);
  let observed = get(input.observed);
  const observedCount = observed?.length ?? null;
  let excludedByRule = 0;
  if (field === 'kernel.iomem' && observed !== undefined) {
    // Only E820-derived lines are predicted; the rest (PCI windows, ROMs, kernel code…) are
    // excluded by the documented rule and counted.
    const kept = observed.filter((l) => input.isE820IomemLine(l));
    excludedByRule = observed.length - kept.length;
    observed = kept;
  }
  const base = { layer, field, expected: expected?.length ?? null, observed: observedCount, excludedByRule };
  const excluded = input.excluded?.find((e) => e.layer === layer);
  if (excluded !== undefined) return { ...base, status: 'excluded', compared: 0, excludedByRule: 0, reason: excluded.reason };
  if (expected === undefined) {
    return { ...base, status: 'not-predicted', compared: 0, excludedByRule: 0, reason: 'the model does not predict it for this configuration' };
  }
  if (observed === undefined) {
    return { ...base, status: 'unobserved', compared: 0, reason: unobservedReason(input.unobserved ?? [], layer, field) };
  }
  const same = expected.length === observed.length && expected.every((l, i) => l === observed![i]);
  if (same) return { ...base, status: 'match', compared: observed.length };

  const ops = diffLines(expected, observed);
  const firstChange = ops.findIndex((o) => o.op !== ' ');
  const at = ops[firstChange]!;
  const unit = FIELD_UNIT[field];
  const summary =
    `${field}: expected ${expected.length} ${unit}, observed ${observed.length}; ` +
    `first difference at ${unit === 'value' ? 'the value' : `line ${(at.op === '+' ? at.b : at.a) + 1}`}`;
  const diff = renderDiff(ops, { expected: `expected (model)   ${field}`, observed: `observed (machine) ${field}` });
  return { ...base, status: 'differ', compared: observed.length, summary, diff };
}

function countsOf(fields: readonly FieldResult[]): VerdictCounts {
  return {
    compared: fields.reduce((s, f) => s + f.compared, 0),
    excludedByRule: fields.reduce((s, f) => s + f.excludedByRule, 0),
    excludedNotPredicted: fields.filter((f) => f.status === 'not-predicted').reduce((s, f) => s + (f.observed ?? 0), 0),
    notPredicted: fields.filter((f) => f.status === 'not-predicted').map((f) => f.field),
    unobserved: fields
      .filter((f) => f.status === 'unobserved')
      .map((f) => ({ field: f.field, reason: f.reason ?? '' })),
    excluded: fields.filter((f) => f.status === 'excluded').map((f) => ({ field: f.field, reason: f.reason ?? '' })),
  };
}

type Span = { start: bigint; end: bigint; type: number };

function spansOf(report: LayerReport, layer: 'qemu' | 'firmware'): Span[] | null {
  try {
    if (layer === 'qemu') {
      const e = report.qemu?.e820;
      return e === undefined ? null : e.map((r) => ({ start: BigInt(r.start), end: BigInt(r.start) + BigInt(r.length), type: r.type }));
    }
    const e = report.firmware?.e820;
    return e === undefined ? null : e.map((r) => ({ start: BigInt(r.start), end: BigInt(r.end), type: r.type }));
  } catch {
    return null;
  }
}

/**
 * Does a map show the change? qemu add: etc/e820 holds that exact record. firmware add: one entry
 * of that type covers the range (same-type neighbours merge in SeaBIOS's map). firmware remove:
 * no entry overlaps the range.
 */
export function showsChange(spans: readonly Span[], c: DeclaredChange): boolean {
  const end = c.start + c.size;
  if (c.op === 'remove') return !spans.some((s) => s.start < end && s.end > c.start);
  if (c.layer === 'qemu') return spans.some((s) => s.start === c.start && s.end === end && s.type === c.type);
  return spans.some((s) => s.type === c.type && s.start <= c.start && s.end >= end);
}

/**
 * Declared changes of the differing layers that the observation does not show, though the
 * prediction does (a change the model says a later step overrides is not claimed absent).
 */
export function declaredButAbsent(input: Pick<CompareInput, 'expected' | 'observed' | 'declared'>, layers: ReadonlySet<Layer>): string[] {
  if (input.declared === undefined) return [];
  const out: string[] = [];
  for (const c of declaredChanges(input.declared)) {
    if (!layers.has(c.layer)) continue;
    const predicted = spansOf(input.expected, c.layer);
    const observed = spansOf(input.observed, c.layer);
    if (predicted === null || observed === null || !showsChange(predicted, c)) continue;
    if (!showsChange(observed, c)) out.push(describeChange(c));
  }
  return out;
}

export function compareReports(input: CompareInput): Verdict {
  const fields = FIELDS.map(({ layer, field }) => compareField(layer, field, input));
  const counts = countsOf(fields);
  const first = fields.find((f) => f.status === 'differ');
  if (first) {
    const absent = declaredButAbsent(input, new Set(fields.filter((f) => f.status === 'differ').map((f) => f.layer)));
    return {
      outcome: 'fail',
      first: {
        layer: first.layer,
        field: first.field,
        summary: absent.length > 0 ? `${first.summary!}; declared but absent: ${absent.join('; ')}` : first.summary!,
        diff: first.diff!,
        ...(absent.length > 0 ? { declaredButAbsent: absent } : {}),
      },
      fields,
      counts,
    };
  }
  // A layer the model predicts and the run meant to observe, but whose log held nothing usable
  // (a SeaBIOS debug log of random bytes, a cut console), is a harness error: the cell cannot
  // pass on the strength of the other layers.
  const missing = fields.filter((f) => f.status === 'unobserved' && !MAY_GO_UNOBSERVED.has(f.field));
  if (missing.length > 0) {
    return {
      outcome: 'error',
      error: {
        kind: 'Unobserved',
        message:
          `predicted but not observed, so this cell cannot pass: ${missing.map((f) => `${f.field} (${f.reason ?? ''})`).join('; ')}. ` +
          'Read the kept logs (results directory, logs/) for what the firmware and guest printed.',
      },
      fields,
      counts,
    };
  }
  if (!fields.some((f) => f.status === 'match')) {
    // A pass that compared nothing would be a lie; it is a harness/model gap, not conformance.
    return {
      outcome: 'error',
      error: { kind: 'NothingCompared', message: 'no field was both predicted and observed: nothing to compare' },
      fields,
      counts,
    };
  }
  return { outcome: 'pass', fields, counts };
}

/** `excluded (not compared): kernel.biosE820, … — <reason>`, one line per reason; null when none. */
export function describeExcluded(c: Pick<VerdictCounts, 'excluded'>): string | null {
  const list = c.excluded ?? [];
  if (list.length === 0) return null;
  const byReason = new Map<string, string[]>();
  for (const e of list) byReason.set(e.reason, [...(byReason.get(e.reason) ?? []), e.field]);
  return [...byReason].map(([reason, fields]) => `excluded (not compared): ${fields.join(', ')} — ${reason}`).join('\n');
}

/** The readable block the CLI, JUnit and vitest print for a verdict. */
export function formatVerdict(v: Verdict, title = ''): string {
  const head = title ? `${title}: ` : '';
  if (v.outcome === 'error') return `${head}ERROR (${v.error.kind}): ${v.error.message}`;
  const c = v.counts;
  const lines: string[] = [];
  if (v.outcome === 'pass') lines.push(`${head}PASS`);
  else lines.push(`${head}FAIL at ${v.first.layer} layer — ${v.first.summary}`, '', v.first.diff, '');
  lines.push(
    `compared ${c.compared} observed entries/lines; excluded ${c.excludedByRule} iomem lines (not E820-derived)` +
      (c.notPredicted.length ? `; not predicted: ${c.notPredicted.join(', ')} (${c.excludedNotPredicted} observed lines not compared)` : '') +
      (c.unobserved.length ? `; unobserved: ${c.unobserved.map((u) => `${u.field} (${u.reason})`).join(', ')}` : ''),
  );
  const excluded = describeExcluded(c);
  if (excluded !== null) lines.push(excluded);
  if (v.outcome === 'fail') {
    const later = v.fields.filter((f) => f.status === 'differ' && f.field !== v.first.field).map((f) => f.field);
    if (later.length) lines.push(`later fields also differ: ${later.join(', ')}`);
  }
  // Observed lines can quote QEMU's stderr (a refusal): shown, never sent raw to a terminal.
  return printable(lines.join('\n'));
}
