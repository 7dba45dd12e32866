// Matrix files (suites/matrix/*.yaml): the declarative list of cells the conformance run boots.
//
//   description: free text (optional)
//   toolchains:                       # optional file default; default: the baseline toolchain
//     - { qemu: "7.2", seabios: "1.16.2", kernel: "6.1" }
//     - { qemu: "7.2", seabios: "1.16.2", kernel: "6.1", flavour: minimal,   # the kernel flavour
//         seabios-patches: [../../guests/firmware-patches/e820-fails.patch] }  # a patched SeaBIOS build
//   cells:
//     - id: q35-4G-mrb2G              # stable, readable, unique within the file; used as a file name
//       qemu: -M q35,max-ram-below-4g=2G -m 4G
//       append: memmap=1M$0x50000000  # optional kernel arguments (the harness adds its own in front)
//       toolchains: [...]             # optional, overrides the file default
//       note: why this cell exists     # optional
//       timeout: 120                   # optional: worst case in seconds on an idle machine (slow cells
//                                     # only); a scheduling hint, and a floor on the overall deadline
//       expect: { firmware: [...] }   # optional: what the build is declared to change (harness/matrix/
//                                     # intent.ts); replaces the file's `expect:` for this cell
//   expect:                           # optional file default: the declared intent of every cell
//     firmware: [{ add: { start: 0x50000000, size: 1M, type: reserved } }]
//   toolchain: { qemu-binary: /opt/qemu/bin/qemu-system-x86_64 }   # optional: user components for
//                                     # every cell, inline or a toolchain file's path (harness/user-toolchain.ts)
//   snapshotHost: { cpuVendor: AuthenticAMD, physBits: 48 }
//                                     # optional; KVM cells need it: the KVM host their prediction
//                                     # snapshots are written for (runs predict for the machine
//                                     # they boot on, or --host-vendor/--host-phys-bits)
//
// `qemu` is either a YAML list of argv strings (exact, nothing is split) or one string split
// shell-like: whitespace separates, '…' and "…" quote, backslash escapes. There is NO variable
// or glob expansion, so `$` and `*` are literal (memmap=1M$0x50000000 needs no quoting).
//
// Validation is zod (never hand checks); every error names the file, the cell (index and id),
// the field and the line.

import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { BASELINE_TOOLCHAIN, DEFAULT_KERNEL_FLAVOUR, KERNEL_FLAVOURS, toolchainLabel, toolchainOf, type Toolchain } from '../../reference/toolchain.ts';
import { HOST_VENDORS, PHYS_BITS_MAX, PHYS_BITS_MIN, type HostFacts } from '../host-facts.ts';
import { IntentSchema, intentFieldPath, type CellExpect } from './intent.ts';
import { componentsOfFile, UserToolchainFileSchema, type UserComponents } from '../user-toolchain/index.ts';

/** Ids become file names (snapshots) and JUnit names: keep them to a safe alphabet. */
const CELL_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const MAX_ID_LENGTH = 80;

const ToolchainSchema = z
  .object({
    qemu: z.string().optional(),
    seabios: z.string().optional(),
    kernel: z.string().optional(),
    /**
     * `minimal` (the project's minimal kernel of the series) or `cloud` (Debian's), as
     * --kernel-flavour, which overrides it; absent: whatever the run boots (e820 run and the
     * conformance suite: DEFAULT_KERNEL_FLAVOUR; snapshots, drift and qtest: cloud's model).
     */
    flavour: z.enum(KERNEL_FLAVOURS).optional(),
    /** SeaBIOS built from the release's Debian source with these patches (paths relative to the matrix), as `e820 firmware build --patch`. */
    'seabios-patches': z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    try {
      toolchainOf(spec);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });

const CellSchema = z
  .object({
    id: z
      .string()
      .max(MAX_ID_LENGTH)
      .regex(CELL_ID, 'must be letters, digits and . _ + - (no spaces or slashes), starting with a letter or digit'),
    qemu: z.union([z.string().min(1), z.array(z.string()).min(1)]),
    append: z.string().optional(),
    toolchains: z.array(ToolchainSchema).min(1).optional(),
    note: z.string().optional(),
    /**
     * Worst-case boot in seconds on an idle machine, for a cell known to be slow (e.g. -smp 64
     * under TCG): a cost hint for scheduling (cost.ts) and a floor on the boot's overall deadline.
     */
    timeout: z.number().int().positive().max(3600).optional(),
    /** What the build is declared to change (replaces the file's `expect:`). */
    expect: IntentSchema.optional(),
  })
  .strict();

const HostSchema = z
  .object({
    cpuVendor: z.enum(HOST_VENDORS),
    physBits: z.number().int().min(PHYS_BITS_MIN).max(PHYS_BITS_MAX),
    /** CPUID LA57 on the host (KVM passes it to host/max and to models asking for it). */
    la57: z.boolean().optional(),
  })
  .strict();

const MatrixSchema = z
  .object({
    description: z.string().optional(),
    toolchains: z.array(ToolchainSchema).min(1).optional(),
    snapshotHost: HostSchema.optional(),
    expect: IntentSchema.optional(),
    /**
     * User components for every cell (harness/user-toolchain.ts): inline, or the path of a
     * toolchain file (relative to this matrix). Their detected versions pick the model's profiles.
     */
    toolchain: z.union([z.string().min(1), UserToolchainFileSchema]).optional(),
    cells: z.array(CellSchema).min(1),
  })
  .strict();

export interface Cell {
  /** The matrix's name: the file name without `.yaml`. */
  matrix: string;
  file: string;
  index: number;
  id: string;
  /** QEMU argv as the user wrote it (before `-append`). */
  qemu: string[];
  append: string | null;
  toolchains: Toolchain[];
  note: string | null;
  /** The cell's `timeout:` (seconds): cost hint and floor on the overall deadline; null = none. */
  timeoutSeconds: number | null;
  /** 1-based line of the cell in its file (0 when built from a command line). */
  line: number;
  /** The file's `snapshotHost`: the KVM host its prediction snapshots are written for. */
  snapshotHost?: HostFacts;
  /** The declared intent (the cell's `expect:`, else the file's, else `--expect`); absent: none. */
  expect?: CellExpect;
  /**
   * The file's top-level `toolchain:` (user components, paths absolute), or `{ file }` when it names
   * a toolchain file (read by the command, harness/user-toolchain.ts matrixComponents).
   */
  userToolchain?: { inline: UserComponents } | { file: string };
}

export class MatrixFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid matrix file:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'MatrixFileError';
  }
}

/** Splits one string like a POSIX shell would into words, without any expansion. */
export function splitShellLike(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new Error('trailing backslash');
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new Error(`unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/**
 * Quotes argv words in the matrix syntax, so that splitShellLike(shellJoin(w)) deep-equals w. That
 * syntax has no expansion, so `$` stays bare: this is for matrix files and snapshot headers, not
 * for commands a person pastes into a shell (those use shellQuote in ../errors.ts).
 */
export function shellJoin(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./$#!-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function toolchainKey(t: Toolchain): string {
  return `${t.qemu}/${t.seabios}${(t.seabiosPatches ?? []).map((p) => `+${p}`).join('')}/${t.kernelRelease ?? t.kernel}${t.kernelFlavour === 'minimal' ? '/minimal' : ''}`;
}

/** A matrix's toolchain entry: the versions, the kernel flavour, the patches resolved against the matrix's directory. */
function matrixToolchain(spec: z.infer<typeof ToolchainSchema>, file: string): Toolchain {
  const t = toolchainOf(spec);
  const patches = spec['seabios-patches']?.map((p) => (isAbsolute(p) ? p : resolve(dirname(resolve(file)), p)));
  // An explicit `flavour: cloud` stays in the toolchain, so the default (withDefaultKernelFlavour) leaves it.
  return { ...t, ...(spec.flavour !== undefined ? { kernelFlavour: spec.flavour } : {}), ...(patches !== undefined ? { seabiosPatches: patches } : {}) };
}

/**
 * The cells as `e820 run` and the conformance suite boot them when no `--kernel-flavour` is given:
 * a toolchain whose matrix entry names no `flavour:` boots DEFAULT_KERNEL_FLAVOUR (reference/
 * toolchain.ts); one that names it keeps it.
 */
export function withDefaultKernelFlavour(cells: readonly Cell[]): Cell[] {
  return cells.map((c) => ({ ...c, toolchains: c.toolchains.map((t) => (t.kernelFlavour === undefined ? { ...t, kernelFlavour: DEFAULT_KERNEL_FLAVOUR } : t)) }));
}

/** Parses a matrix file's text. `file` is only used in messages and to name the matrix. */
export function parseMatrix(text: string, file: string): Cell[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new MatrixFileError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line} col ${pos.col}: ` : ''}YAML syntax: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  // An empty file parses to null: report it as a file missing `cells`.
  const data: unknown = doc.toJS() ?? {};
  const lineOf = (path: readonly PropertyKey[]): number | null => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return null;
  };
  const rawCells = (data as { cells?: unknown } | null)?.cells;
  const cellLabel = (index: number): string => {
    const id = Array.isArray(rawCells) ? (rawCells[index] as { id?: unknown } | undefined)?.id : undefined;
    return `cell ${index}${typeof id === 'string' ? ` (id ${JSON.stringify(id)})` : ' (no id)'}`;
  };

  const parsed = MatrixSchema.safeParse(data);
  if (!parsed.success) {
    throw new MatrixFileError(
      file,
      parsed.error.issues.map((issue) => {
        const path = issue.path;
        const line = lineOf(path);
        const where: string[] = [];
        if (line !== null) where.push(`line ${line}`);
        let rest = path;
        if (path[0] === 'cells' && typeof path[1] === 'number') {
          where.push(cellLabel(path[1]));
          rest = path.slice(2);
        }
        const field = rest[0] === 'expect' ? `expect${rest.length > 1 ? `.${intentFieldPath(rest.slice(1))}` : ''}` : rest.map(String).join('.');
        if (issue.code === 'unrecognized_keys') {
          return `${where.join(': ')}${where.length ? ': ' : ''}unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
        }
        return `${where.join(': ')}${where.length ? ': ' : ''}field ${field ? JSON.stringify(field) : '(top level)'}: ${issue.message}`;
      }),
    );
  }

  const matrix = basename(file).replace(/\.ya?ml$/, '');
  const fileToolchains = parsed.data.toolchains?.map((t) => matrixToolchain(t, file)) ?? [BASELINE_TOOLCHAIN];
  const snapshotHost = parsed.data.snapshotHost;
  const fileExpect: CellExpect | undefined =
    parsed.data.expect !== undefined ? { file: `${file}:${lineOf(['expect']) ?? 0}`, intent: parsed.data.expect } : undefined;
  const tc = parsed.data.toolchain;
  const userToolchain: Cell['userToolchain'] =
    tc === undefined ? undefined : typeof tc === 'string' ? { file: isAbsolute(tc) ? tc : resolve(dirname(file), tc) } : { inline: componentsOfFile(tc, dirname(resolve(file)), `${basename(file)} toolchain:`) };
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const cells: Cell[] = [];
  parsed.data.cells.forEach((c, index) => {
    const line = lineOf(['cells', index]) ?? 0;
    const where = `line ${line}: ${cellLabel(index)}`;
    const first = seen.get(c.id);
    if (first !== undefined) problems.push(`${where}: field "id": duplicate id, first used by cell ${first}`);
    else seen.set(c.id, index);
    let qemu: string[];
    if (typeof c.qemu === 'string') {
      try {
        qemu = splitShellLike(c.qemu);
      } catch (err) {
        problems.push(`${where}: field "qemu": ${(err as Error).message}`);
        return;
      }
    } else qemu = c.qemu;
    if (qemu.includes('-append') && c.append !== undefined) {
      problems.push(`${where}: field "qemu": has -append and the cell also has "append"; use one`);
    }
    const toolchains = c.toolchains?.map((t) => matrixToolchain(t, file)) ?? fileToolchains;
    const keys = toolchains.map(toolchainKey);
    if (new Set(keys).size !== keys.length) problems.push(`${where}: field "toolchains": the same toolchain is listed twice`);
    cells.push({
      matrix,
      file,
      index,
      id: c.id,
      qemu,
      append: c.append ?? null,
      toolchains,
      note: c.note ?? null,
      timeoutSeconds: c.timeout ?? null,
      line,
      ...(snapshotHost !== undefined ? { snapshotHost: { ...snapshotHost } } : {}),
      ...(c.expect !== undefined
        ? { expect: { file: `${file}:${lineOf(['cells', index, 'expect']) ?? line}`, intent: c.expect } }
        : fileExpect !== undefined
          ? { expect: fileExpect }
          : {}),
      ...(userToolchain !== undefined ? { userToolchain } : {}),
    });
  });
  if (problems.length > 0) throw new MatrixFileError(file, problems);
  return cells;
}

export async function loadMatrix(file: string): Promise<Cell[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MatrixFileError(file, [`cannot read: ${(err as Error).message}`]);
  }
  return parseMatrix(text, file);
}

/** One cell under one toolchain: the unit the runner boots. */
export interface CellRun {
  cell: Cell;
  toolchain: Toolchain;
  /**
   * With user components (harness/user-toolchain.ts): which profile the model used for each
   * detected version and why ("QEMU 11.2.0: predicted with the 11.1 profile (extrapolated…)").
   */
  provenance?: string[];
  /** `baseline/q35-4G` for the file's first toolchain, `baseline/q35-4G@qemu-…` for the others. */
  key: string;
}

export function toolchainSuffix(t: Toolchain, cell: Cell): string {
  const first = cell.toolchains[0];
  return first && toolchainKey(first) === toolchainKey(t) ? '' : `@${toolchainLabel(t)}`;
}

/** Expands cells × toolchains in file order (the order shard assignment depends on). */
export function expandRuns(cells: readonly Cell[], override?: Toolchain): CellRun[] {
  const runs: CellRun[] = [];
  const keys = new Set<string>();
  for (const cell of cells) {
    // --qemu/--seabios/--kernel replace the versions, not the cell's SeaBIOS patches: those are its
    // firmware (suites/matrix/fallback.yaml), which its expect: declares.
    const patches = cell.toolchains[0]?.seabiosPatches;
    const overridden = override && patches !== undefined ? { ...override, seabiosPatches: patches } : override;
    for (const toolchain of overridden ? [overridden] : cell.toolchains) {
      const key = `${cell.matrix}/${cell.id}${override ? '' : toolchainSuffix(toolchain, cell)}`;
      if (keys.has(key)) throw new MatrixFileError(cell.file, [`cell ${cell.index} (id ${JSON.stringify(cell.id)}): run ${key} appears twice (the same matrix given twice?)`]);
      keys.add(key);
      runs.push({ cell, toolchain, key });
    }
  }
  return runs;
}

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new Error(`--shard ${JSON.stringify(text)}: expected i/n with 1 ≤ i ≤ n, e.g. --shard 2/4`);
  }
  return { index, count };
}

/** Round-robin by position: stable as long as the matrix order is, and balanced to within one. */
export function selectShard<T>(runs: readonly T[], shard: Shard): T[] {
  return runs.filter((_, i) => i % shard.count === shard.index - 1);
}

/**
 * `--expect FILE` applies to every cell; a matrix that declares its own (`expect:` at the top or
 * in a cell) conflicts with it: which one was meant cannot be guessed.
 */
export function withExpect(cells: readonly Cell[], expect: CellExpect | undefined): Cell[] {
  if (expect === undefined) return [...cells];
  const own = cells.find((c) => c.expect !== undefined);
  if (own !== undefined) {
    throw Object.assign(
      new Error(`--expect ${expect.file}: ${own.file} declares its own expect (${own.expect!.file}, cell ${JSON.stringify(own.id)}); give one or the other`),
      { exitCode: 2 },
    );
  }
  return cells.map((c) => ({ ...c, expect }));
}

// cellArgv lives apart (no yaml, no zod), for the runner.
export { cellArgv } from './cell-argv.ts';
