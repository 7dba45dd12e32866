// `e820 drift --html FILE`: the drift between two toolchains as a page, drawn the way report.html
// draws a cell: per cell, one SVG of its maps (fw_cfg etc/e820, SeaBIOS's E820 map,
// /sys/firmware/memmap) with the `from` toolchain's map beside the `to` toolchain's on one broken
// address axis, every entry one side has and the other lacks outlined and listed, then the changed
// fields' diffs. After `--verify`, each booted cell also shows the machine's maps under the two
// toolchains, drawn the same way. Pure: the drift, both sides' model reports and the boots' recorded
// maps in, a string out.

import { predictSide, type DriftReport, type Side } from '../drift/drift.ts';
import type { MatrixDeps } from '../matrix/deps.ts';
import type { LayerReport } from '../../reference/report.ts';
import { entriesOf, mapsOfReport, type MapsJson, type RecordedMaps } from './cell-maps.ts';
import { colourDiff, CSS, JS, options, shellLine } from './html.ts';
import { disagreementsOf, entryText, escapeHtml as e, KIND_COLOURS, renderMapSvg, type LayerMaps, type MapKind } from './map-svg.ts';

const LAYERS = [
  { layer: 'qemu', title: 'fw_cfg etc/e820' },
  { layer: 'firmware', title: 'SeaBIOS E820 map' },
  { layer: 'kernel', title: '/sys/firmware/memmap' },
] as const;

function why(s: Side): string {
  return s.kind === 'refused' ? `QEMU refuses: ${s.message}` : s.kind === 'unpredictable' ? `not predicted: ${s.error}` : 'not predicted';
}

/** Both toolchains' maps of a cell, `from` in the first column and `to` in the second. */
export function driftLayers(from: Side, to: Side): LayerMaps[] {
  const a = from.kind === 'report' ? mapsOfReport(from.report as LayerReport) : null;
  const b = to.kind === 'report' ? mapsOfReport(to.report as LayerReport) : null;
  return LAYERS.map(({ layer, title }) => {
    const model = a ? entriesOf(layer, a) : null;
    const machine = b ? entriesOf(layer, b) : null;
    return { layer, title, model, machine, ...(model === null ? { modelNote: why(from) } : {}), ...(machine === null ? { machineNote: why(to) } : {}) };
  });
}

/** Both sides' model reports of every cell of a drift, again (pure and quick), for the maps the page draws. */
export function driftSides(r: DriftReport, deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>): Map<string, { from: Side; to: Side }> {
  return new Map(r.cells.map((c) => [c.key, { from: predictSide(c.argv, r.from.toolchain, deps), to: predictSide(c.argv, r.to.toolchain, deps) }]));
}

/** The machine's maps of --verify's boots of a cell, by cell key (CellResult.maps of `key@from` and `key@to`). */
export type BootedMaps = ReadonlyMap<string, { from?: RecordedMaps; to?: RecordedMaps }>;

function machineMaps(m: RecordedMaps | undefined): MapsJson | null {
  if (m === undefined) return null;
  const out: MapsJson = {};
  for (const { layer } of LAYERS) {
    const x = m.machine[layer];
    if (x !== undefined) (out as Record<string, unknown>)[layer] = x === 'same' ? m.model[layer] : x;
  }
  return out;
}

/** The booted maps of a cell, the `from` boot's in the first column and the `to` boot's in the second. */
export function bootedLayers(from: RecordedMaps | undefined, to: RecordedMaps | undefined): LayerMaps[] {
  const a = machineMaps(from);
  const b = machineMaps(to);
  return LAYERS.map(({ layer, title }) => {
    const model = a ? entriesOf(layer, a) : null;
    const machine = b ? entriesOf(layer, b) : null;
    return { layer, title, model, machine, ...(model === null ? { modelNote: 'not observed' } : {}), ...(machine === null ? { machineNote: 'not observed' } : {}) };
  });
}

/**
 * Column names: the parts of the two toolchain labels that differ (`seabios-1.16.2` beside
 * `seabios-1.16.3`; the first of several, `qemu-5.2+…`), which fit a map's column where the whole
 * labels would be cut to the same text. The page's legend names both toolchains in full.
 */
export function columnLabels(from: string, to: string): { model: string; machine: string } {
  const a = from.split('+');
  const b = to.split('+');
  const differ = a.map((_, i) => i).filter((i) => a[i] !== b[i]);
  if (a.length !== b.length || differ.length === 0) return a.length !== b.length ? { model: from, machine: to } : { model: 'from', machine: 'to' };
  const name = (parts: string[]) => {
    const all = differ.map((i) => parts[i]).join('+');
    return all.length <= 14 || differ.length === 1 ? all : `${parts[differ[0]!]}+…`;
  };
  return { model: name(a), machine: name(b) };
}

export function renderDriftHtml(r: DriftReport, sides: ReadonlyMap<string, { from: Side; to: Side }>, booted: BootedMaps = new Map()): string {
  const labels = columnLabels(r.from.label, r.to.label);
  const s = r.summary;
  const bootedSection = (key: string): string => {
    const b = booted.get(key);
    if (b === undefined) return '';
    const layers = bootedLayers(b.from, b.to);
    const dis = disagreementsOf(layers);
    return (
      `<h4>Booted (--verify): the machine's maps under each toolchain</h4><div class="svgwrap booted">${renderMapSvg(layers, { sideLabels: labels })}</div>` +
      (dis.length ? `<ul class="dis">${dis.map((d) => `<li><b>${e(d.layer)}</b> booted, only under ${e(d.side === 'model only' ? r.from.label : r.to.label)}: <code>${e(entryText(d.entry))}</code></li>`).join('')}</ul>` : '<p class="muted">the booted maps are the same under both toolchains</p>')
    );
  };
  const sections = r.cells.map((c, i) => {
    const side = sides.get(c.key);
    const layers = side ? driftLayers(side.from, side.to) : [];
    const dis = disagreementsOf(layers);
    const diffs = c.fields.filter((f) => f.diff).map((f) => `<pre class="diff">${colourDiff(f.diff!)}</pre>`);
    const first = c.first ? `${c.first.layer} layer — ${c.first.summary}` : c.reason ?? '';
    const meta = [
      ['cell', c.key],
      ['argv', shellLine(c.argv)],
      ['drift', c.outcome],
      ...(first ? [[c.outcome === 'unpredictable' ? 'why' : 'first change', first]] : []),
      ...(c.notes.length ? [['notes', c.notes.join('; ')]] : []),
    ];
    return (
      `<details class="cell" id="cell-${i}" data-outcome="${e(c.outcome)}" data-matrix="${e(c.matrix)}" data-text="${e(`${c.key} ${c.argv.join(' ')}`.toLowerCase())}"${c.outcome === 'changed' && i < 50 ? ' open' : ''}>` +
      `<summary><span class="o o-${c.outcome === 'changed' ? 'fail' : c.outcome === 'unchanged' ? 'pass' : 'error'}">${e(c.outcome.toUpperCase())}</span><span class="key">${e(c.key)}</span><span class="tc"></span><span class="cnt"></span><span class="t"></span><span class="hist"></span><span class="why">${e(first.slice(0, 160))}</span></summary>` +
      `<div class="body"><table class="meta">${meta.map(([a, b]) => `<tr><th>${e(a!)}</th><td><code>${e(b!)}</code></td></tr>`).join('')}</table>` +
      (layers.some((l) => l.model !== null || l.machine !== null) ? `<div class="svgwrap">${renderMapSvg(layers, { sideLabels: labels })}</div>` : '<p class="muted">no map under either toolchain</p>') +
      (dis.length ? `<h4>Entries that drift (${dis.length})</h4><ul class="dis">${dis.map((d) => `<li><b>${e(d.layer)}</b> only under ${e(d.side === 'model only' ? r.from.label : r.to.label)}: <code>${e(entryText(d.entry))}</code></li>`).join('')}</ul>` : '') +
      bootedSection(c.key) +
      diffs.join('') +
      '</div></details>'
    );
  });
  const legend = (Object.entries(KIND_COLOURS) as Array<[MapKind, string]>).map(([k, col]) => `<span style="background:${col}">${k}</span>`).join('') + '<span style="border:2.5px solid #d00">drifts</span>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${e(`e820 drift ${r.from.label} → ${r.to.label}`)}</title><style>${CSS}</style></head><body>
<h1>e820 drift: <code>${e(r.from.label)}</code> → <code>${e(r.to.label)}</code></h1>
<p>the model's maps under each toolchain (${e(r.from.spec)} → ${e(r.to.spec)}); matrices: ${r.matrices.map((m) => `<code>${e(m)}</code>`).join(', ')}</p>
<p><span class="pill o-fail">${s.changed} changed</span><span class="pill o-pass">${s.unchanged} unchanged</span><span class="pill o-error">${s.unpredictable} unpredictable</span> of ${s.cells} cells; first change at qemu ${s.byFirstLayer.qemu}, firmware ${s.byFirstLayer.firmware}, kernel ${s.byFirstLayer.kernel}; refused only under ${e(r.from.label)}: ${s.refusedFromOnly}, only under ${e(r.to.label)}: ${s.refusedToOnly}, under both: ${s.refusedBoth}</p>
<h2>Cells</h2>
<p class="legend">${legend} — each map: the <code>${e(r.from.label)}</code> toolchain's entries beside the <code>${e(r.to.label)}</code> toolchain's on one broken address axis, as in report.html.</p>
<div class="filters">drift <select id="f-outcome"><option value="">all</option>${options(r.cells.map((c) => c.outcome))}</select>
matrix <select id="f-matrix"><option value="">all</option>${options(r.cells.map((c) => c.matrix))}</select>
text <input id="f-text" type="search" placeholder="cell id or argv"> <span id="shown"></span></div>
${sections.join('\n')}
<script>${JS}</script>
</body></html>
`;
}
