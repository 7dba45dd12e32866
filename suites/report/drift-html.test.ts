// `e820 drift --html`: the two toolchains' maps drawn the way report.html draws model and machine.
import { describe, expect, test } from 'vitest';
import { driftLayers } from '../../harness/report/drift-html.ts';
import { renderMapSvg } from '../../harness/report/map-svg.ts';
import { bullseyeToBookworm } from './drift-fixture.ts';

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
