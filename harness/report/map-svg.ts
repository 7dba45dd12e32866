// One cell's memory maps as an SVG string: per layer, the model's map and the machine's side by
// side on one shared address axis. Pure: entries in, markup out (no DOM, no I/O), so it is
// unit-tested and used alike by the HTML report and `e820 predict --html`.
//
// The axis is broken: a map spans 2^52 bytes but its interesting parts are 4 KiB pages in the
// low 1 MiB, a few reserved pages under 4 GiB and a reservation at 1012 GiB. Every span between
// two entry boundaries (of either side, of every layer, plus 1 MiB and 4 GiB) gets a height that
// grows with log2 of its size, and a span no entry covers is cut to a fixed sliver drawn with a
// break mark. So the low 1 MiB, the 32-bit PCI hole region and the space above 4 GiB are each
// legible, addresses still grow monotonically downwards, and both sides of a layer line up.

import { E820_TYPE_NAMES } from '../../reference/e820.ts';

/** What an entry is, for its colour: the E820 types (ACPI 6.5 table 15.1) and the kernel's names of them. */
export type MapKind = 'ram' | 'reserved' | 'acpi' | 'nvs' | 'unusable' | 'pmem' | 'other';

export interface MapEntry {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** The type as the layer prints it (`1 RAM`, `System RAM`, `reserved`). */
  type: string;
  kind: MapKind;
}

export interface LayerMaps {
  /** Short name: `qemu`, `firmware`, `kernel`. */
  layer: string;
  /** What is drawn: `etc/e820`, `SeaBIOS E820`, `/sys/firmware/memmap`. */
  title: string;
  /** null: the model does not predict it (the reason in modelNote). */
  model: readonly MapEntry[] | null;
  /** null: not observed, or nothing was booted (the reason in machineNote). */
  machine: readonly MapEntry[] | null;
  modelNote?: string;
  machineNote?: string;
}

export const KIND_COLOURS: Readonly<Record<MapKind, string>> = {
  ram: '#8fd18f',
  reserved: '#b8b8b8',
  acpi: '#8fb8e8',
  nvs: '#c6a4e0',
  unusable: '#d9a07a',
  pmem: '#f0c36a',
  other: '#f3e58a',
};

const NUMERIC_KINDS: Readonly<Record<number, MapKind>> = { 1: 'ram', 2: 'reserved', 3: 'acpi', 4: 'nvs', 5: 'unusable', 7: 'pmem', 12: 'pmem' };

/** The kind of an E820 type number (etc/e820, SeaBIOS) or of the name a kernel prints for one. */
export function kindOf(type: number | string): MapKind {
  if (typeof type === 'number') return NUMERIC_KINDS[type] ?? 'other';
  const t = type.trim().toLowerCase();
  const n = /^(\d+)\b/.exec(t);
  if (n) return NUMERIC_KINDS[Number(n[1])] ?? 'other';
  if (t === 'system ram' || t === 'usable') return 'ram';
  if (t === 'reserved' || t === 'soft reserved') return 'reserved';
  if (t === 'acpi tables' || t === 'acpi data') return 'acpi';
  if (t.includes('non-volatile') || t === 'acpi nvs') return 'nvs';
  if (t.startsWith('unusable')) return 'unusable';
  if (t.includes('persistent')) return 'pmem';
  return 'other';
}

/** Text for HTML and SVG, attribute-safe; control characters are shown as `\xNN`, never passed through. */
export function escapeHtml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export const MiB = 1n << 20n;
export const FOUR_GIB = 1n << 32n;

export type Region = 'low 1 MiB' | 'below 4 GiB' | 'above 4 GiB';

export interface AxisPiece {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  y0: number;
  y1: number;
  /** No entry of any side covers it: drawn as a cut sliver with a break mark. */
  gap: boolean;
  region: Region;
}

/** Height of a cut (uncovered) span, px. */
export const GAP_HEIGHT = 10;
/** Height of the smallest covered span (a 4 KiB page or less), px. */
export const MIN_HEIGHT = 7;
/** Extra px per doubling of a covered span above 4 KiB. */
export const PX_PER_DOUBLING = 2.2;

function regionOf(start: bigint): Region {
  return start < MiB ? 'low 1 MiB' : start < FOUR_GIB ? 'below 4 GiB' : 'above 4 GiB';
}

function log2(n: bigint): number {
  return n <= 0n ? 0 : n.toString(2).length - 1;
}

/** The broken axis for these maps, top (address 0) to bottom; y starts at `top`. */
export function axisPieces(maps: ReadonlyArray<readonly MapEntry[]>, top = 0): AxisPiece[] {
  const entries = maps.flat().filter((e) => e.end > e.start);
  const last = entries.reduce((m, e) => (e.end > m ? e.end : m), 0n);
  const bounds = new Set<bigint>([0n, MiB, last > MiB ? (last > FOUR_GIB ? FOUR_GIB : last) : MiB]);
  for (const e of entries) {
    bounds.add(e.start);
    bounds.add(e.end);
  }
  const sorted = [...bounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pieces: AxisPiece[] = [];
  let y = top;
  for (let i = 0; i + 1 < sorted.length; i++) {
    const start = sorted[i]!;
    const end = sorted[i + 1]!;
    const gap = !entries.some((e) => e.start < end && e.end > start);
    const h = gap ? GAP_HEIGHT : MIN_HEIGHT + PX_PER_DOUBLING * Math.max(0, log2((end - start) >> 12n));
    // Tenths of a px: enough for the eye, and sums that do not drift (0.1 + 0.2).
    const y1 = Math.round((y + h) * 10) / 10;
    pieces.push({ start, end, y0: y, y1, gap, region: regionOf(start) });
    y = y1;
  }
  return pieces;
}

/** y of an address on the axis (a boundary of some piece, or inside one: proportional there). */
export function yOf(pieces: readonly AxisPiece[], address: bigint): number {
  if (pieces.length === 0) return 0;
  for (const p of pieces) {
    if (address <= p.start) return p.y0;
    if (address < p.end) {
      const frac = Number(((address - p.start) * 10_000n) / (p.end - p.start)) / 10_000;
      return p.y0 + frac * (p.y1 - p.y0);
    }
  }
  return pieces[pieces.length - 1]!.y1;
}

function entryKey(e: MapEntry): string {
  return `${e.start}-${e.end}-${e.type}`;
}

/** Indices of the entries each side has that the other does not (same start, end and type). */
export function disagreeing(model: readonly MapEntry[], machine: readonly MapEntry[]): { model: Set<number>; machine: Set<number> } {
  const only = (a: readonly MapEntry[], b: readonly MapEntry[]): Set<number> => {
    const left = new Map<string, number>();
    for (const e of b) left.set(entryKey(e), (left.get(entryKey(e)) ?? 0) + 1);
    const out = new Set<number>();
    a.forEach((e, i) => {
      const n = left.get(entryKey(e)) ?? 0;
      if (n > 0) left.set(entryKey(e), n - 1);
      else out.add(i);
    });
    return out;
  };
  return { model: only(model, machine), machine: only(machine, model) };
}

/** `0xfd00000000`: short hex, as an axis label. */
export function shortHex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

export function sizeText(bytes: bigint): string {
  const units: Array<[bigint, string]> = [[1n << 40n, 'TiB'], [1n << 30n, 'GiB'], [1n << 20n, 'MiB'], [1n << 10n, 'KiB']];
  for (const [u, name] of units) {
    if (bytes < u) continue;
    return bytes % u === 0n ? `${bytes / u} ${name}` : `${(Number((bytes * 100n) / u) / 100).toFixed(2)} ${name}`;
  }
  return `${bytes} B`;
}

/** `1 RAM`, `2 reserved`: an E820 type number with its name. */
export function typeLabel(type: number): string {
  return `${type} ${E820_TYPE_NAMES[type]?.short ?? 'unknown'}`;
}

/** One entry as text: `0x100000-0x3ffdffff (1023.87 MiB) System RAM` (end inclusive, as the kernel prints). */
export function entryText(e: MapEntry): string {
  return `${shortHex(e.start)}-${shortHex(e.end - 1n)} (${sizeText(e.end - e.start)}) ${e.type}`;
}

export interface Disagreement {
  layer: string;
  side: 'model only' | 'machine only';
  entry: MapEntry;
}

/** Every entry one side of a layer has and the other lacks, in layer order, model side first. */
export function disagreementsOf(layers: readonly LayerMaps[]): Disagreement[] {
  const out: Disagreement[] = [];
  for (const l of layers) {
    if (l.model === null || l.machine === null) continue;
    const d = disagreeing(l.model, l.machine);
    for (const i of d.model) out.push({ layer: l.layer, side: 'model only', entry: l.model[i]! });
    for (const i of d.machine) out.push({ layer: l.layer, side: 'machine only', entry: l.machine[i]! });
  }
  return out;
}

const AXIS_WIDTH = 118;
const COLUMN_WIDTH = 78;
const COLUMN_GAP = 6;
const LAYER_GAP = 22;
const HEADER = 34;
const LABEL_MIN_SPACING = 10;

export interface SvgOptions {
  /** Draw only the model's side (`e820 predict --html`). */
  modelOnly?: boolean;
  /**
   * What the two columns are called (default `model` and `machine`): a drift report draws the
   * `from` toolchain's map in the first and the `to` toolchain's in the second, the same way.
   */
  sideLabels?: { model: string; machine: string };
}

/** The SVG of one cell's layers. Disagreeing entries carry class `diff` and a red outline. */
export function renderMapSvg(layers: readonly LayerMaps[], options: SvgOptions = {}): string {
  const sides: Array<'model' | 'machine'> = options.modelOnly ? ['model'] : ['model', 'machine'];
  const pieces = axisPieces(layers.flatMap((l) => sides.map((s) => l[s] ?? [])), HEADER);
  const bottom = pieces.length ? pieces[pieces.length - 1]!.y1 : HEADER + 20;
  const layerWidth = sides.length * COLUMN_WIDTH + (sides.length - 1) * COLUMN_GAP;
  const width = AXIS_WIDTH + layers.length * (layerWidth + LAYER_GAP);
  const height = bottom + 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="map" width="${width}" height="${Math.ceil(height)}" viewBox="0 0 ${width} ${Math.ceil(height)}" font-family="monospace" font-size="9" stroke-width="0.6">`,
    '<style>.entry rect{stroke:#555}.entry.diff rect{stroke:#d00}</style>',
  ];
  // Axis: the line, its labels, the cuts, and the region lines at 1 MiB and 4 GiB.
  const axisX = AXIS_WIDTH - 6;
  out.push(`<line x1="${axisX}" y1="${HEADER}" x2="${axisX}" y2="${bottom.toFixed(1)}" stroke="#333"/>`);
  let lastLabel = -Infinity;
  for (const p of pieces) {
    if (p.y0 - lastLabel >= LABEL_MIN_SPACING || p.start === MiB || p.start === FOUR_GIB) {
      out.push(`<text x="${axisX - 4}" y="${(p.y0 + 3).toFixed(1)}" text-anchor="end">${escapeHtml(shortHex(p.start))}</text>`);
      lastLabel = p.y0;
    }
    if (p.gap) {
      const m = (p.y0 + p.y1) / 2;
      out.push(`<path class="cut" d="M${axisX - 5},${(m - 2).toFixed(1)} l10,-3 M${axisX - 5},${(m + 2).toFixed(1)} l10,-3" stroke="#333" fill="none"/>`);
    }
  }
  for (const [at, label] of [[MiB, '1 MiB'], [FOUR_GIB, '4 GiB']] as const) {
    const piece = pieces.find((p) => p.start === at);
    if (!piece) continue;
    out.push(`<line class="region" x1="${axisX}" y1="${piece.y0.toFixed(1)}" x2="${width}" y2="${piece.y0.toFixed(1)}" stroke="#c33" stroke-dasharray="3,3" stroke-width="0.8"/>`);
    out.push(`<text x="2" y="${(piece.y0 - 2).toFixed(1)}" fill="#c33">${label}</text>`);
  }
  layers.forEach((l, li) => {
    const x0 = AXIS_WIDTH + li * (layerWidth + LAYER_GAP);
    out.push(`<text x="${x0}" y="11" font-weight="bold">${escapeHtml(`${l.layer}: ${l.title}`)}</text>`);
    const d = l.model !== null && l.machine !== null ? disagreeing(l.model, l.machine) : { model: new Set<number>(), machine: new Set<number>() };
    sides.forEach((side, si) => {
      const x = x0 + si * (COLUMN_WIDTH + COLUMN_GAP);
      const name = options.sideLabels?.[side] ?? side;
      out.push(`<text x="${x}" y="${HEADER - 8}">${escapeHtml(name.length > 14 ? `${name.slice(0, 13)}…` : name)}</text>`);
      const entries = l[side];
      if (entries === null) {
        const note = side === 'model' ? (l.modelNote ?? 'not predicted') : (l.machineNote ?? 'not observed');
        out.push(
          `<g class="absent"><title>${escapeHtml(note)}</title><rect x="${x}" y="${HEADER}" width="${COLUMN_WIDTH}" height="${(bottom - HEADER).toFixed(1)}" fill="#f4f4f4" stroke="#ccc" stroke-dasharray="4,3"/>` +
            `<text x="${x + 4}" y="${HEADER + 14}" fill="#777">${side === 'model' ? 'not predicted' : 'not observed'}</text></g>`,
        );
        return;
      }
      entries.forEach((e, i) => {
        const y0 = yOf(pieces, e.start);
        const y1 = Math.max(yOf(pieces, e.end), y0 + 2);
        const differs = d[side].has(i);
        const cls = `entry kind-${e.kind}${differs ? ' diff' : ''}`;
        const tip = `${l.layer} ${name}: ${entryText(e)}${differs ? ` — ${name} only` : ''}`;
        out.push(
          `<g class="${cls}"><title>${escapeHtml(tip)}</title><rect x="${x}" y="${y0.toFixed(1)}" width="${COLUMN_WIDTH}" height="${(y1 - y0).toFixed(1)}" fill="${KIND_COLOURS[e.kind]}"${differs ? ' stroke="#d00" stroke-width="2.5"' : ''}/>` +
            (y1 - y0 >= 11 ? `<text x="${x + 3}" y="${(y0 + 9).toFixed(1)}">${escapeHtml(e.type.slice(0, 13))}</text>` : '') +
            (differs ? `<text x="${x + COLUMN_WIDTH - 8}" y="${Math.min(y0 + 9, y1).toFixed(1)}" fill="#d00">!</text>` : '') +
            '</g>',
        );
      });
    });
  });
  out.push('</svg>');
  return out.join('\n');
}
