// A firmware developer's question, asked for real: "my SeaBIOS patch reserves 1 MiB at
// 0x50000000 — does every layer see exactly that, and nothing else move?". The patch of
// examples/reserve-1m is built by `e820 firmware build` (Debian's seabios 1.16.2 source, cached),
// and `e820 run --bios IMAGE [--expect FILE]` boots it on a few baseline configurations:
// - with the example's expect file every cell passes (the model applied the declared change);
// - without it every cell fails at the firmware layer, and the diff holds the reserved MiB (and
//   the RAM entry it splits) and nothing else;
// - an expect file declaring another change fails, naming the layer and the absent entry.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../harness/matrix/paths.ts';
import type { CellResult } from '../harness/matrix/runner.ts';
import { buildFirmware } from '../harness/provision/firmware-build.ts';

const EXAMPLE = join(REPO_ROOT, 'examples', 'reserve-1m');
/** RAM below 0x50000000 (no split: the MiB lands in a hole), across it (a split), above 4 GiB, q35. */
const MATRIX = `cells:
  - id: pc-1G
    qemu: -M pc -m 1G
  - id: pc-2G
    qemu: -M pc -m 2G
  - id: pc-6G
    qemu: -M pc -m 6G
  - id: q35-2G
    qemu: -M q35 -m 2G
`;
const CELLS = ['pc-1G', 'pc-2G', 'pc-6G', 'q35-2G'];

let work: string;
let image: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'e820-custom-fw-'));
  writeFileSync(join(work, 'custom.yaml'), MATRIX);
  // Cold on a fresh machine (Debian's source through apt, ~1 min); cached afterwards.
  image = (await buildFirmware({ seabios: '1.16.2', variant: 'bios-256k', patches: [join(EXAMPLE, 'reserve.patch')], onProgress: (m) => process.stderr.write(`${m}\n`) })).path;
}, 20 * 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `e820 run` of the small matrix with the patched image; the parsed results.json. */
function run(name: string, extra: string[]): { status: number | null; cells: CellResult[]; out: string } {
  const results = join(work, name);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'e820.js'), 'run', join(work, 'custom.yaml'), '--plain', '--bios', image, '--results', results, ...extra], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  const json = JSON.parse(readFileSync(join(results, 'results.json'), 'utf8')) as { cells: CellResult[] };
  return { status: r.status, cells: json.cells, out: r.stdout + r.stderr };
}

describe('a patched SeaBIOS (examples/reserve-1m), booted', () => {
  test('with its expect file every cell passes: every layer shows the reserved MiB the model applied', () => {
    const r = run('with-expect', ['--expect', join(EXAMPLE, 'expect.yaml')]);
    expect(r.cells.map((c) => [c.id, c.outcome]), r.out).toEqual(CELLS.map((id) => [id, 'pass']));
    expect(r.status).toBe(0);
    for (const c of r.cells) {
      if (c.verdict?.outcome !== 'pass') continue;
      // Compared on the firmware and kernel layers, not skipped.
      expect(c.verdict.fields.filter((f) => f.status === 'match').map((f) => f.field)).toEqual(expect.arrayContaining(['firmware.e820', 'kernel.biosE820', 'kernel.memmap', 'kernel.iomem']));
    }
  }, 10 * 60_000);

  test('without it every cell fails at the firmware layer, and the diff is the reserved MiB and nothing else', () => {
    const r = run('without-expect', []);
    expect(r.status).toBe(1);
    for (const c of r.cells) {
      expect(c.outcome, c.id).toBe('fail');
      if (c.verdict?.outcome !== 'fail') continue;
      expect(c.verdict.first.field).toBe('firmware.e820');
      const changed = c.verdict.first.diff.split('\n').filter((l) => /^[-+] /.test(l));
      const added = changed.filter((l) => l.startsWith('+ '));
      const removed = changed.filter((l) => l.startsWith('- '));
      // The new entry is there…
      const reserved = '+ 0000000050000000 - 0000000050100000 = 2 RESERVED';
      expect(added, c.verdict.first.diff).toContain(reserved);
      // …and every other changed line is the RAM entry it splits (only where RAM crosses it).
      for (const l of changed.filter((x) => x !== reserved)) expect(l, c.verdict.first.diff).toMatch(/= 1 RAM$/);
      if (c.id === 'pc-1G') expect(removed, c.verdict.first.diff).toEqual([]);
      else expect(removed.length, c.verdict.first.diff).toBe(1);
    }
  }, 10 * 60_000);

  test('an expect file declaring another change fails, naming the layer and the entry that is absent', () => {
    const other = join(work, 'other.yaml');
    writeFileSync(other, 'firmware:\n  - add: { start: 0x60000000, size: 1M, type: reserved }\n');
    const r = run('other-expect', ['--expect', other]);
    expect(r.status).toBe(1);
    for (const c of r.cells) {
      expect(c.outcome, c.id).toBe('fail');
      if (c.verdict?.outcome !== 'fail') continue;
      expect(c.verdict.first.layer).toBe('firmware');
      expect(c.verdict.first.summary).toContain('declared but absent: add 0x60000000-0x600fffff reserved (firmware)');
    }
  }, 10 * 60_000);
});
