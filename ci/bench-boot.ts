// Benchmark blocks (print numbers, assert nothing) that set the minimal kernel against the cloud
// kernel, the previous design, in the same run (issue 15 item 5):
//   boot timeline: per-stage medians of `capture -M pc -m 1G` per flavour (QEMU start, SeaBIOS
//     map, kernel start, init, sections, exit), from the boot's own stage events
//     (harness/run-qemu.ts BootEvent), the flavours alternated; `--timeline N` (default 5; 0 skips);
//   set-up: warm provisioning of the baseline toolchain per flavour (a warm call asks apt nothing,
//     harness/provision/resolved.ts), and the cold build time of the minimal kernel as its cache
//     manifest recorded it; `--cold` also provisions the cloud toolchain into an empty cache
//     (downloads: minutes) for its cold time;
//   kernel build time per series: `e820 kernel build --kernel S --json` against the cache (the
//     cached answer's time, and the build time its manifest recorded), and with
//     `--cold-kernels 6.1,5.10|all` into an empty cache: the whole cold build (Debian source from
//     apt, make), ~10 min a series on two cores;
//   matrix throughput: cells/min of the default matrix through the CLI (`e820 run --jobs J
//     --kernel-flavour F`, process start to exit) at jobs 1 and 2; `--matrix-cells N` runs every
//     k-th cell so that N are run (default 12; `--matrix-cells all` the whole matrix; 0 skips).
// Run by ci/bench.ts, or alone: `npx tsx ci/bench-boot.ts --timeline 7 --matrix-cells all`.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { capture, provisionToolchain } from '../harness/capture.ts';
import { DEFAULT_MATRIX, matrixPath } from '../harness/matrix/paths.ts';
import { expandRuns, loadMatrix } from '../harness/matrix/schema.ts';
import type { BootEvent } from '../harness/run-qemu.ts';
import { parseQemuArgs } from '../reference/cmdline/index.ts';
import { BASELINE_TOOLCHAIN, KERNEL_VERSIONS, type KernelFlavour, type Toolchain } from '../reference/toolchain.ts';

const FLAVOURS = ['cloud', 'minimal'] as const satisfies readonly KernelFlavour[];
const toolchainOf = (f: KernelFlavour): Toolchain => (f === 'cloud' ? BASELINE_TOOLCHAIN : { ...BASELINE_TOOLCHAIN, kernelFlavour: f });

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const p95 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const ratio = (previous: number, now: number): string => (now > 0 ? `${(previous / now).toFixed(2)}x` : '-');

function flag(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** The boot's stages as the timeline prints them: [label, the event that ends it]. */
const STAGES: ReadonlyArray<readonly [string, (e: BootEvent) => boolean]> = [
  ['QEMU started', (e) => e.stage === 'spawned'],
  ['SeaBIOS map printed', (e) => e.stage === 'firmware'],
  ['kernel started', (e) => e.stage === 'kernel'],
  ['init started', (e) => e.stage === 'init'],
  ['sections printed', (e) => e.stage === 'done'],
  // Once DONE is read the harness ends QEMU itself (harness/run-qemu.ts POWEROFF_GRACE_MS is 0), unless the guest's power-off got there first.
  ['QEMU exited', (e) => e.stage === 'exited'],
];

/** Per-stage medians of N captures per flavour (ms since QEMU was spawned), and the whole capture's wall time. */
export async function benchTimeline(runs: number, say: (l: string) => void): Promise<{ captureMedianS: Record<KernelFlavour, number> } | null> {
  if (runs === 0) return null;
  const argv = ['-M', 'pc', '-m', '1G'];
  const config = parseQemuArgs(argv);
  const at: Record<KernelFlavour, number[][]> = { cloud: [], minimal: [] };
  const wall: Record<KernelFlavour, number[]> = { cloud: [], minimal: [] };
  const provisioned = Object.fromEntries(await Promise.all(FLAVOURS.map(async (f) => [f, await provisionToolchain(toolchainOf(f))] as const)));
  for (let i = 0; i < runs + 1; i++) {
    for (const f of FLAVOURS) {
      const events: BootEvent[] = [];
      const t = performance.now();
      const outcome = await capture(config, toolchainOf(f), { qemuArgs: argv, provisioned: provisioned[f]!, onEvent: (e) => events.push(e) });
      if (outcome.kind !== 'booted') throw new Error(`capture ${f}: ${outcome.kind}: ${outcome.message}`);
      const ms = performance.now() - t;
      if (i === 0) continue; // warm-up: initramfs cache, page cache
      at[f].push([...STAGES.map(([, is]) => events.find(is)?.elapsedMs ?? NaN), ms]);
      wall[f].push(ms);
    }
  }
  const labels = [...STAGES.map(([l]) => l), 'capture returned (logs parsed, temp dir gone)'];
  say(`boot timeline, capture -M pc -m 1G (${runs} runs per flavour, alternated; ms since QEMU was spawned, medians):`);
  for (const [k, label] of labels.entries()) {
    const c = median(at.cloud.map((r) => r[k]!));
    const m = median(at.minimal.map((r) => r[k]!));
    say(`  ${label.padEnd(44)} cloud ${c.toFixed(0).padStart(6)}  minimal ${m.toFixed(0).padStart(6)}  ratio ${ratio(c, m)}`);
  }
  // Each stage's own share: the step from the previous stage's median.
  const steps = (f: KernelFlavour) => labels.map((_, k) => median(at[f].map((r) => r[k]! - (k === 0 ? 0 : r[k - 1]!))));
  const [sc, sm] = [steps('cloud'), steps('minimal')];
  say(`  per step (medians of the differences): ${labels.map((l, k) => `${l.split(' (')[0]} ${sc[k]!.toFixed(0)}→${sm[k]!.toFixed(0)}`).join(', ')} ms (cloud→minimal)`);
  return { captureMedianS: { cloud: median(wall.cloud) / 1000, minimal: median(wall.minimal) / 1000 } };
}

/** Warm provisioning per flavour; the minimal kernel's recorded cold build; optionally a cold cloud set-up. */
export async function benchSetup(argv: readonly string[], say: (l: string) => void): Promise<void> {
  const warm: Record<KernelFlavour, number[]> = { cloud: [], minimal: [] };
  let buildSeconds: number | null = null;
  for (let i = 0; i < 5; i++) {
    for (const f of FLAVOURS) {
      const t = performance.now();
      const p = await provisionToolchain(toolchainOf(f));
      warm[f].push((performance.now() - t) / 1000);
      if (f === 'minimal' && buildSeconds === null) {
        const manifest = join(p.kernel.image, '..', 'manifest.json');
        try {
          buildSeconds = (JSON.parse(readFileSync(manifest, 'utf8')) as { buildSeconds?: number }).buildSeconds ?? null;
        } catch {
          buildSeconds = null;
        }
      }
    }
  }
  const f = (xs: number[]) => `median ${median(xs).toFixed(3)} s, p95 ${p95(xs).toFixed(3)} s`;
  say(`set-up, warm provisioning of ${BASELINE_TOOLCHAIN.qemu}/${BASELINE_TOOLCHAIN.seabios}/${BASELINE_TOOLCHAIN.kernel} (5 runs, no apt): cloud ${f(warm.cloud)}; minimal ${f(warm.minimal)}; ratio ${ratio(median(warm.cloud), median(warm.minimal))}`);
  say(`set-up, cold: the minimal ${BASELINE_TOOLCHAIN.kernel} kernel's build took ${buildSeconds ?? '?'} s when its cache entry was filled (its manifest's buildSeconds); the cloud kernel is a download`);
  if (argv.includes('--cold')) {
    const dir = mkdtempSync(join(tmpdir(), 'e820-bench-cold-'));
    try {
      const t = performance.now();
      const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'e820.js'), 'toolchain', 'fetch', '--qemu', BASELINE_TOOLCHAIN.qemu, '--seabios', BASELINE_TOOLCHAIN.seabios, '--kernel', BASELINE_TOOLCHAIN.kernel], { env: { ...process.env, E820_CACHE_DIR: dir }, stdio: 'ignore' });
      say(`set-up, cold (empty cache, e820 toolchain fetch of the baseline, cloud kernel): ${((performance.now() - t) / 1000).toFixed(1)} s${r.status !== 0 ? ` (exited ${r.status})` : ''}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

interface KernelBuildAnswer {
  seconds: number;
  buildSeconds: number | null;
  cached: boolean;
}

/** `e820 kernel build --kernel S --json` in a process of its own; the cache is E820_CACHE_DIR when given. */
function kernelBuild(series: string, cacheDir?: string): { wallS: number; answer: KernelBuildAnswer | null; status: number | null } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'e820.js'), 'kernel', 'build', '--kernel', series, '--json'], {
    env: cacheDir === undefined ? process.env : { ...process.env, E820_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'ignore'],
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  let answer: KernelBuildAnswer | null = null;
  try {
    answer = JSON.parse(r.stdout) as KernelBuildAnswer;
  } catch {
    answer = null;
  }
  return { wallS: (performance.now() - t) / 1000, answer, status: r.status };
}

/** The minimal kernel's build time per series: cached (and as recorded), and cold on request. */
export function benchKernelBuilds(argv: readonly string[], say: (l: string) => void): void {
  for (const series of KERNEL_VERSIONS) {
    const warm = kernelBuild(series);
    say(
      warm.answer === null
        ? `kernel build ${series}, cached: e820 kernel build failed (exit ${warm.status}); run it to see why`
        : `kernel build ${series}, cached: ${warm.wallS.toFixed(2)} s process start to exit (${warm.answer.cached ? `a cache hit; the build recorded ${warm.answer.buildSeconds ?? '?'} s when the entry was filled` : `not cached: built now in ${warm.answer.seconds} s`})`,
    );
  }
  const i = argv.indexOf('--cold-kernels');
  if (i < 0) return;
  const list = argv[i + 1] === 'all' ? [...KERNEL_VERSIONS] : (argv[i + 1] ?? '').split(',').filter((v) => v !== '');
  for (const series of list) {
    const dir = mkdtempSync(join(tmpdir(), 'e820-bench-cold-kernel-'));
    try {
      const cold = kernelBuild(series, dir);
      say(
        cold.answer === null
          ? `kernel build ${series}, cold (empty cache): failed after ${cold.wallS.toFixed(0)} s (exit ${cold.status})`
          : `kernel build ${series}, cold (empty cache: Debian source from apt, make): ${cold.wallS.toFixed(0)} s process start to exit (the build itself, source fetch to cache entry: ${cold.answer.buildSeconds ?? '?'} s)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** cells/min of (a sample of) the default matrix through the CLI, per flavour, at jobs 1 and 2. */
export async function benchMatrix(argv: readonly string[], say: (l: string) => void): Promise<void> {
  const i = argv.indexOf('--matrix-cells');
  const all = i >= 0 && argv[i + 1] === 'all';
  const wanted = all ? Infinity : flag(argv, '--matrix-cells', 12);
  if (wanted === 0) return;
  const runs = expandRuns(await loadMatrix(matrixPath(DEFAULT_MATRIX)));
  const step = Math.max(1, Math.floor(runs.length / Math.min(wanted, runs.length)));
  const sample = runs.filter((_, k) => k % step === 0).slice(0, Math.min(wanted, runs.length));
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const only = `^(?:${sample.map((r) => escape(r.key)).join('|')})$`;
  const bin = join(import.meta.dirname, '..', 'bin', 'e820.js');
  const rate: Record<string, number> = {};
  for (const jobs of [1, 2]) {
    for (const f of FLAVOURS) {
      const dir = mkdtempSync(join(tmpdir(), 'e820-bench-run-'));
      try {
        const t = performance.now();
        const r = spawnSync(process.execPath, [bin, 'run', DEFAULT_MATRIX, '--jobs', String(jobs), '--kernel-flavour', f, '--plain', '--results', dir, ...(all ? [] : ['--only', only])], { stdio: 'ignore' });
        const s = (performance.now() - t) / 1000;
        rate[`${f}/${jobs}`] = (sample.length / s) * 60;
        say(`matrix ${DEFAULT_MATRIX}, ${all ? 'all' : `${sample.length} of`} ${runs.length} cells, --jobs ${jobs}, ${f} kernel: ${s.toFixed(1)} s = ${rate[`${f}/${jobs}`]!.toFixed(1)} cells/min${r.status !== 0 ? ` (exited ${r.status})` : ''}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    say(`matrix --jobs ${jobs}: minimal / cloud ${ratio(rate[`minimal/${jobs}`]!, rate[`cloud/${jobs}`]!)} cells/min`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const say = (l: string) => console.log(l);
  await benchTimeline(flag(process.argv, '--timeline', 5), say);
  await benchSetup(process.argv, say);
  await benchMatrix(process.argv, say);
}
