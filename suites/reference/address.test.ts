// reference/address.ts: the hex spellings (%llx, %#0Nllx, zero-padded) against toString(16) and padStart.

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

  it('the kernel width counts the 0x: %#010llx', () => {
    expect(kernelHex(0n, 10)).toBe('0x00000000');
    expect(kernelHex(0x100000000n, 10)).toBe('0x100000000');
    expect(hexPadded(0x9fc00n, 8)).toBe('0009fc00');
  });
});
