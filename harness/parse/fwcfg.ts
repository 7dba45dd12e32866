// fw_cfg `etc/e820` as the guest dumps it (`od -An -v -tx1`: lines of space-separated two-digit
// hex bytes) → bytes → QEMU's records. Record layout (hw/i386/e820_memory_layout.h; docs/model/qemu.md#what-etce820-holds):
// packed little-endian u64 address, u64 length, u32 type; 20 bytes each, no header.

import type { E820Record } from '../../reference/e820.ts';
import { LogParseError, type LogSource } from './errors.ts';
import { toLines, type LinesInput } from './lines.ts';

export const FWCFG_E820_RECORD_BYTES = 20;

const BYTE = /^[0-9a-fA-F]{2}$/;

/** The bytes of an `od -An -v -tx1` dump. */
export function parseHexDump(input: LinesInput, source: LogSource = 'serial'): Uint8Array {
  const out: number[] = [];
  for (const line of toLines(input)) {
    const tokens = line.text.trim().split(/\s+/).filter((t) => t !== '');
    for (const t of tokens) {
      if (t === '*') {
        // od collapses repeated lines to `*` unless given -v: the byte count would be wrong.
        throw new LogParseError(source, line.no, line.text, 'od elided repeated lines ("*")', 'the guest must run od with -v');
      }
      if (!BYTE.test(t)) {
        throw new LogParseError(source, line.no, line.text, `"${t}" is not a two-digit hex byte`, 'expected `od -An -v -tx1` output (no address column)');
      }
      out.push(parseInt(t, 16));
    }
  }
  return Uint8Array.from(out);
}

function u64le(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return v;
}

function u32le(b: Uint8Array, at: number): number {
  // `>>> 0` keeps types ≥ 2^31 (e.g. 0xefffffff) positive.
  return ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;
}

/** Decodes the raw etc/e820 bytes into records in file order. */
export function decodeE820Records(bytes: Uint8Array): E820Record[] {
  const records: E820Record[] = [];
  for (let at = 0; at + FWCFG_E820_RECORD_BYTES <= bytes.length; at += FWCFG_E820_RECORD_BYTES) {
    records.push({ start: u64le(bytes, at), length: u64le(bytes, at + 8), type: u32le(bytes, at + 16) });
  }
  return records;
}

/** The fwcfg-e820 section body → etc/e820 records in file order. */
export function parseFwCfgE820(input: LinesInput, source: LogSource = 'serial'): E820Record[] {
  const lines = toLines(input);
  const bytes = parseHexDump(lines, source);
  if (bytes.length % FWCFG_E820_RECORD_BYTES !== 0) {
    const last = lines[lines.length - 1] ?? { no: 0, text: '' };
    throw new LogParseError(
      source,
      last.no,
      last.text,
      `etc/e820 holds ${bytes.length} bytes, not a multiple of ${FWCFG_E820_RECORD_BYTES}`,
      'the dump was cut or the file is not etc/e820',
    );
  }
  return decodeE820Records(bytes);
}
