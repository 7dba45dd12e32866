// A small seeded PRNG for the explore generator. Pure, no module state: a run is replayed from
// (seed, index) alone, and cell i does not depend on how many cells were asked for.
//
// Why not fast-check: it is a devDependency (test-only), and `e820 explore` is a CLI command that
// must run from a production install; shrinking is done by hand in triage (docs/model/explore-findings.md),
// not by the generator.

/** Largest seed accepted (seeds are printed and typed back in: keep them to 32 bits). */
export const MAX_SEED = 0xffff_ffff;

/** splitmix32-style integer hash: spreads (seed, index) into an independent stream start. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** Uniform bigint multiple of `step` in [lo, hi] (both rounded inward to `step`). */
  bigStep(lo: bigint, hi: bigint, step: bigint): bigint;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: [[weight, value], …]. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T;
}

/** mulberry32 stream for cell `index` of run `seed`. */
export function rngFor(seed: number, index: number): Rng {
  let state = mix32(mix32(seed >>> 0) ^ Math.imul(index + 1, 0x27d4eb2d));
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    bigStep(lo, hi, step) {
      const first = (lo + step - 1n) / step;
      const last = hi / step;
      if (last < first) return first * step;
      const span = Number(last - first);
      return (first + BigInt(Math.floor(next() * (span + 1)))) * step;
    },
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('rng.pick of an empty list');
      return items[int(0, items.length - 1)]!;
    },
    weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
      const total = items.reduce((s, [w]) => s + w, 0);
      let x = next() * total;
      for (const [w, v] of items) {
        if (x < w) return v;
        x -= w;
      }
      return items[items.length - 1]![1];
    },
  };
}

/** Parses a `--seed` value: a whole number in [0, 2^32). */
export function parseSeed(text: string): number {
  const t = text.trim();
  const n = /^(0x[0-9a-f]+|[0-9]+)$/i.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SEED) {
    throw Object.assign(new Error(`--seed ${JSON.stringify(text)}: expected a whole number from 0 to ${MAX_SEED}`), { exitCode: 2 });
  }
  return n;
}
