import { describe, expect, it } from 'vitest';
import { LogParseError } from '../../harness/parse/errors.ts';
import { decodeE820Records, parseFwCfgE820, parseHexDump } from '../../harness/parse/fwcfg.ts';
import { e820Bytes, od, PC1G_FWCFG } from './samples.ts';

describe('fw_cfg etc/e820 dump', () => {
  it('decodes the pc 1 GiB TCG file (HT hole first, then RAM)', () => {
    expect(PC1G_FWCFG.split('\n')[0]).toBe(' 00 00 00 00 fd 00 00 00 00 00 00 00 03 00 00 00');
    expect(parseFwCfgE820(PC1G_FWCFG)).toEqual([
      { start: 0xfd00000000n, length: 0x300000000n, type: 2 },
      { start: 0n, length: 0x40000000n, type: 1 },
    ]);
  });

  it('decodes full 64-bit values and types >= 2^31', () => {
    const bytes = e820Bytes([[0xfffffffffffff000n, 0x1000n, 0xefffffff]]);
    expect(decodeE820Records(Uint8Array.from(bytes))).toEqual([{ start: 0xfffffffffffff000n, length: 0x1000n, type: 0xefffffff }]);
  });

  it('rejects a byte count that is not a multiple of 20, naming the last line', () => {
    const text = od(e820Bytes([[0n, 0x40000000n, 1]]).slice(0, 19));
    const e = (() => { try { parseFwCfgE820(text); } catch (x) { return x; } })() as LogParseError;
    expect(e).toBeInstanceOf(LogParseError);
    expect(e.problem).toMatch(/19 bytes, not a multiple of 20/);
    expect(e.line).toBe(2);
  });

  it('rejects bad hex and od address columns, naming the line', () => {
    expect(() => parseHexDump(' 00 01\n 0g 00')).toThrow(/line 2: "0g" is not a two-digit hex byte/);
    expect(() => parseHexDump('0000000 00 01')).toThrow(/line 1: "0000000"/);
    expect(() => parseHexDump(' 00 00\n*\n')).toThrow(/line 2: od elided repeated lines/);
  });
});
