// reference/list.ts: insertAt and removeAt leave a list as Array.prototype.splice does.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { insertAt, removeAt } from '../../reference/list.ts';

describe('insertAt / removeAt', () => {
  it('insertAt(list, at, x) = list.splice(at, 0, x)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 12 }), fc.nat(), fc.integer(), (list, n, item) => {
        const at = n % (list.length + 1);
        const expected = [...list];
        expected.splice(at, 0, item);
        const got = [...list];
        insertAt(got, at, item);
        expect(got).toEqual(expected);
      }),
    );
  });

  it('removeAt(list, at) = list.splice(at, 1)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 12 }), fc.nat(), (list, n) => {
        const at = n % list.length;
        const expected = [...list];
        expected.splice(at, 1);
        const got = [...list];
        removeAt(got, at);
        expect(got).toEqual(expected);
      }),
    );
  });
});
