import { describe, expect, test } from 'vitest';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { MatrixFileError, cellArgv, expandRuns, parseMatrix, parseShard, selectShard, shellJoin, splitShellLike } from '../../harness/matrix/schema.ts';
import { loadMatrix } from '../../harness/matrix/schema.ts';
import { matrixPath } from '../../harness/matrix/paths.ts';

function problems(text: string, file = 'suites/matrix/x.yaml'): string {
  try {
    parseMatrix(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(MatrixFileError);
    return (err as Error).message;
  }
  throw new Error('expected a MatrixFileError');
}

describe('matrix schema', () => {
  test('a minimal file loads with defaults', () => {
    const cells = parseMatrix('cells:\n  - id: pc-1G\n    qemu: -M pc -m 1G\n', 'suites/matrix/mini.yaml');
    expect(cells).toHaveLength(1);
    expect(cells[0]).toMatchObject({ matrix: 'mini', id: 'pc-1G', qemu: ['-M', 'pc', '-m', '1G'], append: null, line: 2 });
    expect(cells[0]!.toolchains).toEqual([BASELINE_TOOLCHAIN]);
  });

  test('qemu as a list is taken verbatim; append becomes -append', () => {
    const [c] = parseMatrix('cells:\n  - id: a\n    qemu: ["-m", "1G 2"]\n    append: memmap=1M$0x50000000\n', 'm.yaml');
    expect(cellArgv(c!)).toEqual(['-m', '1G 2', '-append', 'memmap=1M$0x50000000']);
  });

  test('broken YAML names the file and the line', () => {
    const msg = problems('cells:\n  - id: a\n    qemu: [unclosed\n');
    expect(msg).toContain('suites/matrix/x.yaml');
    expect(msg).toMatch(/line \d+/);
    expect(msg).toContain('YAML syntax');
  });

  test('a missing field names file, cell index, id and field', () => {
    const msg = problems('cells:\n  - id: ok\n    qemu: -m 1G\n  - id: second\n    append: mem=1G\n');
    expect(msg).toContain('suites/matrix/x.yaml');
    expect(msg).toContain('cell 1 (id "second")');
    expect(msg).toContain('field "qemu"');
    expect(msg).toContain('line 4');
  });

  test('a bad type names the field', () => {
    const msg = problems('cells:\n  - id: a\n    qemu: -m 1G\n    append: 42\n');
    expect(msg).toContain('cell 0 (id "a")');
    expect(msg).toContain('field "append"');
  });

  test('an unknown field and a bad id are errors', () => {
    expect(problems('cells:\n  - id: a\n    qemu: -m 1G\n    apend: x\n')).toContain('unknown field(s) "apend"');
    expect(problems('cells:\n  - id: "has space"\n    qemu: -m 1G\n')).toContain('field "id"');
  });

  test('an unknown toolchain version is an error naming the field', () => {
    const msg = problems('cells:\n  - id: a\n    qemu: -m 1G\n    toolchains: [{ qemu: "6.0" }]\n');
    expect(msg).toContain('field "toolchains.0"');
    expect(msg).toContain('unknown qemu version "6.0"');
  });

  test('duplicate ids are an error naming both cells', () => {
    const msg = problems('cells:\n  - id: a\n    qemu: -m 1G\n  - id: b\n    qemu: -m 2G\n  - id: a\n    qemu: -m 3G\n');
    expect(msg).toContain('cell 2 (id "a")');
    expect(msg).toContain('duplicate id, first used by cell 0');
  });

  test('-append in qemu together with append is an error', () => {
    expect(problems('cells:\n  - id: a\n    qemu: -m 1G -append mem=1G\n    append: mem=2G\n')).toContain('use one');
  });

  test('a cell may lengthen its boot deadline; the value is checked', () => {
    const [c] = parseMatrix('cells:\n  - id: a\n    qemu: -smp 64\n    timeout: 180\n', 'm.yaml');
    expect(c!.timeoutSeconds).toBe(180);
    expect(problems('cells:\n  - id: a\n    qemu: -m 1G\n    timeout: -3\n')).toContain('field "timeout"');
  });

  test('an empty file is an error', () => {
    expect(problems('')).toContain('field "cells"');
  });

  test('shell-like splitting: quotes and escapes, no expansion', () => {
    expect(splitShellLike(`-M q35 -append 'memmap=1M$0x5 mem=2G' "a b" c\\ d $HOME`)).toEqual(['-M', 'q35', '-append', 'memmap=1M$0x5 mem=2G', 'a b', 'c d', '$HOME']);
    expect(() => splitShellLike(`-m 'x`)).toThrow(/unterminated/);
    const words = ['-m', '1G', 'a b', "it's", 'memmap=1M$0x1'];
    expect(splitShellLike(shellJoin(words))).toEqual(words);
  });
});

describe('shards', () => {
  const runs = Array.from({ length: 10 }, (_, i) => i);

  test('every run lands in exactly one shard, balanced to within one, stable by order', () => {
    const shards = [1, 2, 3].map((index) => selectShard(runs, { index, count: 3 }));
    expect(shards.flat().sort((a, b) => a - b)).toEqual(runs);
    expect(shards.map((s) => s.length)).toEqual([4, 3, 3]);
    expect(shards[0]).toEqual([0, 3, 6, 9]);
    expect(selectShard(runs, { index: 1, count: 1 })).toEqual(runs);
  });

  test('parseShard validates i/n', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard/);
  });
});

describe('expansion', () => {
  test('cells × toolchains in order; the first toolchain keeps the plain key', () => {
    const cells = parseMatrix(
      'toolchains: [{ qemu: "7.2" }, { qemu: "10.0", seabios: "1.16.3", kernel: "6.12" }]\ncells:\n  - id: a\n    qemu: -m 1G\n  - id: b\n    qemu: -m 2G\n',
      'two.yaml',
    );
    expect(expandRuns(cells).map((r) => r.key)).toEqual([
      'two/a',
      'two/a@qemu-10.0+seabios-1.16.3+linux-6.12',
      'two/b',
      'two/b@qemu-10.0+seabios-1.16.3+linux-6.12',
    ]);
    expect(expandRuns(cells, BASELINE_TOOLCHAIN).map((r) => r.key)).toEqual(['two/a', 'two/b']);
  });
});

describe('the baseline matrix', () => {
  test('loads, has ≥ 60 cells and covers what issue 5 asks for', async () => {
    const cells = await loadMatrix(matrixPath('baseline'));
    expect(cells.length).toBeGreaterThanOrEqual(60);
    const all = cells.map((c) => cellArgv(c).join(' '));
    const has = (re: RegExp) => expect(all.some((a) => re.test(a)), String(re)).toBe(true);
    for (const re of [/-m 3583M/, /-m 3584M/, /-m 3585M/, /q35 -m 2815M/, /q35 -m 2816M/, /q35 -m 2817M/, /-m 128M/, /-m 8G/,
      /pc-i440fx-1\.4/, /-smp 1\b/, /-smp 64/, /sockets=8/, /slots=2,maxmem=8G/, /Skylake-Client/, /EPYC/, /phys-bits=39/,
      /-nodefaults/, /-bios bios\.bin/, /-bios bios-256k\.bin/, /mem=\d/, /memmap=\S*@/, /memmap=\S*#/, /memmap=\S*\$/, /memmap=\S*!/,
      /memmap=\S*%/, /memmap=exactmap/, /max-ram-below-4g=2G -m 4G/, /max-ram-below-4g=4G -m 3968M/, /memdev=m2/]) has(re);
  });
});
