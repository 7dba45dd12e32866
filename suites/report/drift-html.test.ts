// `e820 drift --html`: the two toolchains' maps drawn the way report.html draws model and machine.
import { describe, expect, test } from 'vitest';
import { modelDeps } from '../../harness/cli/commands/drift.ts';
import { driftCells, predictSide } from '../../harness/drift/drift.ts';
import { parseToolchainSpec } from '../../harness/drift/spec.ts';
import { parseMatrix } from '../../harness/matrix/schema.ts';
import { renderDriftHtml } from '../../harness/report/drift-html.ts';
import { renderMapSvg } from '../../harness/report/map-svg.ts';
import { driftLayers } from '../../harness/report/drift-html.ts';

const MATRIX = `cells:
  - id: pc-1G
    qemu: -M pc -m 1G
  - id: q35-2G
    qemu: -M q35 -m 2G
`;

/** QEMU 5.2 → 7.2: 7.1 added the AMD HyperTransport hole reservation at 0xfd00000000 (docs/versions.md). */
function bullseyeToBookworm() {
  const cells = parseMatrix(MATRIX, 'drift.yaml');
  const from = parseToolchainSpec('bullseye');
  const to = parseToolchainSpec('bookworm');
  const report = driftCells(cells, { spec: from.text, toolchain: from.toolchain }, { spec: to.text, toolchain: to.toolchain }, modelDeps);
  const sides = new Map(report.cells.map((c) => [c.key, { from: predictSide(c.argv, from.toolchain, modelDeps), to: predictSide(c.argv, to.toolchain, modelDeps) }]));
  return { report, sides, html: renderDriftHtml(report, sides) };
}

describe('drift --html', () => {
  test('each cell: one SVG with the from toolchain beside the to toolchain, the drifting entry outlined on every layer and listed', () => {
    const { report, sides, html } = bullseyeToBookworm();
    const from = report.from.label;
    const to = report.to.label;
    expect(report.cells.map((c) => c.outcome)).toEqual(['changed', 'changed']);
    const cell = html.slice(html.indexOf('id="cell-0"'), html.indexOf('id="cell-1"'));
    expect(cell.match(/<svg /g)).toHaveLength(1);
    for (const layer of ['qemu', 'firmware', 'kernel']) {
      expect(cell).toMatch(new RegExp(`class="entry kind-reserved diff"><title>${layer} ${to.replace(/[.+]/g, '\\$&')}: 0xfd00000000-0xffffffffff \\(12 GiB\\) [^<]+ — ${to.replace(/[.+]/g, '\\$&')} only</title>`));
    }
    // Only that entry drifts: three highlighted groups, all on the `to` side.
    expect(cell.match(/ diff"><title>/g)).toHaveLength(3);
    expect(cell).toContain(`<h4>Entries that drift (3)</h4>`);
    // The same drawing as report.html's, with the columns named after the toolchains.
    const s = sides.get('drift/pc-1G')!;
    expect(cell).toContain(renderMapSvg(driftLayers(s.from, s.to), { sideLabels: { model: from, machine: to } }));
    expect(cell).toContain('first change');
    expect(html).toContain("default-src 'none'");
  });
});
