// report.html: one self-contained file (inline CSS, SVG and a little JS; nothing fetched, opens
// from disk) with a run's summary, a filterable table of its cells and, per cell, its argv,
// verdict, first diverging layer and the memory maps of every layer, model beside machine
// (harness/report/map-svg.ts). Pure: results.json's content in, a string out. Everything that
// came from outside (argv, messages, versions, paths) is escaped before it is put in the markup.

import type { CellResult } from '../matrix/runner.ts';
import type { DisagreementSummary } from '../matrix/disagreements.ts';
import { cellLayers, type CellLike } from './cell-maps.ts';
import { disagreementsOf, entryText, escapeHtml, KIND_COLOURS, renderMapSvg, type LayerMaps, type MapKind } from './map-svg.ts';
import { binaryChanges, historyKey, type HistoryRow } from './history.ts';
import type { BinaryRecord, BootBinaries } from '../binaries.ts';

/** The part of results.json (harness/matrix/reporters.ts resultsJson) the report reads. */
export interface ResultsLike {
  startedAt?: string;
  matrices?: string[];
  shard?: { index: number; count: number } | null;
  /** Shards merged into this file (harness/report/merge.ts). */
  merged?: Array<{ dir: string; shard: { index: number; count: number } | null; startedAt?: string; wallMs?: number }>;
  command?: string[];
  finished?: boolean;
  interrupted?: boolean;
  wallMs?: number;
  cellsPerMinute?: number | null;
  model?: { commit: string | null; dirty: boolean } | null;
  host?: { cpus?: number; node?: string };
  totals?: { cells: number; pass: number; fail: number; error: number; notRun: number };
  disagreements?: DisagreementSummary;
  cells: Array<Partial<CellResult> & CellLike & { key: string; matrix: string; toolchainLabel: string }>;
}

const e = escapeHtml;

/** A shell-quoted argv line (for reading and pasting; it is escaped again for HTML by the caller). */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return n < 1000 ? `${n} ms` : n < 120_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
}

type Cell = ResultsLike['cells'][number];

function firstDivergence(c: Cell): string {
  const v = c.verdict;
  if (!v) return '';
  if (v.outcome === 'fail' && v.first) return `${(v.first as { layer?: string }).layer ?? ''} layer — ${(v.first as { field: string; summary?: string }).summary ?? v.first.field}`;
  if (v.outcome === 'error' && v.error) return `${v.error.kind}: ${v.error.message.split('\n')[0] ?? ''}`;
  return '';
}

function counts(c: Cell): { compared: number; excludedByRule: number } | null {
  const k = (c.verdict as { counts?: { compared: number; excludedByRule: number } } | null)?.counts;
  return k ?? null;
}

/** Records of a cell shown in its section (the newest last); the summary row shows their verdicts as dots. */
export const HISTORY_SHOWN = 10;

function historyDots(rows: readonly HistoryRow[]): string {
  return rows.map((h) => `<i class="d o-${e(h.outcome)}" title="${e(`${h.at} ${h.outcome.toUpperCase()}`)}"></i>`).join('');
}

/** The cell's recent history: one row per record, what changed since the one before. */
function historyTable(rows: readonly HistoryRow[]): string {
  if (rows.length === 0) return '';
  const body = rows.map((h, i) => {
    const p = i > 0 ? rows[i - 1]! : null;
    const changed: string[] = [];
    if (p !== null) {
      if (p.outcome !== h.outcome) changed.push(`verdict ${p.outcome.toUpperCase()} → ${h.outcome.toUpperCase()}`);
      if (p.observedHash !== null && h.observedHash !== null && p.observedHash !== h.observedHash) changed.push('observed map changed');
      const b = binaryChanges(p.binaries, h.binaries);
      if (b.length > 0) changed.push(`binaries: ${b.join(', ')}`);
      if (p.model !== h.model) changed.push(`model ${p.model ?? '?'} → ${h.model ?? '?'}`);
    }
    return `<tr class="h-${e(h.outcome)}"><td>${e(h.at)}</td><td><span class="o o-${e(h.outcome)}">${e(h.outcome.toUpperCase())}</span></td><td>${e(h.firstField ?? '')}</td><td><code>${e(h.observedHash ?? '–')}</code></td><td><code>${e(h.model ?? '?')}</code></td><td>${e(changed.join('; '))}</td></tr>`;
  });
  return `<h4>Recent history (${rows.length} run${rows.length === 1 ? '' : 's'}, newest last)</h4><table class="history"><tr><th>at</th><th>verdict</th><th>first field</th><th>observed maps</th><th>model</th><th>changed since the run before</th></tr>${body.join('')}</table>`;
}

/** `qemu 1493008ba003 (qemu-system-x86 1:7.2+dfsg-7+deb12u18+b3); bios …`: what booted, as the history keys it. */
function binariesText(b: BootBinaries): string {
  return (Object.entries(b) as Array<[string, BinaryRecord | null]>)
    .filter((x): x is [string, BinaryRecord] => x[1] !== null)
    .map(([name, r]) => `${name} ${r.sha256 ? `sha256 ${r.sha256.slice(0, 16)}` : `not hashed (${r.note ?? '?'})`}${r.package ? ` (${r.package})` : ''} ${r.path}`)
    .join('\n');
}

function cellSection(c: Cell, idx: number, history: readonly HistoryRow[]): string {
  const layers = cellLayers(c);
  const dis = disagreementsOf(layers);
  const v = c.verdict;
  const k = counts(c);
  const rows: string[] = [];
  for (const f of v?.fields ?? []) {
    rows.push(
      `<tr class="f-${e(f.status)}"><td>${e(f.field)}</td><td>${e(f.status)}</td><td>${f.expected ?? '–'}</td><td>${f.observed ?? '–'}</td><td>${f.compared}</td><td>${f.excludedByRule}</td><td>${e(f.summary ?? f.reason ?? '')}</td></tr>`,
    );
  }
  const diffs = (v?.fields ?? []).filter((f) => f.diff).map((f) => `<pre class="diff">${colourDiff(f.diff!)}</pre>`);
  const error = v?.outcome === 'error' && v.error ? `<pre class="error">${e(`${v.error.kind}: ${v.error.message}`)}</pre>` : '';
  const versions = c.versions ? Object.entries(c.versions).filter(([, val]) => val !== null).map(([key, val]) => `${key}: ${String(val)}`) : [];
  const meta = [
    ['cell', c.key],
    ['toolchain', c.toolchainLabel],
    ...(c.note ? [['note', c.note]] : []),
    ['argv', shellLine(c.argv)],
    ...(c.qemuArgv ? [['QEMU ran', shellLine(c.qemuArgv)]] : []),
    ['verdict', `${c.outcome.toUpperCase()}${k ? ` — ${k.compared} lines compared, ${k.excludedByRule} excluded by rule` : ''}`],
    ...(firstDivergence(c) ? [[v?.outcome === 'error' ? 'error' : 'first divergence', firstDivergence(c)]] : []),
    ...(versions.length ? [['detected', versions.join('; ')]] : []),
    ...((c.provenance ?? []).length ? [['profiles', (c.provenance ?? []).join('; ')]] : []),
    ...(c.binaries ? [['binaries', binariesText(c.binaries)]] : []),
    ...(c.expect ? [['expect', `${(c.expect as { file: string }).file}: ${((c.expect as { changes: string[] }).changes ?? []).join('; ')}`]] : []),
    ...(c.scope && c.scope.scope !== 'full' ? [['scope', `${c.scope.scope}${c.scope.reason ? `: ${c.scope.reason}` : ''}`]] : []),
    ...(c.retried ? [['retried', c.retried.reason]] : []),
    ...((c.warnings ?? []).length ? [['warnings', (c.warnings ?? []).join('; ')]] : []),
    ...(c.logsDir ? [['logs', c.logsDir]] : []),
  ];
  const disList = dis.length
    ? `<h4>Disagreeing entries (${dis.length})</h4><ul class="dis">${dis.map((d) => `<li><b>${e(d.layer)}</b> ${e(d.side)}: <code>${e(entryText(d.entry))}</code></li>`).join('')}</ul>`
    : '';
  const drawn = layers.some((l) => l.model !== null || l.machine !== null);
  return (
    `<details class="cell" id="cell-${idx}" data-outcome="${e(c.outcome)}" data-matrix="${e(c.matrix)}" data-toolchain="${e(c.toolchainLabel)}" data-text="${e(`${c.key} ${c.argv.join(' ')} ${c.note ?? ''}`.toLowerCase())}"${c.outcome === 'fail' ? ' open' : ''}>` +
    `<summary><span class="o o-${e(c.outcome)}">${e(c.outcome.toUpperCase())}</span><span class="key">${e(c.key)}</span><span class="tc">${e(c.toolchainLabel)}</span>` +
    `<span class="cnt">${k ? `${k.compared}/${k.excludedByRule}` : ''}</span><span class="t">${ms(c.timings?.totalMs)}</span><span class="hist">${historyDots(history)}</span><span class="why">${e(firstDivergence(c).slice(0, 160))}</span></summary>` +
    `<div class="body"><table class="meta">${meta.map(([a, b]) => `<tr><th>${e(a!)}</th><td><code>${e(b!)}</code></td></tr>`).join('')}</table>` +
    error +
    (drawn ? `<div class="svgwrap">${renderMapSvg(layers)}</div>${notes(layers)}` : '<p class="muted">no map to draw for this cell</p>') +
    disList +
    historyTable(history) +
    (rows.length ? `<table class="fields"><tr><th>field</th><th>status</th><th>model</th><th>machine</th><th>compared</th><th>excl. by rule</th><th>note</th></tr>${rows.join('')}</table>` : '') +
    diffs.join('') +
    '</div></details>'
  );
}

function notes(layers: readonly LayerMaps[]): string {
  const n = layers.flatMap((l) => [
    ...(l.model === null && l.modelNote ? [`${l.layer} model: ${l.modelNote}`] : []),
    ...(l.machine === null && l.machineNote ? [`${l.layer} machine: ${l.machineNote}`] : []),
  ]);
  return n.length ? `<ul class="notes">${n.map((t) => `<li>${e(t)}</li>`).join('')}</ul>` : '';
}

export function colourDiff(diff: string): string {
  return diff
    .split('\n')
    .map((l) => (l.startsWith('-') ? `<span class="del">${e(l)}</span>` : l.startsWith('+') ? `<span class="add">${e(l)}</span>` : e(l)))
    .join('\n');
}

function totalsOf(cells: readonly Cell[]): { cells: number; pass: number; fail: number; error: number; notRun: number } {
  const t = { cells: cells.length, pass: 0, fail: 0, error: 0, notRun: 0 };
  for (const c of cells) {
    if (c.outcome === 'pass') t.pass++;
    else if (c.outcome === 'fail') t.fail++;
    else if (c.outcome === 'error') t.error++;
    else t.notRun++;
  }
  return t;
}

function toolchainTable(cells: readonly Cell[]): string {
  const by = new Map<string, Cell[]>();
  for (const c of cells) by.set(c.toolchainLabel, [...(by.get(c.toolchainLabel) ?? []), c]);
  const rows = [...by].map(([label, cs]) => {
    const t = totalsOf(cs);
    const detected = new Map<string, Set<string>>();
    for (const c of cs) for (const [key, val] of Object.entries(c.versions ?? {})) if (val !== null && val !== undefined) detected.set(key, (detected.get(key) ?? new Set()).add(String(val)));
    const prov = [...new Set(cs.flatMap((c) => c.provenance ?? []))];
    return (
      `<tr><td><code>${e(label)}</code></td><td>${t.cells}</td><td>${t.pass}</td><td>${t.fail}</td><td>${t.error}</td>` +
      `<td>${[...detected].map(([key, vals]) => `${e(key)}: ${[...vals].map(e).join(' | ')}`).join('<br>') || '<span class="muted">none booted</span>'}</td>` +
      `<td>${prov.map(e).join('<br>') || '<span class="muted">the stock profiles of these versions</span>'}</td></tr>`
    );
  });
  return `<table class="sum"><tr><th>toolchain</th><th>cells</th><th>pass</th><th>fail</th><th>error</th><th>detected versions</th><th>profiles</th></tr>${rows.join('')}</table>`;
}

function coverage(cells: readonly Cell[]): string {
  let compared = 0;
  let byRule = 0;
  let notPredicted = 0;
  let unobserved = 0;
  let excluded = 0;
  for (const c of cells) {
    const k = (c.verdict as { counts?: { compared: number; excludedByRule: number; notPredicted?: unknown[]; unobserved?: unknown[]; excluded?: unknown[] } } | null)?.counts;
    if (!k) continue;
    compared += k.compared;
    byRule += k.excludedByRule;
    notPredicted += k.notPredicted?.length ?? 0;
    unobserved += k.unobserved?.length ?? 0;
    excluded += k.excluded?.length ?? 0;
  }
  return `<p>${compared} observed lines/entries compared; ${byRule} excluded by the documented iomem rule; fields not predicted: ${notPredicted}; not observed: ${unobserved}; left out by scope: ${excluded}.</p>`;
}

function timings(r: ResultsLike, cells: readonly Cell[]): string {
  const times = cells.map((c) => c.timings?.totalMs ?? 0).filter((t) => t > 0).sort((a, b) => a - b);
  const sum = times.reduce((s, t) => s + t, 0);
  const slow = [...cells].sort((a, b) => (b.timings?.totalMs ?? 0) - (a.timings?.totalMs ?? 0)).slice(0, 5).filter((c) => (c.timings?.totalMs ?? 0) > 0);
  return (
    `<p>wall ${ms(r.wallMs)}${r.cellsPerMinute ? `, ${r.cellsPerMinute} cells/min` : ''}; cell time summed ${ms(sum)}, median ${ms(times[Math.floor(times.length / 2)] ?? null)}, longest ${ms(times[times.length - 1] ?? null)}.</p>` +
    (slow.length ? `<p>slowest: ${slow.map((c) => `<code>${e(c.key)}</code> ${ms(c.timings?.totalMs)}`).join(', ')}</p>` : '')
  );
}

/** More groups than this start folded, so the cells stay near the top of the page. */
const GROUPS_OPEN = 6;

function groups(d: DisagreementSummary | undefined): string {
  if (!d || d.groups.length === 0) return '';
  return `<h2>Disagreements by layer and change</h2><details class="groups"${d.groups.length <= GROUPS_OPEN ? ' open' : ''}><summary>${d.groups.length} group${d.groups.length === 1 ? '' : 's'} of disagreeing lines, the most shared first</summary><ul class="groups">${d.groups
    .map((g) => `<li><b>${e(g.field)}</b>: ${e(g.change)} — in ${g.cells.length} of ${d.cells} cells (${g.cells.slice(0, 8).map(e).join(', ')}${g.cells.length > 8 ? ', …' : ''})</li>`)
    .join('')}</ul></details>`;
}

export const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.2em 0 .4em}h4{margin:.6em 0 .2em}
code,pre{font-family:ui-monospace,monospace;font-size:12px}pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:28em}
.muted{color:#888}.pill{display:inline-block;padding:.15em .6em;border-radius:1em;margin-right:.4em;font-weight:600}
.o-pass{background:#d7f0d7}.o-fail{background:#f6caca}.o-error{background:#f8e0a8}.o-not-run{background:#e4e4e4}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .45em;text-align:left;vertical-align:top}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ccc;z-index:2}
.filters select,.filters input{margin-right:.6em}
details.cell{border-bottom:1px solid #e4e4e4}details.cell>summary{cursor:pointer;display:grid;grid-template-columns:5em 24em 18em 5em 5em 8em 1fr;gap:.4em;padding:.25em 0;list-style:none}
summary .o{text-align:center;border-radius:.3em;font-size:12px;font-weight:600}summary .key{font-family:ui-monospace,monospace;font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
summary .tc,summary .cnt,summary .t{font-size:12px;color:#555}summary .why{font-size:12px;color:#a00;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.body{padding:.4em 0 1em 1em}.meta th{background:#fafafa;white-space:nowrap}.meta code{white-space:pre-wrap;word-break:break-all}
.svgwrap{overflow-x:auto;margin:.5em 0}.del{color:#b00}.add{color:#070}.dis li{color:#a00}.f-differ td{background:#fde8e8}
.legend span{display:inline-block;padding:0 .5em;margin-right:.3em;border:1px solid #555;font-size:12px}
details.groups>summary{cursor:pointer}.hist i.d{display:inline-block;width:.6em;height:.9em;margin-right:1px;border-radius:2px}table.history td{font-size:12px}
`;

/** The cell filters: each of #f-outcome, #f-matrix, #f-toolchain, #f-text that the page has. */
export const JS = `
(function(){
  var f={outcome:document.getElementById('f-outcome'),matrix:document.getElementById('f-matrix'),toolchain:document.getElementById('f-toolchain'),text:document.getElementById('f-text')};
  var cells=document.querySelectorAll('details.cell'),shown=document.getElementById('shown');
  function v(x){return x?x.value:'';}
  function apply(){
    var o=v(f.outcome),m=v(f.matrix),t=v(f.toolchain),q=v(f.text).toLowerCase().trim(),n=0;
    for(var i=0;i<cells.length;i++){var c=cells[i];
      var ok=(!o||c.dataset.outcome===o)&&(!m||c.dataset.matrix===m)&&(!t||c.dataset.toolchain===t)&&(!q||c.dataset.text.indexOf(q)>=0);
      c.hidden=!ok;if(ok)n++;}
    shown.textContent=n+' of '+cells.length+' cells shown';
  }
  for(var k in f)if(f[k])f[k].addEventListener('input',apply);
  apply();
})();
`;

export function options(values: Iterable<string>): string {
  return [...new Set(values)].sort().map((v) => `<option value="${e(v)}">${e(v)}</option>`).join('');
}

export interface ReportOptions {
  /** Heading, e.g. the results directory. */
  title?: string;
  /** Each cell's recent records from the history database (harness/report/history.ts recentHistory), by historyKey. */
  history?: ReadonlyMap<string, readonly HistoryRow[]>;
  /** Where the history was read from, said in the report. */
  historySource?: string;
}

/** The whole report.html for one results.json (or a merged one). */
export function renderReport(r: ResultsLike, opts: ReportOptions = {}): string {
  const cells = r.cells;
  const t = totalsOf(cells);
  const legend = (Object.entries(KIND_COLOURS) as Array<[MapKind, string]>).map(([k, c]) => `<span style="background:${c}">${k}</span>`).join('') + '<span style="border:2.5px solid #d00">differs</span>';
  const model = r.model ? `${r.model.commit ?? 'unknown'}${r.model.dirty ? ' (with uncommitted changes to reference/)' : ''}` : 'not recorded';
  const merged = r.merged?.length ? `<p>merged from ${r.merged.length} runs: ${r.merged.map((m) => `<code>${e(m.dir)}</code>${m.shard ? ` (shard ${m.shard.index}/${m.shard.count})` : ''}`).join(', ')}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${e(`e820 report — ${opts.title ?? r.startedAt ?? ''}`)}</title><style>${CSS}</style></head><body>
<h1>e820 conformance report</h1>
<p>${e(opts.title ?? '')} — started ${e(r.startedAt ?? '?')}; matrices: ${(r.matrices ?? []).map((m) => `<code>${e(m)}</code>`).join(', ')}${r.shard ? `; shard ${r.shard.index}/${r.shard.count}` : ''}; model ${e(model)}${r.finished === false ? ' — <b>run not finished</b>' : ''}${r.interrupted ? ' — <b>INTERRUPTED</b>' : ''}</p>
${r.command?.length ? `<p>command: <code>e820 ${e(shellLine(r.command))}</code></p>` : ''}
${merged}
<p><span class="pill o-pass">${t.pass} pass</span><span class="pill o-fail">${t.fail} fail</span><span class="pill o-error">${t.error} error</span>${t.notRun ? `<span class="pill o-not-run">${t.notRun} not run</span>` : ''} of ${t.cells} cells</p>
<h2>Toolchains</h2>${toolchainTable(cells)}
<h2>Coverage</h2>${coverage(cells)}
<h2>Timings</h2>${timings(r, cells)}
${groups(r.disagreements)}
<h2>Cells</h2>
${opts.historySource !== undefined ? `<p>history: <code>${e(opts.historySource)}</code> — the dots beside each cell are its last ${HISTORY_SHOWN} recorded verdicts, oldest first; each cell lists what changed from run to run.</p>` : ''}
<p class="legend">${legend} — each map: the model's entries beside the machine's on one broken address axis (each span's height grows with log2 of its size; ≈ marks an empty span cut short; dashed red lines at 1 MiB and 4 GiB).</p>
<div class="filters">outcome <select id="f-outcome"><option value="">all</option>${options(cells.map((c) => c.outcome))}</select>
matrix <select id="f-matrix"><option value="">all</option>${options(cells.map((c) => c.matrix))}</select>
toolchain <select id="f-toolchain"><option value="">all</option>${options(cells.map((c) => c.toolchainLabel))}</select>
text <input id="f-text" type="search" placeholder="cell id or argv"> <span id="shown"></span></div>
${cells.map((c, i) => cellSection(c, i, (opts.history?.get(historyKey(c.key, c.toolchainLabel)) ?? []).slice(-HISTORY_SHOWN))).join('\n')}
<script>${JS}</script>
</body></html>
`;
}

/** `e820 predict --html`: one configuration's predicted layers. */
export function renderPredictionHtml(argv: readonly string[], toolchainLabel: string, layers: readonly LayerMaps[]): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(`e820 predict ${shellLine(argv)}`)}</title><style>${CSS}</style></head><body>
<h1>e820 prediction</h1>
<table class="meta"><tr><th>argv</th><td><code>${e(shellLine(argv))}</code></td></tr><tr><th>toolchain</th><td><code>${e(toolchainLabel)}</code></td></tr></table>
<p class="legend">${(Object.entries(KIND_COLOURS) as Array<[MapKind, string]>).map(([k, c]) => `<span style="background:${c}">${k}</span>`).join('')}</p>
<div class="svgwrap">${renderMapSvg(layers, { modelOnly: true })}</div>
${notes(layers.map((l) => ({ ...l, machine: [] })))}
${layers.map((l) => (l.model ? `<h4>${e(`${l.layer}: ${l.title}`)}</h4><pre>${l.model.map((x) => e(entryText(x))).join('\n')}</pre>` : '')).join('')}
</body></html>
`;
}
