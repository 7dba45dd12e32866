// `e820 drift --html`: the two toolchains' maps drawn the way report.html draws model and machine.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { driftCommand } from '../../harness/cli/commands/drift.ts';
import { fakeDeps } from '../matrix-unit/fakes.ts';
import { columnLabels, driftLayers } from '../../harness/report/drift-html.ts';
import { renderMapSvg } from '../../harness/report/map-svg.ts';
import { bullseyeToBookworm } from './drift-fixture.ts';

describe('drift --html', () => {
  test('each cell: one SVG with the from toolchain beside the to toolchain, the drifting entry outlined on every layer and listed', () => {
    const { report, sides, html } = bullseyeToBookworm();
    // Columns named by what differs: the first of QEMU, SeaBIOS and Linux here.
    const { model: from, machine: to } = columnLabels(report.from.label, report.to.label);
    expect([from, to]).toEqual(['qemu-5.2+…', 'qemu-7.2+…']);
    expect(columnLabels('qemu-7.2+seabios-1.16.2+linux-6.1', 'qemu-7.2+seabios-1.16.3+linux-6.1')).toEqual({ model: 'seabios-1.16.2', machine: 'seabios-1.16.3' });
    expect(columnLabels('qemu-7.2+seabios-1.16.2+linux-6.1', 'qemu-7.2+seabios-1.16.2+linux-6.1')).toEqual({ model: 'from', machine: 'to' });
    expect(report.cells.map((c) => c.outcome)).toEqual(['changed', 'changed']);
    const cell = html.slice(html.indexOf('id="cell-0"'), html.indexOf('id="cell-1"'));
    expect(cell.match(/<svg /g)).toHaveLength(1);
    for (const layer of ['qemu', 'firmware', 'kernel']) {
      expect(cell).toContain(`class="entry kind-reserved diff"><title>${layer} ${to}: 0xfd00000000-0xffffffffff (12 GiB) ${layer === 'kernel' ? 'Reserved' : '2 reserved'} — ${to} only</title>`);
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

describe('drift --verify --html', () => {
  test("each booted cell also shows the machine's maps under both toolchains, drawn the same way", async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = await mkdtemp(join(tmpdir(), 'e820-drift-html-'));
    try {
      await writeFile(join(dir, 'two.yaml'), 'cells:\n  - id: pc-1G\n    qemu: -M pc -m 1G\n  - id: pc-2G\n    qemu: -M pc -m 2G\n');
      // Fake boots: the same machine map whatever the toolchain, so the booted maps do not drift.
      const code = await driftCommand([join(dir, 'two.yaml')], { from: 'bullseye', to: 'bookworm', verify: true, jobs: '1', plain: true, html: join(dir, 'drift.html') }, fakeDeps());
      expect(code).toBe(1);
      const html = await readFile(join(dir, 'drift.html'), 'utf8');
      const cell = html.slice(html.indexOf('id="cell-0"'), html.indexOf('id="cell-1"'));
      expect(cell.match(/<svg /g)).toHaveLength(2);
      expect(cell).toContain("<h4>Booted (--verify): the machine's maps under each toolchain</h4>");
      expect(cell).toContain('the booted maps are the same under both toolchains');
      const booted = cell.slice(cell.indexOf('class="svgwrap booted"'));
      expect(booted).toContain('<title>firmware qemu-5.2+…: 0x0-0x9fbff');
      expect(booted).toContain('<title>firmware qemu-7.2+…: 0x0-0x9fbff');
    } finally {
      out.mockRestore();
      err.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
