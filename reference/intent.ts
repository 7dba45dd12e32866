// Declared intent: what a build (a patched QEMU or SeaBIOS) is meant to change in the memory map,
// per layer, in that layer's own terms. A pure value the model takes (predict(…, { intent })):
// the stages apply each change where such a change happens (reference/qemu/ for `qemu`,
// reference/seabios/ for `firmware`), so every later layer follows from it. Reading and
// validating the YAML that spells it lives in the harness (harness/matrix/intent.ts).

import { hex } from './address.ts';
import { E820, type E820TypeNumber } from './e820.ts';
import { LEGACY_TYPE_TEXT } from './profiles/kernel.ts';

/** A change to SeaBIOS's e820 map, with src/e820map.c e820_add / e820_remove semantics. */
export type FirmwareChange =
  | { readonly op: 'add'; readonly start: bigint; readonly size: bigint; readonly type: E820TypeNumber }
  | { readonly op: 'remove'; readonly start: bigint; readonly size: bigint };

/** A record QEMU appends to fw_cfg etc/e820 (hw/i386/e820_memory_layout.c e820_add_entry). */
export interface QemuChange {
  readonly op: 'add';
  readonly start: bigint;
  readonly size: bigint;
  readonly type: E820TypeNumber;
}

/**
 * The INT 15h memory-size services of SeaBIOS's src/system.c a build can make fail:
 * handle_15e820 (AX=E820h), handle_15e801 (AX=E801h) and handle_1588 (AH=88h). Linux's real-mode
 * detect_memory() (arch/x86/boot/memory.c) asks all three, and e820__memory_setup_default()
 * (arch/x86/kernel/e820.c) falls back from the first to the others.
 */
export const INT15_SERVICES = ['e820', 'e801', '88h'] as const;
export type Int15Service = (typeof INT15_SERVICES)[number];

export interface DeclaredIntent {
  /** Applied to SeaBIOS's map in order, at the end of qemu_preinit. */
  readonly firmware: readonly FirmwareChange[];
  /** Appended to etc/e820 in order, after the machine's own records. */
  readonly qemu: readonly QemuChange[];
  /**
   * INT 15h services the build makes fail on every call (CF=1), in INT15_SERVICES order; absent or
   * empty: all three answer as SeaBIOS's src/system.c does. The map SeaBIOS builds is unchanged:
   * only what the kernel's real-mode setup code learns through INT 15h differs.
   */
  readonly int15Fails?: readonly Int15Service[];
}

export type IntentLayer = 'firmware' | 'qemu';

export const NO_INTENT: DeclaredIntent = { firmware: [], qemu: [] };

export function isEmptyIntent(intent: DeclaredIntent | undefined): boolean {
  return intent === undefined || (intent.firmware.length === 0 && intent.qemu.length === 0 && (intent.int15Fails ?? []).length === 0);
}

/** `INT 15h E820 fails (firmware)`: the declared service failures, one line each. */
export function describeInt15Fails(intent: DeclaredIntent): string[] {
  const name: Record<Int15Service, string> = { e820: 'E820', e801: 'E801', '88h': '88h' };
  return (intent.int15Fails ?? []).map((s) => `INT 15h ${name[s]} fails (firmware)`);
}

/** One declared change with its layer, in declaration order (qemu first: boot order). */
export type DeclaredChange =
  | ({ readonly layer: 'qemu'; readonly index: number } & QemuChange)
  | ({ readonly layer: 'firmware'; readonly index: number } & FirmwareChange);

export function declaredChanges(intent: DeclaredIntent): DeclaredChange[] {
  return [
    ...intent.qemu.map((c, index) => ({ layer: 'qemu' as const, index, ...c })),
    ...intent.firmware.map((c, index) => ({ layer: 'firmware' as const, index, ...c })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Type names

/**
 * Names a type is spelled with, lower-cased: SeaBIOS's dump_map (src/e820map.c e820_type_name),
 * Linux's e820_print_type (arch/x86/kernel/e820.c) and /sys/firmware/memmap's type strings
 * (e820_type_to_string). `persistent (type N)` is how Linux prints types 7 and 12.
 */
const TYPE_NAMES: ReadonlyArray<readonly [string, E820TypeNumber]> = [
  ['ram', E820.RAM],
  ['usable', E820.RAM],
  ['system ram', E820.RAM],
  ['reserved', E820.RESERVED],
  ['acpi', E820.ACPI],
  ['acpi data', E820.ACPI],
  ['acpi tables', E820.ACPI],
  ['nvs', E820.NVS],
  ['acpi nvs', E820.NVS],
  ['acpi non-volatile storage', E820.NVS],
  ['unusable', E820.UNUSABLE],
  ['unusable memory', E820.UNUSABLE],
  ['pmem', E820.PMEM],
  ['persistent memory', E820.PMEM],
  ['persistent (type 7)', E820.PMEM],
  ['pram', E820.PRAM],
  ['persistent memory (legacy)', E820.PRAM],
  ['persistent (type 12)', E820.PRAM],
  ['soft reserved', E820.SOFT_RESERVED],
];

/** A type name (any of the spellings above, any case) or a number (decimal or 0x…); null if neither. */
export function parseE820Type(text: string | number): E820TypeNumber | null {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 && text <= 0xffffffff ? text : null;
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const named = TYPE_NAMES.find(([n]) => n === t);
  if (named !== undefined) return named[1];
  const m = /^(?:type )?(0x[0-9a-f]+|[0-9]+)$/.exec(t);
  if (m === null) return null;
  const v = Number(m[1]);
  return v <= 0xffffffff ? v : null;
}

/** The name Linux prints for a type (e820_print_type, before 7.2), used in messages. */
export function e820TypeName(type: E820TypeNumber): string {
  return LEGACY_TYPE_TEXT[type] ?? `type ${type}`;
}

/** `add 0x50000000-0x500fffff reserved (firmware)`: inclusive end, as Linux prints ranges. */
export function describeChange(c: DeclaredChange): string {
  const range = `${hex(c.start)}-${hex(c.start + c.size - 1n)}`;
  return c.op === 'add' ? `add ${range} ${e820TypeName(c.type)} (${c.layer})` : `remove ${range} (${c.layer})`;
}

/** What the model did with one declared change (Prediction.intent.applied). */
export interface AppliedChange {
  readonly change: DeclaredChange;
  /** `describeChange(change)`. */
  readonly text: string;
  /** Where the stage applied it and what followed, one sentence. */
  readonly effect: string;
}
