// qtest's default concurrency (harness/qtest/matrix.ts defaultQtestJobs): twice the cores, as
// far as free memory allows one QEMU held at -S per 128 MiB; never less than one.

import { describe, expect, test } from 'vitest';
import { defaultQtestJobs } from '../../harness/qtest/matrix.ts';

const MiB = 2 ** 20;

describe('defaultQtestJobs', () => {
  test('twice the cores when memory allows', () => {
    expect(defaultQtestJobs(2, 16 * 1024 * MiB)).toBe(4);
    expect(defaultQtestJobs(8, 16 * 1024 * MiB)).toBe(16);
  });
  test('bounded by free memory, at least one', () => {
    expect(defaultQtestJobs(8, 512 * MiB)).toBe(4);
    expect(defaultQtestJobs(2, 100 * MiB)).toBe(1);
  });
});
