// reference/e820.ts nameOfType: the kernel profiles' type-name tables read through their dense
// arrays give what the tables themselves give, for every type a prediction can meet.

import { describe, expect, it } from 'vitest';
import { E820, nameOfType } from '../../reference/e820.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';

const TYPES = [...Array.from({ length: 300 }, (_, t) => t), E820.SOFT_RESERVED, 2 ** 32 - 1, 2 ** 32 + 1, -1, 1.5, Number.NaN];

describe('nameOfType', () => {
  for (const [version, profile] of Object.entries(KERNEL_PROFILES)) {
    it(`${version}: typeText and resourceName as the tables spell them`, () => {
      for (const table of [profile.typeText, profile.resourceName]) {
        for (const type of TYPES) expect(nameOfType(table, type)).toBe(table[type]);
      }
    });
  }
});
