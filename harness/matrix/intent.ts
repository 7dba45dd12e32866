// Expect files (`--expect FILE`) and `expect:` in matrix files: what a build is declared to
// change, per layer, in that layer's own terms. Parsed into reference/intent.ts DeclaredIntent.
//
//   firmware:                        # SeaBIOS's map, e820_add / e820_remove semantics (in order)
//     - add:    { start: 0x50000000, size: 1M, type: reserved }
//     - remove: { start: 0x20000000, size: 2M }
//   qemu:                            # records appended to fw_cfg etc/e820, in file order
//     - add:    { start: 0xfeff0000, size: 64K, type: reserved }
//   int15:                           # INT 15h memory services the build makes fail (CF=1):
//     fails: [e820]                  # e820, e801, 88h (src/system.c); the kernel then falls back
//
// start: hex (0x…) or decimal. size: as QEMU reads a size (util/cutils.c qemu_strtosz: 1M, 64K,
// 1.5G, 0x1000; suffixes B K M G T P E, any case; reference/qemu-size.ts). type: a name SeaBIOS or
// Linux prints (RAM, RESERVED, ACPI, NVS, UNUSABLE, usable, reserved, ACPI data, ACPI NVS,
// unusable, persistent (type 12), …; any case) or the number. Validation is zod; every error
// names the file, the line and the field (`expect.yaml:3: firmware[1].add.size: "1Q" is not a size`).

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LineCounter, isNode, parseDocument } from 'yaml';
import { z } from 'zod';
import { INT15_SERVICES, type DeclaredIntent, type FirmwareChange, type QemuChange } from '../../reference/intent.ts';
import { QEMU_SIZE_SYNTAX, qemuStrtosz } from '../../reference/qemu-size.ts';
import { parseE820Type } from '../../reference/intent.ts';
import { ExpectFileError } from './expect-error.ts';
import type { CellExpect } from './expect-summary.ts';

export { ExpectFileError };
// The lines a declared intent reads as, in a module without the parser (the runner's).
export { describeIntent, expectSummary, type CellExpect } from './expect-summary.ts';

const TWO_64 = 1n << 64n;

/** An integer YAML gave as a JS number must be exact: past 2^53 the low bits are already gone. */
function exactInteger(v: number | bigint, ctx: z.RefinementCtx, what: string): bigint | null {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) {
    ctx.addIssue({ code: 'custom', message: `${v} is not a whole ${what} a YAML number holds exactly; write it as a string ("0x…")` });
    return null;
  }
  return BigInt(v);
}

const Scalar = z.union([z.string(), z.number(), z.bigint()], { error: (iss) => (iss.input === undefined ? 'is required' : 'expected a number or a string') });

const StartSchema = Scalar.transform((v, ctx): bigint => {
  let value: bigint | null;
  if (typeof v === 'string') value = /^\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*$/.test(v) ? BigInt(v.trim()) : null;
  else value = exactInteger(v, ctx, 'address');
  if (value === null) {
    if (typeof v === 'string') ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not an address (hex 0x… or decimal)` });
    return z.NEVER;
  }
  if (value < 0n || value >= TWO_64) {
    ctx.addIssue({ code: 'custom', message: `${String(v)} is not a 64-bit address` });
    return z.NEVER;
  }
  return value;
});

/** Sizes as current QEMU reads them (6.0+ do_strtosz; a hex number takes no suffix). */
const SIZE_SYNTAX = QEMU_SIZE_SYNTAX['10.0'];

const SizeSchema = Scalar.transform((v, ctx): bigint => {
  let value: bigint | null;
  if (typeof v === 'string') {
    const r = qemuStrtosz(v, SIZE_SYNTAX, 'B');
    value = r.ok ? r.value : null;
    if (value === null) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a size (QEMU's syntax: 1M, 64K, 1.5G, 4096, 0x1000)` });
  } else value = exactInteger(v, ctx, 'size');
  if (value === null) return z.NEVER;
  if (value <= 0n || value >= TWO_64) {
    ctx.addIssue({ code: 'custom', message: `${String(v)}: a size must be more than 0 and below 2^64` });
    return z.NEVER;
  }
  return value;
});

const TypeSchema = Scalar.transform((v, ctx): number => {
  const t = parseE820Type(typeof v === 'bigint' ? (v <= 0xffffffffn && v >= 0n ? Number(v) : -1) : v);
  if (t === null) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not an E820 type (RAM, RESERVED, ACPI, NVS, UNUSABLE, usable, reserved, ACPI data, ACPI NVS, unusable, persistent (type 12), … or a number)`,
    });
    return z.NEVER;
  }
  return t;
});

const Range = { start: StartSchema, size: SizeSchema };
const AddSchema = z.object({ ...Range, type: TypeSchema }).strict();
const RemoveSchema = z.object(Range).strict();

function checkEnd(r: { start: bigint; size: bigint }, ctx: z.RefinementCtx, path: string[]): void {
  if (r.start + r.size > TWO_64) ctx.addIssue({ code: 'custom', path: [...path, 'size'], message: `0x${r.start.toString(16)} + 0x${r.size.toString(16)} runs past 2^64` });
}

const OneOf = 'each entry is one of `add: { start, size, type }` or `remove: { start, size }`';

const FirmwareItem = z
  .object({ add: AddSchema.optional(), remove: RemoveSchema.optional() }, { error: (iss) => (iss.input === undefined ? 'is required' : OneOf) })
  .strict()
  .transform((item, ctx): FirmwareChange => {
    if ((item.add === undefined) === (item.remove === undefined)) {
      ctx.addIssue({ code: 'custom', message: OneOf });
      return z.NEVER;
    }
    if (item.add !== undefined) {
      checkEnd(item.add, ctx, ['add']);
      return { op: 'add', ...item.add };
    }
    checkEnd(item.remove!, ctx, ['remove']);
    return { op: 'remove', ...item.remove! };
  });

const QemuItem = z
  .object({ add: AddSchema.optional(), remove: z.unknown().optional() }, { error: (iss) => (iss.input === undefined ? 'is required' : 'each entry is `add: { start, size, type }`') })
  .strict()
  .transform((item, ctx): QemuChange => {
    if (item.remove !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['remove'], message: "etc/e820 has no remove (QEMU's e820_add_entry only appends records); declare a hole under firmware:" });
      return z.NEVER;
    }
    if (item.add === undefined) {
      ctx.addIssue({ code: 'custom', message: 'each entry is `add: { start, size, type }`' });
      return z.NEVER;
    }
    checkEnd(item.add, ctx, ['add']);
    return { op: 'add', ...item.add };
  });

const Int15Schema = z
  .object(
    {
      fails: z.array(
        z.enum(INT15_SERVICES, { error: (iss) => `${JSON.stringify(iss.input)} is not an INT 15h memory service (${INT15_SERVICES.join(', ')})` }),
        { error: 'expected a list of services, e.g. [e820] or [e820, e801]' },
      ),
    },
    { error: 'expected `fails: [e820, …]`' },
  )
  .strict();

/** The `expect:` value (matrix files) and an expect file's top level. */
export const IntentSchema = z
  .object(
    {
      firmware: z.array(FirmwareItem, { error: 'expected a list of changes' }).optional(),
      qemu: z.array(QemuItem, { error: 'expected a list of records' }).optional(),
      int15: Int15Schema.optional(),
    },
    { error: 'expected `firmware:` and/or `qemu:` lists, and/or `int15: { fails: [...] }`' },
  )
  .strict()
  .transform((v): DeclaredIntent => {
    // In INT15_SERVICES order, each once: the order the kernel asks them, whatever the file's.
    const fails = INT15_SERVICES.filter((s) => v.int15?.fails.includes(s) === true);
    return { firmware: v.firmware ?? [], qemu: v.qemu ?? [], ...(fails.length > 0 ? { int15Fails: fails } : {}) };
  });

/** `firmware[1].add.size`: list indices in brackets. */
export function intentFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

/** One zod issue as `<field>: <message>` (the field empty at the top level). */
export function intentIssueText(issue: z.core.$ZodIssue, path: readonly PropertyKey[] = issue.path): string {
  const field = intentFieldPath(path);
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : issue.message;
  return field === '' ? message : `${field}: ${message}`;
}



/** Parses an expect file's text; `file` names it in messages (`file:line: field: problem`). */
export function parseExpect(text: string, file: string): DeclaredIntent {
  const lineCounter = new LineCounter();
  // Integers as bigint: addresses past 2^53 stay exact.
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, intAsBigInt: true });
  if (doc.errors.length > 0) {
    throw new ExpectFileError(
      file,
      doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  const parsed = IntentSchema.safeParse(data);
  if (!parsed.success) {
    const lineOf = (path: readonly PropertyKey[]): number => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return 1;
    };
    throw new ExpectFileError(file, parsed.error.issues.map((issue) => `${file}:${lineOf(issue.path)}: ${intentIssueText(issue)}`));
  }
  return parsed.data;
}

export async function loadExpect(file: string): Promise<CellExpect> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ExpectFileError(file, [`${file}: cannot read: ${(err as Error).message}`]);
  }
  return { file, intent: parseExpect(text, file) };
}

/** loadExpect for the synchronous `predict` command. */
export function loadExpectSync(file: string): CellExpect {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ExpectFileError(file, [`${file}: cannot read: ${(err as Error).message}`]);
  }
  return { file, intent: parseExpect(text, file) };
}

