// `int15:` in expect files and matrix `expect:` (a build whose INT 15h services fail), and matrix
// toolchains that name a patched SeaBIOS build and the minimal kernel (suites/matrix/fallback.yaml).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeIntent, ExpectFileError, parseExpect } from '../../harness/matrix/intent.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { expandRuns, loadMatrix, MatrixFileError, parseMatrix } from '../../harness/matrix/schema.ts';
import { isEmptyIntent } from '../../reference/intent.ts';

describe('int15: in an expect file', () => {
  it('lists the failing services in the order the kernel asks them, each once', () => {
    const i = parseExpect('int15:\n  fails: [e801, e820, e820]\n', 'x.yaml');
    expect(i.int15Fails).toEqual(['e820', 'e801']);
    expect(isEmptyIntent(i)).toBe(false);
    expect(describeIntent(i)).toEqual(['INT 15h E820 fails (firmware)', 'INT 15h E801 fails (firmware)']);
  });
  it('an empty list declares nothing', () => {
    const i = parseExpect('int15:\n  fails: []\n', 'x.yaml');
    expect(i.int15Fails).toBeUndefined();
    expect(isEmptyIntent(i)).toBe(true);
  });
  it('an unknown service is named with the file, the line and the field', () => {
    expect(() => parseExpect('int15:\n  fails: [e820, e8200]\n', 'x.yaml')).toThrow(ExpectFileError);
    expect(() => parseExpect('int15:\n  fails: [e820, e8200]\n', 'x.yaml')).toThrow(/x\.yaml:2: int15\.fails\[1\]: "e8200" is not an INT 15h memory service \(e820, e801, 88h\)/);
    expect(() => parseExpect('int15:\n  fail: [e820]\n', 'x.yaml')).toThrow(/unknown field\(s\) "fail"/);
  });
  it('the expect files kept beside the patches parse to what the patches do', () => {
    const dir = join(REPO_ROOT, 'guests', 'firmware-patches');
    expect(parseExpect(readText(join(dir, 'e820-fails.expect.yaml')), 'e820-fails.expect.yaml').int15Fails).toEqual(['e820']);
    expect(parseExpect(readText(join(dir, 'e820-e801-fail.expect.yaml')), 'e820-e801-fail.expect.yaml').int15Fails).toEqual(['e820', 'e801']);
  });
});

describe('matrix toolchains with seabios-patches and flavour', () => {
  const yaml = (tc: string) => `cells:\n  - id: a\n    qemu: -M pc -m 1G\n    toolchains: [${tc}]\n`;
  it('patches resolve against the matrix file, the flavour is the kernel flavour, both go into the run key', () => {
    const cells = parseMatrix(yaml('{ kernel: "6.1" }, { kernel: "6.1", flavour: minimal, seabios-patches: [p/x.patch] }'), '/m/dir/f.yaml');
    expect(cells[0]!.toolchains[1]).toEqual({ qemu: '7.2', seabios: '1.16.2', kernel: '6.1', kernelFlavour: 'minimal', seabiosPatches: ['/m/dir/p/x.patch'] });
    expect(expandRuns(cells).map((r) => r.key)).toEqual(['f/a', 'f/a@qemu-7.2+seabios-1.16.2+x+linux-6.1-minimal']);
  });
  it('the same versions with and without patches are two toolchains, the same twice is refused', () => {
    expect(() => parseMatrix(yaml('{ kernel: "6.1" }, { kernel: "6.1", seabios-patches: [x.patch] }'), 'f.yaml')).not.toThrow();
    expect(() => parseMatrix(yaml('{ kernel: "6.1", seabios-patches: [x.patch] }, { kernel: "6.1", seabios-patches: [x.patch] }'), 'f.yaml')).toThrow(MatrixFileError);
    expect(() => parseMatrix(yaml('{ kernel: "6.1", flavour: tiny }'), 'f.yaml')).toThrow(MatrixFileError);
  });
  it('suites/matrix/fallback.yaml: every patch it names exists, and each cell declares what its patch does', async () => {
    const cells = await loadMatrix(join(REPO_ROOT, 'suites', 'matrix', 'fallback.yaml'));
    for (const c of cells) {
      for (const t of c.toolchains) {
        for (const p of t.seabiosPatches ?? []) expect(readText(p).length, p).toBeGreaterThan(0);
        const patch = (t.seabiosPatches ?? []).join(' ');
        const fails = c.expect?.intent.int15Fails ?? [];
        if (patch.endsWith('e820-fails.patch')) expect(fails, c.id).toEqual(['e820']);
        else if (patch.endsWith('e820-e801-fail.patch')) expect(fails, c.id).toEqual(['e820', 'e801']);
        else throw new Error(`${c.id}: a toolchain without a fallback patch`);
      }
    }
  });
});

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

describe('--qemu/--seabios/--kernel on a matrix with patched SeaBIOS', () => {
  it('replace the versions and keep the cell\'s patches (its firmware, which its expect: declares)', () => {
    const cells = parseMatrix('cells:\n  - id: a\n    qemu: -M pc -m 1G\n    toolchains: [{ kernel: "6.1", seabios-patches: [x.patch] }]\n  - id: b\n    qemu: -M pc -m 1G\n', '/m/f.yaml');
    const runs = expandRuns(cells, { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' });
    expect(runs.map((r) => r.toolchain)).toEqual([
      { qemu: '11.1', seabios: '1.17.0', kernel: '7.2', seabiosPatches: ['/m/x.patch'] },
      { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' },
    ]);
  });
});
