// How long a cell is expected to boot, from the cell alone (pure: no QEMU, no clock), and the
// order the matrix runner starts cells in: longest expected first. A heavy cell (-smp 64 under
// TCG) started last shares the machine with nothing but its own tail, instead of queueing behind
// cheap cells and then competing with the next ones; results are still reported in matrix order.

import { cellArgv, type CellRun } from './schema.ts';

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

/** The value of `-opt VALUE` / `-opt=VALUE` (last one wins, as QEMU does). */
function optionValue(argv: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === `-${name}` || a === `--${name}`) && i + 1 < argv.length) value = argv[++i]!;
    else if (a.startsWith(`-${name}=`)) value = a.slice(name.length + 2);
  }
  return value;
}

function keyValues(spec: string): { first: string | null; keys: Map<string, string> } {
  const keys = new Map<string, string>();
  let first: string | null = null;
  spec.split(',').forEach((part, i) => {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (i === 0) first = part;
    } else keys.set(part.slice(0, eq), part.slice(eq + 1));
  });
  return { first, keys };
}

/** CPUs of `-smp N[,…]`, `-smp cpus=N,…` or only the topology (`sockets=2,cores=16`); 1 without -smp. */
export function cpusOf(argv: readonly string[]): number {
  const spec = optionValue(argv, 'smp');
  if (spec === null) return 1;
  const { first, keys } = keyValues(spec);
  const n = Number(first ?? keys.get('cpus') ?? NaN);
  if (Number.isInteger(n) && n > 0) return n;
  let product = 1;
  let any = false;
  for (const k of ['sockets', 'dies', 'clusters', 'cores', 'threads']) {
    const v = Number(keys.get(k));
    if (Number.isInteger(v) && v > 0) {
      product *= v;
      any = true;
    }
  }
  return any ? product : 1;
}

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1 / (1024 * 1024), K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** Guest RAM in MiB of `-m 1024` (MiB), `-m 2G,slots=…`, `-m size=4G`; QEMU's 128 MiB without -m. */
export function memoryMiBOf(argv: readonly string[]): number {
  const spec = optionValue(argv, 'm');
  if (spec === null) return 128;
  const { first, keys } = keyValues(spec);
  const m = /^(\d+(?:\.\d+)?)([BKMGT]?)i?B?$/i.exec((first ?? keys.get('size') ?? '').trim());
  if (m === null) return 128;
  return Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
}

function isKvm(argv: readonly string[]): boolean {
  const accel = optionValue(argv, 'accel');
  const machine = optionValue(argv, 'M') ?? optionValue(argv, 'machine') ?? '';
  return argv.includes('-enable-kvm') || (accel !== null && accel.split(',')[0] === 'kvm') || /(?:^|,)accel=kvm(?:$|[,:])/.test(machine);
}

/**
 * Expected idle-machine boot time of a cell, in seconds: a base, plus CPUs and RAM, never less
 * than the cell's own `timeout:` hint (COST_TIMEOUT_HINT_FRACTION of it); KVM cells cost a
 * fraction. Only the order of these numbers matters (scheduleOrder); they are not deadlines.
 */
export function estimateCellCostSeconds(run: Pick<CellRun, 'cell'>): number {
  const argv = cellArgv(run.cell);
  const cpus = cpusOf(argv);
  const gib = memoryMiBOf(argv) / 1024;
  let seconds = COST_BASE_SECONDS + (cpus - 1) * COST_PER_EXTRA_CPU_SECONDS + gib * COST_PER_GIB_SECONDS;
  if (run.cell.timeoutSeconds !== null) seconds = Math.max(seconds, run.cell.timeoutSeconds * COST_TIMEOUT_HINT_FRACTION);
  if (isKvm(argv)) seconds *= COST_KVM_FACTOR;
  return Math.round(seconds * 100) / 100;
}

/**
 * Indices of `runs` in the order the runner starts them: highest estimated cost first; equal
 * costs keep the matrix order (a stable sort).
 */
export function scheduleOrder(runs: readonly Pick<CellRun, 'cell'>[], cost: (run: Pick<CellRun, 'cell'>) => number = estimateCellCostSeconds): number[] {
  const costs = runs.map(cost);
  return runs.map((_, i) => i).sort((a, b) => costs[b]! - costs[a]! || a - b);
}
