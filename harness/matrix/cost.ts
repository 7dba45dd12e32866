// How long a cell is expected to boot, from the cell alone (pure: no QEMU, no clock), and the
// order the matrix runner starts cells in: longest expected first. A heavy cell (-smp 64 under
// TCG) started last shares the machine with nothing but its own tail, instead of queueing behind
// cheap cells and then competing with the next ones; results are still reported in matrix order.

import { DEFAULT_RAM_SIZE, parseQemuArgs } from '../../reference/cmdline/index.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import type { CellRun } from './schema.ts';
import { cellArgv } from './cell-argv.ts';

/** Seconds a small TCG boot of the harness guest takes on an idle machine (SeaBIOS, kernel, /init). */
export const COST_BASE_SECONDS = 4;
/** Seconds each CPU beyond the first adds under TCG (secondary bring-up, per-CPU setup; with lpj=). */
export const COST_PER_EXTRA_CPU_SECONDS = 0.17;
/** Seconds each GiB of guest RAM adds (the kernel initialises its struct pages). */
export const COST_PER_GIB_SECONDS = 0.4;
/**
 * A cell's own `timeout:` is written for its worst case on an idle machine; its expected boot
 * is taken as this fraction of it (pc-2G-smp64: timeout 180 s, ~15 s alone).
 */
export const COST_TIMEOUT_HINT_FRACTION = 1 / 12;
/** Under KVM the guest runs natively: a fraction of the TCG cost. */
export const COST_KVM_FACTOR = 0.3;


/**
 * CPUs and RAM as the model reads the cell's command line (reference/cmdline/), so the estimate
 * follows every spelling QEMU accepts; a cell the model cannot read costs the base.
 */
function sizeOf(run: Pick<CellRun, 'cell'> & Partial<Pick<CellRun, 'toolchain'>>): { cpus: number; ramMiB: number; kvm: boolean } | null {
  let config: MachineConfig;
  try {
    config = parseQemuArgs(cellArgv(run.cell), { qemuVersion: (run.toolchain ?? run.cell.toolchains[0] ?? BASELINE_TOOLCHAIN).qemu });
  } catch {
    return null;
  }
  const { cpus, sockets, dies, cores, threads } = config.smp;
  const topology = [sockets, dies, cores, threads].reduce<number | null>((p, n) => (n === null ? p : (p ?? 1) * n), null);
  return {
    cpus: cpus ?? topology ?? 1,
    ramMiB: Number((config.memory.size ?? DEFAULT_RAM_SIZE) / (1024n * 1024n)),
    kvm: config.accel === 'kvm',
  };
}

/**
 * Expected idle-machine boot time of a cell, in seconds: a base, plus CPUs and RAM, never less
 * than the cell's own `timeout:` hint (COST_TIMEOUT_HINT_FRACTION of it); KVM cells cost a
 * fraction. Only the order of these numbers matters (scheduleOrder); they are not deadlines.
 */
export function estimateCellCostSeconds(run: Pick<CellRun, 'cell'> & Partial<Pick<CellRun, 'toolchain'>>): number {
  const size = sizeOf(run);
  let seconds = COST_BASE_SECONDS + (size === null ? 0 : (size.cpus - 1) * COST_PER_EXTRA_CPU_SECONDS + (size.ramMiB / 1024) * COST_PER_GIB_SECONDS);
  if (run.cell.timeoutSeconds !== null) seconds = Math.max(seconds, run.cell.timeoutSeconds * COST_TIMEOUT_HINT_FRACTION);
  if (size?.kvm) seconds *= COST_KVM_FACTOR;
  return Math.round(seconds * 100) / 100;
}

/**
 * Indices of `runs` in the order the runner starts them: highest estimated cost first; equal
 * costs keep the matrix order (a stable sort).
 */
export function scheduleOrder<R extends Pick<CellRun, 'cell'> & Partial<Pick<CellRun, 'toolchain'>>>(runs: readonly R[], cost: (run: R) => number = estimateCellCostSeconds): number[] {
  const costs = runs.map(cost);
  return runs.map((_, i) => i).sort((a, b) => costs[b]! - costs[a]! || a - b);
}
