// The QEMU layer, model versus qtest: the model's Handoff (reference/qemu/) against what
// QEMU holds for the firmware before any firmware runs. Pure. Exact: every compared field is a
// list of lines, equal or not; what one side has and the other cannot see is a named rule
// (QTEST_RULES), counted in every verdict.

import type { Handoff } from '../../reference/stages.ts';
import type { E820Record } from '../../reference/e820.ts';
import { qemuE820Json } from '../../reference/report.ts';
import { qemuE820Line } from '../matrix/compare.ts';
import { diffLines, renderDiff } from '../matrix/diff.ts';
import type { QtestObservation } from './observe.ts';

/** Compared fields, in the order the verdict reports the first difference. */
export const QTEST_FIELDS = ['qemu.e820', 'qemu.legacyE820', 'qemu.reservedMemoryEnd', 'qemu.fwcfgFiles', 'qemu.fwcfgKeys', 'qemu.cmos'] as const;
export type QtestField = (typeof QTEST_FIELDS)[number];

/**
 * What is not compared, and why. Counted per verdict (`excluded`), listed in docs/qemu-layer.md.
 */
export const QTEST_RULES = {
  otherFiles:
    'fw_cfg files the model makes no claim about (bootorder, genroms/*, etc/boot-fail-wait, etc/system-states, etc/tpm/log, etc/acpi/rsdp, device ROMs, …) are listed, not compared',
  autoNuma:
    'FW_CFG_NUMA with memory hotplug and no -numa: QEMU adds one node itself (hw/core/numa.c numa_complete_configuration, auto_enable_numa_with_memhp); the model counts -numa options only, and SeaBIOS reads the key only to build its own SRAT, which it does not on these machine types',
  notSeen:
    'predicted, not visible without a guest: the firmware and kernel layers, PCI windows and other ACPI content, CPU vendor/phys-bits, device-memory bounds, the devices SeaBIOS drives, and the warnings QEMU prints',
} as const;

export type QtestVerdict =
  | { outcome: 'pass'; compared: number; fields: QtestFieldResult[]; excluded: string[] }
  | { outcome: 'fail'; first: QtestFieldResult; compared: number; fields: QtestFieldResult[]; excluded: string[] };

export interface QtestFieldResult {
  field: QtestField;
  expected: string[];
  observed: string[];
  same: boolean;
  /** Unified-style diff when they differ. */
  diff?: string;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

function e820Lines(records: readonly E820Record[] | null): string[] {
  return records === null ? ['(no etc/e820)'] : qemuE820Json(records).map(qemuE820Line);
}

/** The fw_cfg files the model claims, as `name: size` or `name: absent` lines (size null: presence only). */
export function predictedFiles(h: Handoff): Array<{ name: string; size: number | null; present: boolean }> {
  const fi = h.firmwareInputs;
  const acpi = fi.highAllocations.find((a) => a.file === 'etc/acpi/tables');
  const anchor = fi.smbiosEntryPoint === null ? null : fi.smbiosEntryPoint === '3.0' ? 24 : 31; // smbios_30/21_entry_point
  return [
    { name: 'etc/e820', size: h.e820 === null ? null : h.e820.length * 20, present: h.e820 !== null },
    { name: 'etc/reserved-memory-end', size: 8, present: h.reservedMemoryEnd !== null },
    { name: 'etc/table-loader', size: null, present: fi.hasTableLoader },
    { name: 'etc/acpi/tables', size: acpi === undefined ? null : Number(acpi.size), present: fi.hasTableLoader },
    { name: 'etc/smbios/smbios-tables', size: fi.smbiosTablesBytes, present: fi.smbiosTablesBytes !== null },
    { name: 'etc/smbios/smbios-anchor', size: anchor, present: anchor !== null },
    { name: 'etc/vmgenid_guid', size: null, present: fi.highAllocations.some((a) => a.file === 'etc/vmgenid_guid') },
  ];
}

function fileLine(name: string, present: boolean, size: number | null): string {
  return !present ? `${name}: absent` : size === null ? `${name}: present` : `${name}: ${size} bytes`;
}

/** Whether the FW_CFG_NUMA key falls under QTEST_RULES.autoNuma. */
function autoNuma(h: Handoff): boolean {
  return h.firmwareInputs.numaNodes === 0 && h.deviceMemory !== null;
}

export function compareQtest(h: Handoff, o: QtestObservation): QtestVerdict {
  const excluded: string[] = [];
  const claimed = predictedFiles(h);
  const others = o.files.filter((f) => !claimed.some((c) => c.name === f.name));
  excluded.push(`${others.length} fw_cfg files: ${QTEST_RULES.otherFiles}`);
  const expectedFiles = claimed.map((c) => fileLine(c.name, c.present, c.size));
  const observedFiles = claimed.map((c) => {
    const f = o.files.find((x) => x.name === c.name);
    return fileLine(c.name, f !== undefined, f === undefined || c.size === null ? null : f.size);
  });

  const c = h.cmos;
  const lo = (v: number): number => v & 0xff;
  const hi = (v: number): number => (v >> 8) & 0xff;
  const reg = (r: number): string => `0x${r.toString(16)}`;
  const cmosPairs: Array<[number, number]> = [
    [0x15, lo(c.baseKiB)], [0x16, hi(c.baseKiB)],
    [0x17, lo(c.extendedKiB)], [0x18, hi(c.extendedKiB)],
    [0x30, lo(c.extendedKiB)], [0x31, hi(c.extendedKiB)],
    [0x34, lo(c.above16MiB64K)], [0x35, hi(c.above16MiB64K)],
    [0x5b, c.above4GiB64K & 0xff], [0x5c, (c.above4GiB64K >> 8) & 0xff], [0x5d, (c.above4GiB64K >> 16) & 0xff],
    [0x5f, c.cpusMinusOne & 0xff],
  ];
  const keysExpected = [`RAM_SIZE ${hex(h.fwCfgRamSize)}`, `NB_CPUS ${h.topology.cpus}`, `MAX_CPUS ${h.firmwareInputs.maxCpusKey}`];
  const keysObserved = [`RAM_SIZE ${hex(o.keys.ramSize)}`, `NB_CPUS ${o.keys.nbCpus}`, `MAX_CPUS ${o.keys.maxCpus}`];
  if (autoNuma(h)) excluded.push(`FW_CFG_NUMA (${o.keys.numaNodes} nodes): ${QTEST_RULES.autoNuma}`);
  else {
    keysExpected.push(`NUMA nodes ${h.firmwareInputs.numaNodes}`);
    keysObserved.push(`NUMA nodes ${o.keys.numaNodes}`);
  }
  excluded.push(QTEST_RULES.notSeen);

  const pairs: Record<QtestField, [string[], string[]]> = {
    'qemu.e820': [e820Lines(h.e820), e820Lines(o.e820)],
    // An absent 0x8003 key reads as zero bytes: a count of 0, the same as an empty table.
    'qemu.legacyE820': [e820Lines(h.legacyE820 ?? []), o.legacyE820 === null ? ['(not a legacy E820 table)'] : e820Lines(o.legacyE820)],
    'qemu.reservedMemoryEnd': [[h.reservedMemoryEnd === null ? 'absent' : hex(h.reservedMemoryEnd)], [o.reservedMemoryEnd === null ? 'absent' : hex(o.reservedMemoryEnd)]],
    'qemu.fwcfgFiles': [expectedFiles, observedFiles],
    'qemu.fwcfgKeys': [keysExpected, keysObserved],
    'qemu.cmos': [cmosPairs.map(([r, v]) => `${reg(r)} = 0x${v.toString(16).padStart(2, '0')}`), cmosPairs.map(([r]) => `${reg(r)} = 0x${(o.cmos.get(r) ?? 0).toString(16).padStart(2, '0')}`)],
  };
  const fields = QTEST_FIELDS.map((field): QtestFieldResult => {
    const [expected, observed] = pairs[field];
    const same = expected.length === observed.length && expected.every((l, i) => l === observed[i]);
    return {
      field,
      expected,
      observed,
      same,
      ...(same ? {} : { diff: renderDiff(diffLines(expected, observed), { expected: `expected (model)   ${field}`, observed: `observed (qtest)   ${field}` }) }),
    };
  });
  const compared = fields.reduce((s, f) => s + f.observed.length, 0);
  const first = fields.find((f) => !f.same);
  return first === undefined ? { outcome: 'pass', compared, fields, excluded } : { outcome: 'fail', first, compared, fields, excluded };
}
