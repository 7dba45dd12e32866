import { describe, expect, test } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { toolchainOf } from '../../reference/toolchain.ts';
import { predictedLayers } from '../../harness/report/cell-maps.ts';
import {
  axisPieces,
  disagreementsOf,
  escapeHtml,
  FOUR_GIB,
  GAP_HEIGHT,
  kindOf,
  MiB,
  MIN_HEIGHT,
  renderMapSvg,
  sizeText,
  yOf,
  type LayerMaps,
  type MapEntry,
} from '../../harness/report/map-svg.ts';

const entry = (start: bigint, end: bigint, type = '2 reserved'): MapEntry => ({ start, end, type, kind: kindOf(type) });

/** `-M q35 -m 6G` under QEMU 7.2: low 1 MiB pieces, the PCI hole's reservations, RAM above 4 GiB and the 1 TiB AMD hole. */
function q35Layers(): LayerMaps[] {
  const p = predict(parseQemuArgs(['-M', 'q35', '-m', '6G'], { qemuVersion: '7.2' }), toolchainOf({}));
  return predictedLayers(p.report, p.unpredicted).map((l) => ({ ...l, machine: l.model }));
}

describe('broken axis', () => {
  test('1 MiB and 4 GiB are piece boundaries; the three regions each have pieces', () => {
    const pieces = axisPieces(q35Layers().map((l) => l.model ?? []));
    expect(pieces.some((p) => p.start === MiB)).toBe(true);
    expect(pieces.some((p) => p.start === FOUR_GIB)).toBe(true);
    expect(new Set(pieces.map((p) => p.region))).toEqual(new Set(['low 1 MiB', 'below 4 GiB', 'above 4 GiB']));
  });

  test('monotonic, contiguous, and every covered span at least MIN_HEIGHT tall', () => {
    const pieces = axisPieces(q35Layers().map((l) => l.model ?? []));
    for (let i = 1; i < pieces.length; i++) {
      expect(pieces[i]!.start).toBe(pieces[i - 1]!.end);
      expect(pieces[i]!.y0).toBe(pieces[i - 1]!.y1);
    }
    for (const p of pieces) expect(p.y1 - p.y0).toBeGreaterThanOrEqual((p.gap ? GAP_HEIGHT : MIN_HEIGHT) - 1e-9);
  });

  test('an empty span is cut to GAP_HEIGHT however large: 1 TiB of map stays a few hundred px', () => {
    const pieces = axisPieces([[entry(0n, 0xa0000n, '1 RAM'), entry(0xfd00000000n, 0x10000000000n)]]);
    const gaps = pieces.filter((p) => p.gap);
    expect(gaps.length).toBeGreaterThan(0);
    for (const g of gaps) expect(g.y1 - g.y0).toBeCloseTo(GAP_HEIGHT, 5);
    expect(pieces.at(-1)!.y1).toBeLessThan(300);
    // The tiny SeaBIOS reservation at 0x9fc00 (1 KiB) and the 12 GiB reservation are both drawn taller than a sliver.
    const small = axisPieces([[entry(0n, 0x9fc00n, '1 RAM'), entry(0x9fc00n, 0xa0000n)]]).find((p) => p.start === 0x9fc00n)!;
    expect(small.y1 - small.y0).toBeGreaterThanOrEqual(MIN_HEIGHT);
  });

  test('yOf interpolates inside a piece and is monotonic', () => {
    const pieces = axisPieces([[entry(0n, 1n << 30n, '1 RAM')]]);
    const ys = [0n, 1n << 20n, 1n << 25n, 1n << 29n, 1n << 30n].map((a) => yOf(pieces, a));
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeGreaterThan(ys[i - 1]!);
  });
});

describe('renderMapSvg', () => {
  test('one group per entry of each side; a differing entry is highlighted on both sides, and only it', () => {
    const model = [entry(0n, 0x9fc00n, '1 RAM'), entry(0x9fc00n, 0xa0000n), entry(0x100000n, 0x40000000n, '1 RAM')];
    const machine = [entry(0n, 0x9fc00n, '1 RAM'), entry(0x9fc00n, 0xa0000n), entry(0x100000n, 0x3ff00000n, '1 RAM'), entry(0x3ff00000n, 0x40000000n)];
    const layers: LayerMaps[] = [{ layer: 'firmware', title: 'SeaBIOS E820 map', model, machine }];
    const svg = renderMapSvg(layers);
    expect(svg.match(/<g class="entry /g)?.length).toBe(model.length + machine.length);
    const diffs = [...svg.matchAll(/<g class="entry kind-(\w+) diff"><title>([^<]*)<\/title>/g)].map((m) => m[2]);
    expect(diffs).toEqual([
      'firmware model: 0x100000-0x3fffffff (1023 MiB) 1 RAM — model only',
      'firmware machine: 0x100000-0x3fefffff (1022 MiB) 1 RAM — machine only',
      'firmware machine: 0x3ff00000-0x3fffffff (1 MiB) 2 reserved — machine only',
    ]);
    expect(disagreementsOf(layers).map((d) => `${d.side} ${d.entry.start.toString(16)}`)).toEqual(['model only 100000', 'machine only 100000', 'machine only 3ff00000']);
  });

  test('identical sides: nothing highlighted', () => {
    const svg = renderMapSvg(q35Layers());
    expect(svg).not.toContain(' diff"');
    expect(svg).toContain('0xfd00000000');
  });

  test('a side that is not there is drawn as absent with its reason, escaped', () => {
    const svg = renderMapSvg([{ layer: 'kernel', title: 'memmap', model: [entry(0n, 0x1000n)], machine: null, machineNote: 'scope <firmware> & "kvm"' }]);
    expect(svg).toContain('<title>scope &lt;firmware&gt; &amp; &quot;kvm&quot;</title>');
    expect(svg).not.toContain('<firmware>');
  });
});

describe('escapeHtml', () => {
  test('markup, quotes and control characters', () => {
    expect(escapeHtml(`<script>alert('x')</script> & "q"`)).toBe('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;');
    expect(escapeHtml('a\u001b[31mb\u0000')).toBe('a\\x1b[31mb\\x00');
  });
});

test('sizeText', () => {
  expect(sizeText(0x9fc00n)).toBe('639 KiB');
  expect(sizeText(1n << 40n)).toBe('1 TiB');
  expect(sizeText(0x3fee0000n)).toBe('1022.87 MiB');
});
