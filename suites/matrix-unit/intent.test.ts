// Declared intent in the harness: expect files and `expect:` in matrix files (every error with
// file, line and field), the judge's "declared but absent", and a run through the matrix runner
// with the real model and a fake machine that did (or did not) do what was declared.

import { describe, expect, test } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import type { DeclaredIntent } from '../../reference/intent.ts';
import { predict } from '../../reference/predict.ts';
import type { LayerReport } from '../../reference/report.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import { compareReports, formatVerdict } from '../../harness/matrix/compare.ts';
import { isE820IomemLine, type MatrixDeps, type PredictOptions } from '../../harness/matrix/deps.ts';
import { ExpectFileError, describeIntent, parseExpect } from '../../harness/matrix/intent.ts';
import { runMatrix } from '../../harness/matrix/runner.ts';
import { expandRuns, MatrixFileError, parseMatrix, withExpect } from '../../harness/matrix/schema.ts';
import { renderSnapshot } from '../../harness/matrix/snapshot.ts';

const EXPECT = `firmware:                        # SeaBIOS's map
  - add:    { start: 0x50000000, size: 1M, type: reserved }
  - remove: { start: 0x20000000, size: 2M }
qemu:
  - add:    { start: 0xfeff0000, size: 64K, type: reserved }
`;

function problems(text: string): string[] {
  try {
    parseExpect(text, 'expect.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ExpectFileError);
    return [...(err as ExpectFileError).problems];
  }
  throw new Error('parsed');
}

describe('expect files', () => {
  test('the documented example', () => {
    const intent = parseExpect(EXPECT, 'expect.yaml');
    expect(intent).toEqual({
      firmware: [
        { op: 'add', start: 0x50000000n, size: 0x100000n, type: 2 },
        { op: 'remove', start: 0x20000000n, size: 0x200000n },
      ],
      qemu: [{ op: 'add', start: 0xfeff0000n, size: 0x10000n, type: 2 }],
    });
    expect(describeIntent(intent)).toEqual([
      'add 0xfeff0000-0xfeffffff reserved (qemu)',
      'add 0x50000000-0x500fffff reserved (firmware)',
      'remove 0x20000000-0x201fffff (firmware)',
    ]);
  });

  test('sizes as QEMU reads them, starts in hex or decimal, types by any printed name or number', () => {
    const intent = parseExpect(
      `firmware:
  - add: { start: 1342177280, size: 1.5M, type: ACPI NVS }
  - add: { start: "0x100000000", size: 0x1000, type: persistent (type 12) }
  - add: { start: 0x60000000, size: 4096, type: 5 }
  - add: { start: 0x70000000, size: 2g, type: usable }
  - add: { start: 0xffffffff00000000, size: 1k, type: "0xc" }
`,
      'e.yaml',
    );
    expect(intent.firmware).toEqual([
      { op: 'add', start: 0x50000000n, size: 0x180000n, type: 4 },
      { op: 'add', start: 0x100000000n, size: 0x1000n, type: 12 },
      { op: 'add', start: 0x60000000n, size: 4096n, type: 5 },
      { op: 'add', start: 0x70000000n, size: 0x80000000n, type: 1 },
      { op: 'add', start: 0xffffffff00000000n, size: 1024n, type: 12 },
    ]);
    expect(parseExpect('', 'empty.yaml')).toEqual({ firmware: [], qemu: [] });
  });

  test('every error names file, line and field', () => {
    expect(problems(`firmware:\n  - add: { start: 0x50000000, size: 1M, type: reserved }\n  - add: { start: 0x50000000, size: 1Q, type: reserved }\n`)).toEqual([
      'expect.yaml:3: firmware[1].add.size: "1Q" is not a size (QEMU\'s syntax: 1M, 64K, 1.5G, 4096, 0x1000)',
    ]);
    const all = problems(`firmware:
  - add: { start: 0x50000000, type: bogus }
  - remove: { start: 0xzz, size: 0 }
  - {}
  - add: { start: 1, size: 1, type: 2 }
    remove: { start: 1, size: 1 }
qemu:
  - remove: { start: 1, size: 1 }
  - add: { start: "0xffffffffffffffff", size: 2, type: 1 }
  - add: { start: 0x1000, size: 0x10M, type: 1 }
extra: 1
`);
    expect(all).toEqual([
      'expect.yaml:2: firmware[0].add.size: is required',
      expect.stringMatching(/^expect\.yaml:2: firmware\[0\]\.add\.type: "bogus" is not an E820 type/),
      'expect.yaml:3: firmware[1].remove.start: "0xzz" is not an address (hex 0x… or decimal)',
      'expect.yaml:3: firmware[1].remove.size: 0: a size must be more than 0 and below 2^64',
      expect.stringMatching(/^expect\.yaml:4: firmware\[2\]: each entry is one of/),
      expect.stringMatching(/^expect\.yaml:5: firmware\[3\]: each entry is one of/),
      expect.stringMatching(/^expect\.yaml:8: qemu\[0\]\.remove: etc\/e820 has no remove/),
      'expect.yaml:9: qemu[1].add.size: 0xffffffffffffffff + 0x2 runs past 2^64',
      expect.stringMatching(/^expect\.yaml:10: qemu\[2\]\.add\.size: "0x10M" is not a size/),
      'expect.yaml:1: unknown field(s) "extra"',
    ]);
    expect(problems('firmware: 3\n')).toEqual(['expect.yaml:1: firmware: expected a list of changes']);
    expect(problems('- 1\n')).toEqual(['expect.yaml:1: expected `firmware:` and/or `qemu:` lists, and/or `int15: { fails: [...] }`']);
    expect(problems('firmware:\n  - add: { start: 1, size: 1M, type: 2\n')[0]).toMatch(/^expect\.yaml:\d+: YAML syntax: /);
  });
});

describe('expect: in matrix files', () => {
  const MATRIX = `expect:
  firmware:
    - add: { start: 0x50000000, size: 1M, type: reserved }
cells:
  - id: file-level
    qemu: -M pc -m 2G
  - id: own
    qemu: -M pc -m 2G
    expect:
      qemu:
        - add: { start: 0xfeff0000, size: 64K, type: reserved }
`;

  test('a cell\'s expect replaces the file\'s; each names where it was declared', () => {
    const [a, b] = parseMatrix(MATRIX, 'm.yaml');
    expect(a!.expect).toEqual({ file: 'm.yaml:2', intent: { firmware: [{ op: 'add', start: 0x50000000n, size: 0x100000n, type: 2 }], qemu: [] } });
    expect(b!.expect).toEqual({ file: 'm.yaml:10', intent: { firmware: [], qemu: [{ op: 'add', start: 0xfeff0000n, size: 0x10000n, type: 2 }] } });
    expect(parseMatrix('cells:\n  - id: x\n    qemu: -m 1G\n', 'm.yaml')[0]!.expect).toBeUndefined();
  });

  test('errors name the line, the cell and the field', () => {
    let msg = '';
    try {
      parseMatrix(`cells:\n  - id: x\n    qemu: -m 1G\n    expect:\n      firmware:\n        - add: { start: 0x1000, size: 1Q, type: 2 }\n`, 'm.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(MatrixFileError);
      msg = (err as Error).message;
    }
    expect(msg).toContain('line 6: cell 0 (id "x"): field "expect.firmware[0].add.size": "1Q" is not a size');
  });

  test('--expect applies to every cell, and conflicts with a matrix\'s own', () => {
    const mine = { file: 'build.yaml', intent: { firmware: [], qemu: [] } };
    const plain = parseMatrix('cells:\n  - id: x\n    qemu: -m 1G\n  - id: y\n    qemu: -m 2G\n', 'm.yaml');
    expect(withExpect(plain, mine).map((c) => c.expect)).toEqual([mine, mine]);
    expect(withExpect(plain, undefined)).toEqual(plain);
    expect(() => withExpect(parseMatrix(MATRIX, 'm.yaml'), mine)).toThrow(/--expect build\.yaml: m\.yaml declares its own expect \(m\.yaml:2, cell "file-level"\); give one or the other/);
  });
});

// ---- the judge --------------------------------------------------------------------------------

const tc: Toolchain = { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' };
const ADD_5: DeclaredIntent = { firmware: [{ op: 'add', start: 0x50000000n, size: 0x100000n, type: 2 }], qemu: [] };
const QEMU_ADD: DeclaredIntent = { firmware: [], qemu: [{ op: 'add', start: 0xfeff0000n, size: 0x10000n, type: 2 }] };
const report = (argv: string, intent?: DeclaredIntent): LayerReport =>
  predict(parseQemuArgs(argv.split(' '), { qemuVersion: tc.qemu }), tc, intent ? { intent } : {}).report;

describe('the judge: declared but absent', () => {
  test('the build did what was declared: pass', () => {
    const v = compareReports({ expected: report('-M pc -m 2G', ADD_5), observed: report('-M pc -m 2G', ADD_5), isE820IomemLine, declared: ADD_5 });
    expect(v.outcome).toBe('pass');
  });

  test('declared, not done: fail at the firmware layer, the summary names what is absent', () => {
    const v = compareReports({ expected: report('-M pc -m 2G', ADD_5), observed: report('-M pc -m 2G'), isE820IomemLine, declared: ADD_5 });
    expect(v.outcome).toBe('fail');
    if (v.outcome !== 'fail') return;
    expect(v.first.field).toBe('firmware.e820');
    expect(v.first.declaredButAbsent).toEqual(['add 0x50000000-0x500fffff reserved (firmware)']);
    expect(v.first.summary).toMatch(/; declared but absent: add 0x50000000-0x500fffff reserved \(firmware\)$/);
    expect(formatVerdict(v)).toContain('declared but absent: add 0x50000000-0x500fffff reserved (firmware)');
    expect(v.first.diff).toContain('0000000050000000');
  });

  test('a qemu record declared, not done: fail at the qemu layer', () => {
    const v = compareReports({ expected: report('-M q35 -m 1G', QEMU_ADD), observed: report('-M q35 -m 1G'), isE820IomemLine, declared: QEMU_ADD });
    expect(v.outcome === 'fail' && v.first.layer).toBe('qemu');
    expect(v.outcome === 'fail' && v.first.declaredButAbsent).toEqual(['add 0xfeff0000-0xfeffffff reserved (qemu)']);
  });

  test('done, not declared: the usual failure, nothing declared to be absent', () => {
    const v = compareReports({ expected: report('-M pc -m 2G'), observed: report('-M pc -m 2G', ADD_5), isE820IomemLine });
    expect(v.outcome === 'fail' && v.first.field).toBe('firmware.e820');
    expect(v.outcome === 'fail' && v.first.declaredButAbsent).toBeUndefined();
    expect(v.outcome === 'fail' && v.first.summary).not.toContain('declared');
  });

  test('declared and done, plus something undeclared: fail without "absent"', () => {
    const extra: DeclaredIntent = { firmware: [...ADD_5.firmware, { op: 'add', start: 0x60000000n, size: 0x1000n, type: 2 }], qemu: [] };
    const v = compareReports({ expected: report('-M pc -m 2G', ADD_5), observed: report('-M pc -m 2G', extra), isE820IomemLine, declared: ADD_5 });
    expect(v.outcome === 'fail' && v.first.declaredButAbsent).toBeUndefined();
  });
});

// ---- through the runner ------------------------------------------------------------------------

/** The real model; a fake machine whose build does `built` (or nothing). */
function modelDeps(built: (argv: readonly string[]) => DeclaredIntent | undefined): MatrixDeps & { predictOptions: Array<PredictOptions | undefined> } {
  const predictOptions: Array<PredictOptions | undefined> = [];
  const argvOf = new WeakMap<object, readonly string[]>();
  return {
    predictOptions,
    parseArgs: (argv, qemuVersion) => {
      const c = parseQemuArgs(argv, { qemuVersion });
      argvOf.set(c, argv);
      return c;
    },
    predict: (config, toolchain, options) => {
      predictOptions.push(options);
      const p = predict(config, toolchain, options?.intent ? { intent: options.intent } : {});
      return { report: p.report, kernelStarts: p.kernelStarts, unpredicted: p.unpredicted, ...(p.intent ? { applied: p.intent.applied.map((a) => `${a.text}: ${a.effect}`) } : {}) };
    },
    capture: async (config, toolchain, o) => {
      const intent = built(o.qemuArgs ?? argvOf.get(config) ?? []);
      return { kind: 'booted', observation: { report: predict(config, toolchain, intent ? { intent } : {}).report, unobserved: [], meta: { argv: [...(o.qemuArgs ?? [])], wallMs: 1 } } };
    },
    isE820IomemLine,
  };
}

describe('matrix runner with an expect', () => {
  const MATRIX = `expect:
  firmware:
    - add: { start: 0x50000000, size: 1M, type: reserved }
cells:
  - id: patched
    qemu: -M pc -m 2G
  - id: unpatched
    qemu: -M q35 -m 2G
  - id: no-expect
    qemu: -M pc -m 3G
    expect: {}
`;

  test('pass when the build does exactly what was declared; "declared but absent" when it does not; results name the expect', async () => {
    // The fake machine: the pc cells run the patched SeaBIOS, q35 the stock one.
    const deps = modelDeps((argv) => (argv.includes('pc') ? ADD_5 : undefined));
    const runs = expandRuns(parseMatrix(MATRIX, 'patched.yaml'));
    const summary = await runMatrix(runs, deps, { jobs: 1 });
    const [patched, unpatched, noExpect] = summary.results;
    expect(patched!.outcome).toBe('pass');
    expect(patched!.expect).toEqual({
      file: 'patched.yaml:2',
      changes: ['add 0x50000000-0x500fffff reserved (firmware)'],
      applied: ['add 0x50000000-0x500fffff reserved (firmware): e820_add at the end of qemu_preinit, before malloc_preinit'],
    });
    expect(unpatched!.outcome).toBe('fail');
    expect(unpatched!.verdict?.outcome === 'fail' && unpatched!.verdict.first.summary).toMatch(/declared but absent: add 0x50000000-0x500fffff reserved \(firmware\)/);
    // An empty per-cell expect replaces the file's: the patched build's entry is then undeclared.
    expect(noExpect!.outcome).toBe('fail');
    expect(noExpect!.expect?.changes).toEqual([]);
    expect(noExpect!.verdict?.outcome === 'fail' && noExpect!.verdict.first.field).toBe('firmware.e820');
    expect(JSON.parse(JSON.stringify(summary.results))[0].expect.file).toBe('patched.yaml:2');
  });

  test('cells without an expect predict exactly as before (no options passed)', async () => {
    const deps = modelDeps(() => undefined);
    const summary = await runMatrix(expandRuns(parseMatrix('cells:\n  - id: a\n    qemu: -M pc -m 1G\n', 'plain.yaml')), deps, { jobs: 1 });
    expect(summary.results[0]!.outcome).toBe('pass');
    expect(summary.results[0]!.expect).toBeUndefined();
    expect(deps.predictOptions).toEqual([undefined]);
  });

  test('snapshots of cells with an expect include it; without, they are unchanged', () => {
    const deps = modelDeps(() => undefined);
    const [withIt] = expandRuns(parseMatrix(MATRIX, 'patched.yaml'));
    const text = renderSnapshot(withIt!, deps);
    expect(text).toContain('# expect: patched.yaml:2\n#   add 0x50000000-0x500fffff reserved (firmware)\n');
    expect(text).toMatch(/0000000050000000 - 0000000050100000 = 2 RESERVED/);
    const [plain] = expandRuns(parseMatrix('cells:\n  - id: patched\n    qemu: -M pc -m 2G\n', 'patched.yaml'));
    const before = renderSnapshot(plain!, deps);
    expect(before).not.toContain('expect');
    expect(before).not.toContain('0000000050000000 - 0000000050100000');
  });
});

describe('e820 predict --expect', () => {
  test('prints each declared change and where it was applied; a malformed file exits 2 with file:line: field', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // The CLI's own path: it loads the expect-file reader only when --expect is given.
    const { predictWithComponents: predictCommand } = await import('../../harness/cli/commands/predict.ts');
    const dir = await mkdtemp(join(tmpdir(), 'e820-expect-'));
    try {
      await writeFile(join(dir, 'ok.yaml'), EXPECT);
      await writeFile(join(dir, 'bad.yaml'), 'firmware:\n  - add: { start: 0x50000000, size: 1Q, type: reserved }\n');
      const ok = await predictCommand(['-M', 'pc', '-m', '2G'], { expect: join(dir, 'ok.yaml') });
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`declared (expect ${join(dir, 'ok.yaml')}):\n  add 0xfeff0000-0xfeffffff reserved (qemu) — e820_add_entry`);
      const json = JSON.parse((await predictCommand(['-M', 'pc', '-m', '2G'], { expect: join(dir, 'ok.yaml'), json: true })).stdout);
      expect(json.expect.changes).toEqual(describeIntent(parseExpect(EXPECT, 'x')));
      const bad = await predictCommand(['-M', 'pc', '-m', '2G'], { expect: join(dir, 'bad.yaml') });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`${join(dir, 'bad.yaml')}:2: firmware[0].add.size: "1Q" is not a size`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
