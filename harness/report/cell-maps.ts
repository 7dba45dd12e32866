// The maps a report draws for a cell: etc/e820 (qemu), SeaBIOS's E820 map (firmware) and
// /sys/firmware/memmap (kernel; its `BIOS-e820:` lines when memmap is absent), model and machine.
//
// A run records them in results.json (CellResult.maps, written by the runner); the machine's side
// of a layer that equals the model's is stored as 'same' to keep the file small. Results written
// before that carry no maps: the model's side is then predicted again from the cell's argv and
// toolchain (TCG cells without a declared intent, whose prediction depends on nothing else), and
// the machine's side is the model's for a field that matched, or read back from the verdict's diff
// for one that differed (a full listing; harness/matrix/diff.ts lists maps of up to 40 lines whole).

import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import type { FirmwareE820Json, LayerReport, MemmapJson, QemuE820Json } from '../../reference/report.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import type { FieldResult } from '../matrix/verdict.ts';
import { kindOf, typeLabel, type LayerMaps, type MapEntry } from './map-svg.ts';

export interface MapsJson {
  qemu?: QemuE820Json[];
  firmware?: FirmwareE820Json[];
  kernel?: MemmapJson[];
}

/** CellResult.maps: the model's maps, and the machine's ('same' where a layer equals the model's). */
export interface RecordedMaps {
  model: MapsJson;
  machine: { qemu?: QemuE820Json[] | 'same'; firmware?: FirmwareE820Json[] | 'same'; kernel?: MemmapJson[] | 'same' };
}

const LAYERS = [
  { layer: 'qemu', title: 'fw_cfg etc/e820', field: 'qemu.e820' },
  { layer: 'firmware', title: 'SeaBIOS E820 map', field: 'firmware.e820' },
  { layer: 'kernel', title: '/sys/firmware/memmap', field: 'kernel.memmap' },
] as const;
type MapLayer = (typeof LAYERS)[number]['layer'];

const BIOS_E820 = /\[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.+)$/;

/** The drawn maps of a LayerReport (model or machine). */
export function mapsOfReport(r: LayerReport): MapsJson {
  const kernel =
    r.kernel?.memmap ??
    r.kernel?.biosE820?.flatMap((l) => {
      const m = BIOS_E820.exec(l);
      return m ? [{ start: m[1]!, end: m[2]!, type: m[3]! }] : [];
    });
  return {
    ...(r.qemu?.e820 ? { qemu: r.qemu.e820 } : {}),
    ...(r.firmware?.e820 ? { firmware: r.firmware.e820 } : {}),
    ...(kernel ? { kernel } : {}),
  };
}

/** What a run records: the model's maps, and the machine's where they differ. */
export function recordMaps(expected: LayerReport, observed: LayerReport): RecordedMaps {
  const model = mapsOfReport(expected);
  const seen = mapsOfReport(observed);
  const machine: RecordedMaps['machine'] = {};
  for (const { layer } of LAYERS) {
    const m = seen[layer];
    if (m === undefined) continue;
    (machine as Record<string, unknown>)[layer] = JSON.stringify(m) === JSON.stringify(model[layer]) ? 'same' : m;
  }
  return { model, machine };
}

function big(text: string): bigint {
  return BigInt(text.startsWith('0x') || /^\d+$/.test(text) ? text : `0x${text}`);
}

export function entriesOf(layer: MapLayer, maps: MapsJson): MapEntry[] | null {
  if (layer === 'qemu') {
    return maps.qemu?.map((e) => ({ start: big(e.start), end: big(e.start) + big(e.length), type: typeLabel(e.type), kind: kindOf(e.type) })) ?? null;
  }
  if (layer === 'firmware') return maps.firmware?.map((e) => ({ start: big(e.start), end: big(e.end), type: typeLabel(e.type), kind: kindOf(e.type) })) ?? null;
  return maps.kernel?.map((e) => ({ start: big(e.start), end: big(e.end) + 1n, type: e.type, kind: kindOf(e.type) })) ?? null;
}

/** A line of harness/matrix/compare.ts FIELD_LINES back into an entry (null when it is not one). */
export function entryOfLine(layer: MapLayer, line: string): MapEntry | null {
  let m: RegExpExecArray | null;
  if (layer === 'qemu' && (m = /^([0-9a-f]+)-([0-9a-f?]+) len ([0-9a-f]+) = (\d+)/.exec(line))) {
    const start = big(m[1]!);
    return { start, end: start + big(m[3]!), type: typeLabel(Number(m[4])), kind: kindOf(Number(m[4])) };
  }
  if (layer === 'firmware' && (m = /^([0-9a-f]+) - ([0-9a-f]+) = (\d+)/.exec(line))) {
    return { start: big(m[1]!), end: big(m[2]!), type: typeLabel(Number(m[3])), kind: kindOf(Number(m[3])) };
  }
  if (layer === 'kernel' && (m = /^(0x[0-9a-f]+)-(0x[0-9a-f]+) (.+)$/.exec(line))) {
    return { start: big(m[1]!), end: big(m[2]!) + 1n, type: m[3]!, kind: kindOf(m[3]!) };
  }
  return null;
}

/** Both sides of a field from its diff, when the diff lists every line (one hunk from line 1). */
export function sidesOfDiff(layer: MapLayer, diff: string): { model: MapEntry[]; machine: MapEntry[] } | null {
  const lines = diff.split('\n');
  const hunks = lines.filter((l) => l.startsWith('@@'));
  if (hunks.length !== 1 || !/^@@ -1,\d+ \+1,\d+ @@/.test(hunks[0]!)) return null;
  const model: MapEntry[] = [];
  const machine: MapEntry[] = [];
  for (const l of lines.slice(lines.indexOf(hunks[0]!) + 1)) {
    const e = entryOfLine(layer, l.slice(2));
    if (e === null) return null;
    if (l[0] !== '+') model.push(e);
    if (l[0] !== '-') machine.push(e);
  }
  return { model, machine };
}

/** The part of a results.json cell a report reads. */
export interface CellLike {
  argv: string[];
  toolchain: Toolchain;
  outcome: string;
  expect?: unknown;
  maps?: RecordedMaps;
  machine?: { outcome: string; detail: string | null };
  verdict: { outcome: string; fields?: FieldResult[]; first?: { field: string }; error?: { kind: string; message: string } } | null;
}

function fieldOf(cell: CellLike, field: string): FieldResult | undefined {
  return cell.verdict?.fields?.find((f) => f.field === field);
}

/** The model's maps again, for results that did not record them; null when the prediction needs more than argv and toolchain. */
function predictedAgain(cell: CellLike): { maps: MapsJson | null; why: string | null } {
  if (cell.expect !== undefined) return { maps: null, why: 'a cell with a declared intent: its maps are only in results that record them' };
  try {
    const config = parseQemuArgs(cell.argv, { qemuVersion: cell.toolchain.qemu });
    if (config.accel === 'kvm') return { maps: null, why: "a KVM cell: its prediction depends on the host's CPU, recorded only with the maps" };
    return { maps: mapsOfReport(predict(config, cell.toolchain).report), why: null };
  } catch (err) {
    return { maps: null, why: `the model does not predict it: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/** The layers a report draws for a cell, from its recorded maps or, for older results, as the header says. */
export function cellLayers(cell: CellLike): LayerMaps[] {
  const recorded = cell.maps;
  const again = recorded ? null : predictedAgain(cell);
  const model: MapsJson | null = recorded ? recorded.model : again!.maps;
  return LAYERS.map(({ layer, title, field }) => {
    const f = fieldOf(cell, field);
    const modelEntries = model ? entriesOf(layer, model) : null;
    let machineEntries: MapEntry[] | null = null;
    let machineNote: string | undefined;
    if (recorded) {
      const m = recorded.machine[layer];
      machineEntries = m === 'same' ? modelEntries : m !== undefined ? entriesOf(layer, { [layer]: m } as MapsJson) : null;
      if (m === undefined) machineNote = f?.reason ?? notBootedNote(cell);
    } else if (f?.status === 'match') {
      machineEntries = modelEntries;
    } else if (f?.status === 'differ' && f.diff) {
      const sides = sidesOfDiff(layer, f.diff);
      if (sides) {
        machineEntries = sides.machine;
        return { layer, title, model: modelEntries ?? sides.model, machine: machineEntries };
      }
      machineNote = 'the diff in results.json lists only part of this field';
    } else {
      machineNote = f?.reason ?? notBootedNote(cell);
    }
    const modelNote = model === null ? (again?.why ?? 'not predicted') : (f?.status === 'not-predicted' ? f.reason : undefined);
    return {
      layer,
      title,
      model: modelEntries,
      machine: machineEntries,
      ...(modelNote !== undefined ? { modelNote } : {}),
      ...(machineNote !== undefined ? { machineNote } : {}),
    };
  });
}

function notBootedNote(cell: CellLike): string {
  if (cell.outcome === 'not-run') return 'not run';
  if (cell.verdict?.outcome === 'error') return `no observation: ${cell.verdict.error?.kind ?? 'error'}`;
  return 'not observed';
}

/** The model's layers of one prediction (`e820 predict --html`), with the reasons of what it does not predict. */
export function predictedLayers(report: LayerReport, unpredicted: readonly string[] = []): LayerMaps[] {
  const maps = mapsOfReport(report);
  return LAYERS.map(({ layer, title }) => {
    const model = entriesOf(layer, maps);
    const why = unpredicted.filter((u) => u.startsWith(layer) || u.includes(`${layer}.`)).join('; ') || unpredicted.join('; ');
    return { layer, title, model, machine: null, ...(model === null ? { modelNote: why || 'not predicted' } : {}) };
  });
}
