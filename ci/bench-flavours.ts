// Benchmark block (prints numbers, asserts nothing): boot-to-verdict of one baseline cell per
// kernel flavour. `e820 check [--kernel-flavour minimal] -- -M pc -m 1G`, process start to exit
// through bin/e820.js, the two flavours alternated so both see the same machine load; median and
// p95 of each and the ratio cloud / minimal (issue 15's target: minimal ≤ 1.0 s and ≥ 4× faster).
// One untimed run of each first: it builds the minimal kernel if it is not cached (its time is
// printed) and warms the caches. `--flavour-checks N` (default 5; 0 skips). Run by ci/bench.ts,
// or alone: `npx tsx ci/bench-flavours.ts --flavour-checks 10`.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const p95 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;

export function flavourChecks(argv: readonly string[] = process.argv): number {
  const i = argv.indexOf('--flavour-checks');
  const n = i >= 0 ? Number(argv[i + 1]) : 5;
  return Number.isInteger(n) && n >= 0 ? n : 5;
}

/** Runs the block; returns the printed lines (also written with console.log). */
export function benchFlavours(runs: number = flavourChecks()): string[] {
  const out: string[] = [];
  const say = (l: string) => {
    out.push(l);
    console.log(l);
  };
  if (runs === 0) return out;
  const bin = join(import.meta.dirname, '..', 'bin', 'e820.js');
  const flavours = ['cloud', 'minimal'] as const;
  const check = (flavour: (typeof flavours)[number]): { seconds: number; status: number | null; stderr: string } => {
    const t = performance.now();
    const r = spawnSync(process.execPath, [bin, 'check', '--kernel-flavour', flavour, '--', '-M', 'pc', '-m', '1G'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 2 ** 20 });
    return { seconds: (performance.now() - t) / 1000, status: r.status, stderr: r.stderr ?? '' };
  };
  // Untimed: provisions (the first minimal use builds the kernel: minutes) and warms the caches.
  for (const f of flavours) {
    const r = check(f);
    const built = /kernel build: built \S+ in ([\d.]+) s/.exec(r.stderr);
    if (built) say(`boot-to-verdict: the minimal kernel was not cached; built in ${built[1]} s`);
    if (r.status !== 0) {
      say(`boot-to-verdict (${f}): not measured: the warm-up check exited ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
      return out;
    }
  }
  const times: Record<(typeof flavours)[number], number[]> = { cloud: [], minimal: [] };
  for (let i = 0; i < runs; i++) {
    for (const f of flavours) {
      const r = check(f);
      if (r.status !== 0) say(`boot-to-verdict (${f}): run ${i + 1} exited ${r.status}`);
      times[f].push(r.seconds);
    }
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(3)} s, p95 ${p95(xs).toFixed(3)} s`;
  say(`boot-to-verdict, check -M pc -m 1G, cloud kernel (${runs} runs): ${fmt(times.cloud)}`);
  say(`boot-to-verdict, check -M pc -m 1G, minimal kernel (${runs} runs): ${fmt(times.minimal)}`);
  say(`boot-to-verdict ratio cloud / minimal: ${(median(times.cloud) / median(times.minimal)).toFixed(2)}x (medians)`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) benchFlavours();
