// Generates docs/versions.md from the profile tables (reference/profiles/*.ts): one table per
// component, rows = the profile's fields (switches and constants), columns = versions, cells
// that changed from the previous version in bold; then the machine types each QEMU registers.
// Nothing here knows a value: every value is read from the profiles, every description from the
// doc comment above the field in the profile's source. Only how to *show* a value lives here
// (sample arguments for the few fields that are functions, names of numeric codes). About 400
// lines: one document, one table renderer per component, kept in one file so it reads as the page does.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { E820 } from '../../reference/e820.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';
import {
  MACHINE_COMPAT,
  QEMU_LAYOUT,
  QEMU_PROFILES,
  parseMachineVersion,
  type MachineVersion,
} from '../../reference/profiles/qemu.ts';
import { SEABIOS_LAYOUT, SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { QEMU_FIRMWARE_FILES } from '../../reference/profiles/firmware-files.ts';
import { QBOOT_LAYOUT } from '../../reference/qboot-stage.ts';
import { MICROVM_LAYOUT } from '../../reference/qemu/microvm.ts';
import { GiB } from '../../reference/address.ts';
import { KERNEL_VERSIONS, QEMU_VERSIONS, SEABIOS_VERSIONS } from '../../reference/toolchain.ts';
import { REPO_ROOT } from '../matrix/paths.ts';

export const VERSIONS_DOC = join(REPO_ROOT, 'docs', 'versions.md');
export const REGENERATE_COMMAND = 'npx e820 docs';

// ---- Doc comments from the profile sources ---------------------------------------------------

function readSource(rel: string): string {
  return readFileSync(join(REPO_ROOT, rel), 'utf8');
}

/** The text between the braces that follow `header` (brace-matched). */
function block(source: string, header: string): string {
  const at = source.indexOf(header);
  if (at < 0) return '';
  const open = source.indexOf('{', at + header.length - 1);
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(open + 1, i);
  }
  return '';
}

function cleanComment(raw: string): string {
  return raw
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter((l) => l !== '')
    .join(' ')
    .trim();
}

/**
 * `/** doc *\/ name:` pairs inside a block, keyed by field name (nested fields by their own name).
 * A field declared on the line right after a documented one, sharing a name prefix of at least 4
 * characters (`expandedResourcePrefix` → `expandedResourceLevel`, `AMD_HT_START` → `AMD_HT_SIZE`),
 * shares its comment: the profiles document such pairs once.
 */
export function docComments(source: string, header: string): Map<string, string> {
  const out = new Map<string, string>();
  let pending: string[] | null = null;
  let inComment = false;
  let previous: { name: string; doc: string } | null = null;
  for (const line of block(source, header).split('\n')) {
    const t = line.trim();
    if (inComment || t.startsWith('/**')) {
      inComment = true;
      pending ??= [];
      pending.push(t.replace(/^\/\*\*/, '').replace(/\*\/$/, ''));
      if (t.endsWith('*/')) inComment = false;
      continue;
    }
    const m = /^'?([A-Za-z_$][\w$]*)'?\??\s*:/.exec(t);
    if (m) {
      const name = m[1]!;
      let doc = pending ? cleanComment(pending.join('\n')) : null;
      if (doc === null && previous && commonPrefix(previous.name, name) >= 4) doc = previous.doc;
      if (doc !== null && !out.has(name)) out.set(name, doc);
      previous = doc !== null ? { name, doc } : null;
    } else if (t === '' || t.startsWith('//')) previous = null;
    pending = null;
  }
  return out;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** The `//` comment block a profile file opens with (its sources). */
function leadingComment(source: string): string {
  const lines: string[] = [];
  for (const l of source.split('\n')) {
    if (!l.startsWith('//')) break;
    lines.push(l.replace(/^\/\/\s?/, ''));
  }
  return lines.join(' ').replace(/\s+/g, ' ').trim();
}

// ---- Showing values ------------------------------------------------------------------------

const E820_NAME = new Map<number, string>(Object.entries(E820).map(([k, v]) => [v, k]));
/** setup_data types (arch/x86/include/uapi/asm/bootparam.h), for setupDataKexecSkip. */
const SETUP_DATA_NAME = new Map<number, string>([
  [1, 'SETUP_E820_EXT'],
  [2, 'SETUP_DTB'],
  [3, 'SETUP_PCI'],
  [4, 'SETUP_EFI'],
  [5, 'SETUP_APPLE_PROPERTIES'],
  [6, 'SETUP_JAILHOUSE'],
  [7, 'SETUP_CC_BLOB'],
  [8, 'SETUP_IMA'],
  [9, 'SETUP_RNG_SEED'],
]);

function codeSpan(text: string): string {
  const escaped = text.replace(/\|/g, '\\|');
  return escaped.includes('`') ? `\`\` ${escaped} \`\`` : `\`${escaped}\``;
}

function humanSize(v: bigint): string | null {
  const units: Array<[string, bigint]> = [
    ['TiB', 1n << 40n],
    ['GiB', 1n << 30n],
    ['MiB', 1n << 20n],
    ['KiB', 1n << 10n],
  ];
  for (const [name, unit] of units) if (v >= unit && v % unit === 0n && v / unit < 4096n) return `${v / unit} ${name}`;
  return null;
}

function bigintText(v: bigint): string {
  const h = humanSize(v);
  return `0x${v.toString(16)}${h ? ` (${h})` : ''}`;
}

/** Machine-type versions the QEMU profiles register, sorted, for sampling per-type functions. */
function allMachineVersions(): string[] {
  const set = new Set<string>();
  for (const v of QEMU_VERSIONS) for (const t of [...QEMU_PROFILES[v].machineTypes.i440fx, ...QEMU_PROFILES[v].machineTypes.q35]) set.add(t);
  return sortVersions([...set].filter((t) => t.split('.').length === 2));
}

function versionKey(v: string): number[] {
  return v.split('.').map(Number);
}

export function sortVersions(vs: readonly string[]): string[] {
  return [...vs].sort((a, b) => {
    const x = versionKey(a);
    const y = versionKey(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (x[i] ?? -1) - (y[i] ?? -1);
      if (d !== 0) return d;
    }
    return 0;
  });
}

/** A per-machine-type function, shown as the runs of machine types that give the same value. */
function byMachineType(fn: (m: MachineVersion) => unknown, show: (v: unknown) => string): string {
  const versions = allMachineVersions();
  const runs: Array<{ from: string; to: string; value: string }> = [];
  for (const v of versions) {
    const value = show(fn(parseMachineVersion(v)));
    const last = runs[runs.length - 1];
    if (last && last.value === value) last.to = v;
    else runs.push({ from: v, to: v, value });
  }
  return runs
    .map((r, i) => {
      const range = runs.length === 1 ? 'all types' : i === 0 ? `≤ ${r.to}` : i === runs.length - 1 ? `≥ ${r.from}` : r.from === r.to ? r.from : `${r.from}–${r.to}`;
      return `${range}: ${r.value}`;
    })
    .join('; ');
}

/** Sample arguments for the profile fields that are functions (shown as what they return). */
export function sampleNote(name: string): string | null {
  const sample = FUNCTION_SAMPLES[name];
  if (!sample) return null;
  return `Shown for the arguments (${sample().map((a) => (typeof a === 'bigint' ? `0x${a.toString(16)}` : String(a))).join(', ')}).`;
}

const FUNCTION_SAMPLES: Record<string, () => unknown[]> = {
  maxmemBelowSize: () => [1n * GiB, 2n * GiB],
  slotsMaxmemEqual: () => [2n * GiB, 2n * GiB],
  numaSum: () => [1n * GiB, 2n * GiB],
};

function showFunction(name: string, fn: (...args: never[]) => unknown): string {
  if (name === 'smbiosDimmChunk') return byMachineType(fn as (m: MachineVersion) => unknown, (v) => (typeof v === 'bigint' ? humanSize(v) ?? bigintText(v) : String(v)));
  const sample = FUNCTION_SAMPLES[name];
  if (sample) {
    const args = sample();
    return showValue(name, (fn as (...a: unknown[]) => unknown)(...args));
  }
  return '(function)';
}

function numberName(field: string, n: number): string {
  if (/Types$/.test(field)) return `${n >= 0x100000 ? `0x${n.toString(16)}` : n} ${E820_NAME.get(n) ?? '?'}`;
  if (field === 'setupDataKexecSkip') return SETUP_DATA_NAME.get(n) ?? String(n);
  return n >= 0x100000 ? `0x${n.toString(16)}` : String(n);
}

/** Abbreviates long version lists (machine types): first … last (count). */
function showList(field: string, items: readonly unknown[]): string {
  if (items.length === 0) return '(none)';
  const shown = items.map((i) => (typeof i === 'number' ? numberName(field, i) : typeof i === 'bigint' ? bigintText(i) : typeof i === 'string' ? i : JSON.stringify(i, jsonSafe)));
  if (shown.length <= 6) return shown.join(', ');
  return `${shown[0]}, ${shown[1]} … ${shown[shown.length - 1]} (${shown.length})`;
}

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  return v;
}

export function showValue(field: string, v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'bigint') return codeSpan(bigintText(v));
  if (typeof v === 'number') return codeSpan(numberName(field, v));
  if (typeof v === 'string') return codeSpan(JSON.stringify(v));
  if (typeof v === 'function') return showFunction(field, v as (...args: never[]) => unknown).replace(/\|/g, '\\|');
  if (Array.isArray(v)) return codeSpan(showList(field, v));
  return codeSpan(JSON.stringify(v, jsonSafe));
}

// ---- Rows ----------------------------------------------------------------------------------

interface Row {
  /** Field path as the profile spells it (`machineTypes.newest`, `typeText[RAM 1]`). */
  name: string;
  /** The field name its doc comment is keyed by. */
  docKey: string;
  /** The enclosing field, whose comment stands in when the row has none. */
  parentKey?: string;
  values: unknown[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keyLabel(key: string): string {
  if (/^\d+$/.test(key)) {
    const n = Number(key);
    return `[${E820_NAME.get(n) ?? '?'} ${n >= 0x100000 ? `0x${n.toString(16)}` : n}]`;
  }
  return `.${key}`;
}

/** Flattens the profiles' fields (one level of nested objects/records) into rows, in source order. */
function rowsOf(profiles: readonly Record<string, unknown>[], skip: readonly string[]): Row[] {
  const rows: Row[] = [];
  const keys: string[] = [];
  for (const p of profiles) for (const k of Object.keys(p)) if (!keys.includes(k) && !skip.includes(k)) keys.push(k);
  for (const k of keys) {
    const values = profiles.map((p) => p[k]);
    if (values.every(isPlainObject)) {
      const sub: string[] = [];
      for (const v of values as Record<string, unknown>[]) for (const s of Object.keys(v)) if (!sub.includes(s)) sub.push(s);
      for (const s of sub) {
        rows.push({ name: `${k}${keyLabel(s)}`, docKey: /^\d+$/.test(s) ? k : s, parentKey: k, values: (values as Record<string, unknown>[]).map((v) => v[s]) });
      }
    } else rows.push({ name: k, docKey: k, values });
  }
  return rows;
}

function cellText(row: Row, i: number): string {
  return showValue(row.docKey, row.values[i]);
}

/** Fields the profile sources leave without a comment of their own. */
const EXTRA_DESCRIPTIONS: Record<string, string> = {
  nosave: 'The nosave walk (type NosaveAlgorithm): per-entry = one line per non-RAM entry and per hole (before the 2025 stable fix "x86/e820: Fix handling of subpage regions…"); ram-holes = one line per hole between RAM entries, plus the tail up to max_pfn (after it).',
};

function describe(docs: Map<string, string>, row: Row): string {
  const own = docs.get(row.docKey) ?? EXTRA_DESCRIPTIONS[row.docKey] ?? (row.parentKey ? docs.get(row.parentKey) : undefined) ?? '';
  const note = sampleNote(row.docKey);
  return note ? `${own} ${note}`.trim() : own;
}

function escapeCell(text: string): string {
  return text.replace(/\n/g, ' ');
}

function componentTables(
  title: string,
  sourceFile: string,
  interfaceName: string,
  versions: readonly string[],
  profiles: readonly Record<string, unknown>[],
  skip: readonly string[],
): string[] {
  const source = readSource(sourceFile);
  const docs = docComments(source, `export interface ${interfaceName} {`);
  const rows = rowsOf(profiles, skip);
  const differs = (r: Row): boolean => new Set(versions.map((_, i) => cellText(r, i))).size > 1;
  const out: string[] = [`## ${title}`, '', `From \`${sourceFile}\` (\`${interfaceName}\`). ${leadingComment(source)}`, ''];

  const changing = rows.filter(differs);
  out.push(
    `### What changes between versions (${changing.length} of ${rows.length} fields)`,
    '',
    'Bold: the value changed from the version to its left.',
    '',
    `| field | ${versions.join(' | ')} | what it is |`,
    `|---|${versions.map(() => '---').join('|')}|---|`,
  );
  for (const r of changing) {
    const cells = versions.map((_, i) => {
      const t = cellText(r, i);
      return i > 0 && t !== cellText(r, i - 1) ? `**${t}**` : t;
    });
    out.push(`| \`${r.name}\` | ${cells.map(escapeCell).join(' | ')} | ${escapeCell(describe(docs, r))} |`);
  }
  const same = rows.filter((r) => !differs(r));
  if (same.length) {
    out.push('', `### The same in ${versions.join(', ')}`, '', '| field | value | what it is |', '|---|---|---|');
    for (const r of same) out.push(`| \`${r.name}\` | ${escapeCell(cellText(r, 0))} | ${escapeCell(describe(docs, r))} |`);
  }
  out.push('');
  return out;
}

function constantsTable(title: string, sourceFile: string, constName: string, table: Record<string, unknown>): string[] {
  const docs = docComments(readSource(sourceFile), `export const ${constName} = {`);
  const out = [`### ${title} (\`${constName}\`, the same in every version)`, '', '| constant | value | what it is |', '|---|---|---|'];
  for (const [k, v] of Object.entries(table)) {
    let shown: string;
    if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) shown = codeSpan(`${v[0]}.${v[1]}`);
    else shown = showValue(k, v);
    out.push(`| \`${k}\` | ${escapeCell(shown)} | ${escapeCell(docs.get(k) ?? '')} |`);
  }
  out.push('');
  return out;
}

// ---- Machine types -------------------------------------------------------------------------

function machineTypeSection(): string[] {
  const out: string[] = [
    '## Machine types registered per QEMU version',
    '',
    'From `QEMU_PROFILES[v].machineTypes`. `pc` and `q35` alias the newest type; `d` = registered but deprecated (QEMU warns and carries on); `—` = not registered (QEMU refuses it).',
    '',
    `| | ${QEMU_VERSIONS.join(' | ')} |`,
    `|---|${QEMU_VERSIONS.map(() => '---').join('|')}|`,
  ];
  const mt = QEMU_VERSIONS.map((v) => QEMU_PROFILES[v].machineTypes);
  const span = (list: readonly string[]): string => {
    if (list.length === 0) return '—';
    const s = sortVersions(list);
    return `${s[0]} … ${s[s.length - 1]} (${s.length})`;
  };
  out.push(`| \`pc\`/\`q35\` alias | ${mt.map((m) => `${m.newest}`).join(' | ')} |`);
  out.push(`| \`pc-i440fx-X.Y\` | ${mt.map((m) => span(m.i440fx)).join(' | ')} |`);
  out.push(`| \`pc-q35-X.Y\` | ${mt.map((m) => span(m.q35)).join(' | ')} |`);
  out.push(`| \`pc-X.Y\` (legacy) | ${mt.map((m) => span(m.legacyPc)).join(' | ')} |`);
  out.push(`| deprecated | ${mt.map((m) => `${m.deprecated.length}`).join(' | ')} |`);
  out.push(`| deprecation reason | ${mt.map((m) => codeSpan(m.deprecationReason)).join(' | ')} |`);
  out.push('', 'Each type version: i440fx / q35 (legacy `pc-X.Y` counts as i440fx).', '', `| type version | ${QEMU_VERSIONS.join(' | ')} |`, `|---|${QEMU_VERSIONS.map(() => '---').join('|')}|`);
  const all = new Set<string>();
  for (const m of mt) for (const t of [...m.i440fx, ...m.q35, ...m.legacyPc]) all.add(t);
  for (const t of sortVersions([...all])) {
    const cells = mt.map((m) => {
      const mark = (present: boolean, name: string): string => (!present ? '—' : m.deprecated.includes(name) ? 'd' : '✓');
      const i440 = m.legacyPc.includes(t) ? mark(true, `pc-${t}`) : mark(m.i440fx.includes(t), `pc-i440fx-${t}`);
      const q35 = mark(m.q35.includes(t), `pc-q35-${t}`);
      return `${i440} / ${q35}`;
    });
    out.push(`| ${t} | ${cells.join(' | ')} |`);
  }
  out.push('');
  return out;
}

// ---- Firmware roads: qboot and microvm ---------------------------------------------------------

/** Which firmware builds the map per machine and release (reference/firmware.ts), then its files and layouts. */
function firmwareRoadSection(): string[] {
  const files = QEMU_VERSIONS.map((v) => QEMU_FIRMWARE_FILES[v]);
  const microvmBios = files.map((f) => (f.biosMicrovm === 'qboot' ? 'qboot (bios-microvm.bin → qboot.rom)' : `SeaBIOS ${f.microvmSeabios ?? '?'} (its microvm build)`));
  const out: string[] = [
    '## Firmware roads: SeaBIOS, qboot, microvm',
    '',
    'Which firmware builds the E820 table the kernel is handed (reference/firmware.ts `firmwareRoad`; `predict --explain` prints it per configuration). qboot\'s table: reference/qboot-stage.ts; microvm\'s QEMU stage: reference/qemu/microvm.ts.',
    '',
    `| configuration | ${QEMU_VERSIONS.join(' | ')} |`,
    `|---|${QEMU_VERSIONS.map(() => '---').join('|')}|`,
    `| \`-M pc\`/\`q35\` (default firmware) | ${QEMU_VERSIONS.map(() => 'SeaBIOS').join(' | ')} |`,
    `| \`-M pc\`/\`q35\` \`-bios qboot.rom\` | ${files.map((f) => (f.qbootRom ? 'qboot' : '— (not shipped)')).join(' | ')} |`,
    `| \`-M microvm,acpi=off\` (qboot.rom) | ${QEMU_VERSIONS.map(() => 'qboot').join(' | ')} |`,
    `| \`-M microvm,acpi=off -bios bios-microvm.bin\` | ${microvmBios.map(escapeCell).join(' | ')} |`,
    `| \`-M microvm,acpi=off -bios bios.bin\` | ${QEMU_VERSIONS.map(() => 'SeaBIOS (as on isapc)').join(' | ')} |`,
    `| \`-M microvm,acpi=off -bios bios-256k.bin\` | ${QEMU_VERSIONS.map(() => 'refused: stops in POST').join(' | ')} |`,
    `| \`-M microvm\` (ACPI: bios-microvm.bin) | ${microvmBios.map((b) => escapeCell(`${b}; refused under TCG: no clock`)).join(' | ')} |`,
    '',
  ];
  out.push(
    ...componentTables('Firmware files per QEMU release', 'reference/profiles/firmware-files.ts', 'QemuFirmwareFiles', QEMU_VERSIONS, files as unknown as Record<string, unknown>[], []),
    ...constantsTable('qboot layout', 'reference/qboot-stage.ts', 'QBOOT_LAYOUT', QBOOT_LAYOUT),
    ...constantsTable('microvm layout', 'reference/qemu/microvm.ts', 'MICROVM_LAYOUT', MICROVM_LAYOUT),
  );
  return out;
}

// ---- The document --------------------------------------------------------------------------

export function generateVersionsDoc(): string {
  const out: string[] = [
    '<!-- GENERATED by `npx e820 docs` from reference/profiles/*.ts (harness/docs/versions-doc.ts). Do not edit by hand: edit the profiles and regenerate. -->',
    '',
    '# Behaviour by version',
    '',
    'What the model treats differently per component version, read from the profile tables. Per-cell consequences: `npx e820 drift --from <toolchain> --to <toolchain>`.',
    '',
    `Versions: QEMU ${QEMU_VERSIONS.join(', ')}; SeaBIOS ${SEABIOS_VERSIONS.join(', ')}; Linux ${KERNEL_VERSIONS.join(', ')}.`,
    '',
    ...componentTables('QEMU', 'reference/profiles/qemu.ts', 'QemuProfile', QEMU_VERSIONS, QEMU_VERSIONS.map((v) => QEMU_PROFILES[v] as unknown as Record<string, unknown>), ['version', 'machineTypes']),
    ...constantsTable('Machine-type compat switches', 'reference/profiles/qemu.ts', 'MACHINE_COMPAT', MACHINE_COMPAT),
    ...constantsTable('QEMU layout', 'reference/profiles/qemu.ts', 'QEMU_LAYOUT', QEMU_LAYOUT),
    ...machineTypeSection(),
    ...firmwareRoadSection(),
    ...componentTables('SeaBIOS', 'reference/profiles/seabios.ts', 'SeabiosProfile', SEABIOS_VERSIONS, SEABIOS_VERSIONS.map((v) => SEABIOS_PROFILES[v] as unknown as Record<string, unknown>), ['version']),
    ...constantsTable('SeaBIOS layout', 'reference/profiles/seabios.ts', 'SEABIOS_LAYOUT', SEABIOS_LAYOUT),
    ...componentTables('Linux', 'reference/profiles/kernel.ts', 'KernelProfile', KERNEL_VERSIONS, KERNEL_VERSIONS.map((v) => KERNEL_PROFILES[v] as unknown as Record<string, unknown>), ['version']),
  ];
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
