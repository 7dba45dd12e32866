// The cost estimate (harness/matrix/cost.ts) and the order the runner starts cells in: longest
// expected boot first, results still in the matrix's order.

import { describe, expect, test } from 'vitest';
import { COST_BASE_SECONDS, estimateCellCostSeconds, scheduleOrder } from '../../harness/matrix/cost.ts';
import { matrixPath } from '../../harness/matrix/paths.ts';
import { runMatrix } from '../../harness/matrix/runner.ts';
import { expandRuns, loadMatrix, parseMatrix } from '../../harness/matrix/schema.ts';
import { fakeDeps } from './fakes.ts';

const runsOf = (yaml: string) => expandRuns(parseMatrix(yaml, 'cost.yaml'));
const one = (qemu: string, extra = '') => runsOf(`cells:\n  - id: c\n    qemu: ${qemu}\n${extra}`)[0]!;

describe('cost estimate', () => {
  test('CPUs and RAM as the model reads every spelling (the last -smp wins, as in QEMU); an unreadable cell costs the base', () => {
    const cost = (qemu: string) => estimateCellCostSeconds(one(qemu));
    expect(cost('-M pc -smp 64')).toBe(cost('-M pc -smp 64,sockets=8,cores=8'));
    expect(cost('-M pc -smp 32')).toBe(cost('-M pc -smp sockets=2,cores=16'));
    expect(cost('-M pc -smp 4')).toBe(cost('-M pc -smp cpus=4,sockets=2,cores=2'));
    expect(cost('-M pc -smp 2 -smp 8')).toBe(cost('-M pc -smp 8'));
    expect(cost('-M pc -m 1024')).toBe(cost('-M pc -m 1G'));
    expect(cost('-M pc -m 2G,slots=2,maxmem=8G')).toBe(cost('-M pc -m 2G'));
    expect(cost('-M pc -m size=4G')).toBe(cost('-M pc -m 4G'));
    expect(cost('-M pc')).toBe(cost('-M pc -m 128M'));
    expect(cost('-M pc -m banana')).toBe(COST_BASE_SECONDS);
  });

  test('more CPUs, more RAM, a longer timeout: never cheaper; KVM is cheaper; the same cell, the same number', () => {
    const smp1 = estimateCellCostSeconds(one('-M pc -m 2G'));
    const smp16 = estimateCellCostSeconds(one('-M pc -m 2G -smp 16'));
    const smp64 = estimateCellCostSeconds(one('-M pc -m 2G -smp 64'));
    expect(smp1).toBeLessThan(smp16);
    expect(smp16).toBeLessThan(smp64);
    expect(estimateCellCostSeconds(one('-M pc -m 1G'))).toBeLessThan(estimateCellCostSeconds(one('-M pc -m 8G')));
    // The cell's own timeout is a hint: it raises the estimate, never lowers it.
    expect(estimateCellCostSeconds(one('-M pc -m 2G -smp 64', '    timeout: 600\n'))).toBeGreaterThan(smp64);
    expect(estimateCellCostSeconds(one('-M pc -m 2G -smp 64', '    timeout: 1\n'))).toBe(smp64);
    expect(estimateCellCostSeconds(one('-M pc -m 2G -accel kvm'))).toBeLessThan(smp1);
    expect(estimateCellCostSeconds(one('-M pc -m 2G -smp 16'))).toBe(smp16);
  });

  test('the baseline starts with its -smp 64 cells, then -smp 32, and keeps matrix order among equals', async () => {
    const runs = expandRuns(await loadMatrix(matrixPath('baseline')));
    const order = scheduleOrder(runs);
    expect([...order].sort((a, b) => a - b)).toEqual(runs.map((_, i) => i)); // a permutation
    const first = order.slice(0, 3).map((i) => runs[i]!.cell.id);
    expect(first.slice(0, 2).sort()).toEqual(['pc-2G-smp64', 'q35-4G-smp64-sockets8']);
    expect(first[2]).toBe('q35-2G-smp32');
    const costs = order.map((i) => estimateCellCostSeconds(runs[i]!));
    for (let k = 1; k < order.length; k++) {
      expect(costs[k - 1]!).toBeGreaterThanOrEqual(costs[k]!);
      if (costs[k - 1] === costs[k]) expect(order[k - 1]!).toBeLessThan(order[k]!);
    }
  });
});

describe('runMatrix schedule', () => {
  test('cells start longest-expected first; results come back in matrix order', async () => {
    const runs = runsOf(`cells:
  - id: small
    qemu: -M pc -m 1G
  - id: smp64
    qemu: -M pc -m 2G -smp 64
  - id: big-ram
    qemu: -M pc -m 8G
  - id: smp16
    qemu: -M pc -m 2G -smp 16
`);
    const started: string[] = [];
    const done: string[] = [];
    const summary = await runMatrix(runs, fakeDeps(), { jobs: 1, onStart: (r) => started.push(r.cell.id), onDone: (r) => done.push(r.id) });
    expect(started).toEqual(['smp64', 'smp16', 'big-ram', 'small']);
    expect(done).toEqual(started);
    expect(summary.results.map((r) => [r.id, r.outcome, r.attempts, r.retried])).toEqual([
      ['small', 'pass', 1, null],
      ['smp64', 'pass', 1, null],
      ['big-ram', 'pass', 1, null],
      ['smp16', 'pass', 1, null],
    ]);
  });

  test('an explicit order is kept', async () => {
    const runs = runsOf('cells:\n  - id: a\n    qemu: -m 1G\n  - id: b\n    qemu: -m 1G -smp 64\n');
    const started: string[] = [];
    await runMatrix(runs, fakeDeps(), { jobs: 1, order: [0, 1], onStart: (r) => started.push(r.cell.id) });
    expect(started).toEqual(['a', 'b']);
  });
});
