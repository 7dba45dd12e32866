// reference/address.ts: the hex spellings, whose digits are remembered by value (hexDigits' memo).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, hexPadded, kernelHex } from '../../reference/address.ts';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('hex spellings', () => {
  it('hex, hexPadded and kernelHex spell the value as toString(16) and padStart do', () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: 0, max: 40 }), (v, width) => {
        const digits = v.toString(16);
        expect(hex(v)).toBe(`0x${digits}`);
        expect(hexPadded(v, width)).toBe(digits.padStart(width, '0'));
        expect(kernelHex(v, width)).toBe(`0x${digits.padStart(width - 2, '0')}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('stay right past the memo bound (10,000 distinct values, then the first ones again)', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => BigInt(i) * 0x1001n);
    for (const v of values) expect(hex(v)).toBe(`0x${v.toString(16)}`);
    for (const v of values.slice(0, 100)) expect(kernelHex(v, 18)).toBe(`0x${v.toString(16).padStart(16, '0')}`);
  });

  it('the kernel width counts the 0x: %#010llx', () => {
    expect(kernelHex(0n, 10)).toBe('0x00000000');
    expect(kernelHex(0x100000000n, 10)).toBe('0x100000000');
    expect(hexPadded(0x9fc00n, 8)).toBe('0009fc00');
  });
});
