// Benchmark: prints numbers, asserts nothing. `npm run bench` (model only) or
// `npm run bench -- --boots 5` (also the median wall time of N real captures).
//   predictions per second: the pure model over a mix of configurations, in this process (tsx,
//     as vitest runs it) and compiled (ci/bench-model.ts, as the CLI runs it), cold and steady;
//   capture wall time: `capture` of -M q35 -m 2G on the baseline toolchain, end to end;
//   predict --batch: command lines per second through the CLI (one process, JSON lines), end to end;
//   predict start-up: the compiled bin against the tsx path, median and p95 (`--startups N`);
//   warm check: `e820 check -- -M pc -m 1G` end to end, and split into start-up, provisioning,
//     prediction, boot and comparison (`--checks N`, default 3; 0 skips);
//   boot-to-verdict per kernel flavour: `check -M pc -m 1G` with the cloud and the minimal kernel,
//     median, p95 and their ratio (ci/bench-flavours.ts; `--flavour-checks N`, default 5; 0 skips);
//   boot timeline per flavour, set-up (warm, cold), cells/min of the default matrix at jobs 1 and
//     2 per flavour, each with its ratio against the cloud kernel (ci/bench-boot.ts; `--timeline N`,
//     `--matrix-cells N|all`, `--cold`, `--cold-kernels S,…|all`), the minimal kernel's build time
//     per series (cached, recorded, cold on request); qtest's configurations/s against booting the cloud kernel.
// `--only model,batch,startup,check,boots,qtest,flavours,boot` runs just those parts (default: all);
// each speed with a target in issue 15 is printed with that target and the 1-minute load average
// at the time (the machine is shared: a rate measured under load says so).

import { parseQemuArgs } from '../reference/cmdline/index.ts';
import { predict } from '../reference/predict.ts';
import { BASELINE_TOOLCHAIN } from '../reference/toolchain.ts';
import { capture } from '../harness/capture.ts';
import { availableParallelism, loadavg } from 'node:os';

const SECTIONS = ['model', 'batch', 'startup', 'check', 'boots', 'qtest', 'flavours', 'boot'] as const;
const onlyFlag = process.argv.indexOf('--only');
const only = onlyFlag >= 0 ? new Set((process.argv[onlyFlag + 1] ?? '').split(',')) : null;
for (const name of only ?? []) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: no part named ${name} (${SECTIONS.join(', ')})`);
const wanted = (section: (typeof SECTIONS)[number]): boolean => only === null || only.has(section);
/** The 1-minute load average, for every line whose number the machine's load moves. */
const load = (): string => `load ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;

const MODEL_ITERATIONS = 3000;
const CONFIGS = [
  ['-M', 'pc', '-m', '1G'],
  ['-M', 'q35', '-m', '6G', '-smp', '8,sockets=8'],
  ['-M', 'pc', '-m', '4G', '-append', 'memmap=1M$0x30000000 mem=3G'],
].map((argv) => parseQemuArgs(argv));

if (wanted('model')) {
  const t0 = performance.now();
  for (let i = 0; i < MODEL_ITERATIONS; i++) predict(CONFIGS[i % CONFIGS.length]!, BASELINE_TOOLCHAIN);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`model (in process, tsx): ${MODEL_ITERATIONS} predictions in ${seconds.toFixed(2)} s = ${Math.round(MODEL_ITERATIONS / seconds)} predictions/s (JIT still warming up)`);
  console.log(`model: heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB`);

  // The model compiled as the CLI runs it (esbuild, no tsx), in its own process: cold and steady.
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { build } = await import('esbuild');
  const repo = join(import.meta.dirname, '..');
  const out = join(repo, 'build', 'bench', 'model.js');
  await build({ entryPoints: [join(repo, 'ci', 'bench-model.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', outfile: out, logLevel: 'warning' });
  const r = JSON.parse(execFileSync(process.execPath, [out], { encoding: 'utf8' })) as { configs: number; cold: number; coldMs: number; steady: number; steadyMs: number; steadyCpuMs: number };
  console.log(
    `model (compiled): ${r.configs} configurations; first ${r.cold} predictions ${Math.round((r.cold / r.coldMs) * 1000)}/s; ` +
      `steady ${r.steady} in ${(r.steadyMs / 1000).toFixed(2)} s = ${Math.round((r.steady / r.steadyMs) * 1000)} predictions/s ` +
      `(${Math.round((r.steady / r.steadyCpuMs) * 1000)}/s of process CPU time; the two differ when the machine is busy); ` +
      `${((r.steady / r.steadyMs) * 1000 / (MODEL_ITERATIONS / seconds)).toFixed(1)}x the in-process tsx rate above; target ≥ 50,000/s (issue 15); ${load()}`,
  );
}

// The CLI blocks below measure the compiled CLI: a build older than the sources (bin/e820.js
// would run them through tsx) is rebuilt first, and said so.
if (wanted('batch') || wanted('startup') || wanted('check')) {
  const { buildCli, staleReason } = await import('../bin/build.js');
  const stale = staleReason();
  if (stale !== null) {
    await buildCli();
    console.log(`build: was stale (${stale}); rebuilt for the CLI measurements`);
  }
}

// predict --batch through the real CLI: a mix of predicted, refused and not-modelled lines.
if (wanted('batch')) {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const shapes = [
    { argv: ['-M', 'pc', '-m', '1G'] },
    { argv: ['-S', '-machine', 'q35,usb=off,dump-guest-core=off', '-accel', 'tcg', '-m', '2048', '-smp', '2,sockets=2,cores=1,threads=1', '-nodefaults', '-chardev', 'null,id=c0'], qemu: '11.1', seabios: '1.17.0' },
    { argv: ['-M', 'pc', '-m', '214', '-no-acpi', '-nodefaults'], qemu: '5.2', seabios: '1.14.0', kernel: '5.10' },
    { argv: ['-M', 'pc', '-no-acpi'], qemu: '11.1' },
    { argv: ['-M', 'pc', '-device', 'lsi'] },
  ];
  // Enough lines that the process start-up (~0.2 s) is a small part of the time.
  const LINES = 50_000;
  const dir = mkdtempSync(join(tmpdir(), 'e820-bench-'));
  try {
    const file = join(dir, 'lines.jsonl');
    writeFileSync(file, Array.from({ length: LINES }, (_, i) => JSON.stringify(shapes[i % shapes.length])).join('\n'));
    const start = performance.now();
    execFileSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'e820.js'), 'predict', '--batch', file], { stdio: ['ignore', 'ignore', 'ignore'] });
    const secs = (performance.now() - start) / 1000;
    console.log(`predict --batch: ${LINES} command lines in ${secs.toFixed(2)} s = ${Math.round(LINES / secs)} lines/s (process start to exit); ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const p95 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const flagValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

// predict start-up: process start to exit of `node bin/e820.js predict -- -M pc -m 1G`, the
// compiled CLI (bin/build.js) against the tsx path it replaced (E820_CLI_FROM=tsx), alternated so
// both see the same machine load; `node -e 0` for node's own share. A compiled run is kept only
// when the build was fresh both before and after it (otherwise bin/e820.js may have taken the tsx
// path): with sources edited meanwhile (other people at work) the build is rebuilt and the run
// repeated, up to 5 times, and the count said.
if (wanted('startup')) {
  const { spawnSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { buildCli, staleReason } = await import('../bin/build.js');
  const stale = staleReason();
  if (stale !== null) {
    await buildCli();
    console.log(`predict start-up: the build was stale (${stale}); rebuilt`);
  }
  const bin = join(import.meta.dirname, '..', 'bin', 'e820.js');
  const n = flagValue('--startups', 10);
  const time = (argv: string[], env: NodeJS.ProcessEnv = {}): number => {
    const t = performance.now();
    const r = spawnSync(process.execPath, argv, { env: { ...process.env, ...env }, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
    return (performance.now() - t) / 1000;
  };
  const compiled: number[] = [];
  const tsx: number[] = [];
  const bare: number[] = [];
  const args = [bin, 'predict', '--', '-M', 'pc', '-m', '1G'];
  let rebuilt = 0;
  let lost = 0;
  for (let i = 0; i < n; i++) {
    for (let attempt = 0; ; attempt++) {
      if (staleReason() !== null) {
        await buildCli();
        rebuilt++;
      }
      const t = time(args);
      if (staleReason() === null) {
        compiled.push(t);
        break;
      }
      if (attempt === 4) {
        lost++;
        break;
      }
    }
    tsx.push(time(args, { E820_CLI_FROM: 'tsx' }));
    bare.push(time(['-e', '0']));
  }
  const f = (xs: number[]) => `median ${median(xs).toFixed(3)} s, p95 ${p95(xs).toFixed(3)} s`;
  const churn = rebuilt > 0 || lost > 0 ? `; sources changed meanwhile: rebuilt ${rebuilt} times${lost > 0 ? `, ${lost} runs not measured` : ''}` : '';
  console.log(`predict start-up (compiled, ${compiled.length} runs): ${compiled.length > 0 ? f(compiled) : 'not measured'}; target ≤ 0.3 s (issue 15); ${load()}${churn}`);
  console.log(`predict start-up (tsx, the previous design): ${f(tsx)}${compiled.length > 0 ? `; ratio ${(median(tsx) / median(compiled)).toFixed(1)}x` : ''}`);
  console.log(`node -e 0 (node's own start-up): ${f(bare)}`);
}

// A warm `e820 check -- -M pc -m 1G`: end to end through the compiled CLI, then its parts in
// this process: start-up (`check --help`: the command's modules loaded, nothing run),
// provisioning of the baseline toolchain (warm: no apt, harness/provision/resolved.ts),
// prediction, boot (capture) and comparison (the rest of runCell). `--checks N` (default 3).
if (wanted('check')) {
  const checks = flagValue('--checks', 3);
  if (checks > 0) {
    try {
      const { spawnSync } = await import('node:child_process');
      const { join } = await import('node:path');
      const bin = join(import.meta.dirname, '..', 'bin', 'e820.js');
      const wall: number[] = [];
      const help: number[] = [];
      for (let i = 0; i < checks; i++) {
        let t = performance.now();
        const r = spawnSync(process.execPath, [bin, 'check', '--', '-M', 'pc', '-m', '1G'], { stdio: 'ignore' });
        wall.push((performance.now() - t) / 1000);
        if (r.status !== 0) console.log(`warm check: run ${i + 1} exited ${r.status}`);
        t = performance.now();
        spawnSync(process.execPath, [bin, 'check', '--help'], { stdio: 'ignore' });
        help.push((performance.now() - t) / 1000);
      }
      const { realDeps } = await import('../harness/matrix/deps.ts');
      const { runCell } = await import('../harness/matrix/runner.ts');
      const { adhocCell } = await import('../harness/cli/commands/check.ts');
      const cell = adhocCell(['-M', 'pc', '-m', '1G'], undefined, {});
      const run = { cell, toolchain: cell.toolchains[0]!, key: 'bench/check' };
      const parts = { provision: [] as number[], predict: [] as number[], boot: [] as number[], compare: [] as number[] };
      for (let i = 0; i < checks; i++) {
        const d = await realDeps();
        const t = performance.now();
        await d.provision?.(run.toolchain, () => {});
        parts.provision.push((performance.now() - t) / 1000);
        const r = await runCell(run, d, {});
        parts.predict.push(r.timings.predictMs / 1000);
        parts.boot.push(r.timings.captureMs / 1000);
        parts.compare.push(Math.max(0, r.timings.totalMs - r.timings.predictMs - r.timings.captureMs) / 1000);
      }
      const m = (xs: number[]) => median(xs).toFixed(3);
      console.log(`warm check -M pc -m 1G (compiled CLI, ${checks} runs): median ${m(wall)} s, p95 ${p95(wall).toFixed(3)} s`);
      console.log(
        `warm check split (medians): start-up ${m(help)} s (check --help), provisioning ${m(parts.provision)} s, ` +
          `prediction ${m(parts.predict)} s, boot ${m(parts.boot)} s, comparison ${m(parts.compare)} s`,
      );
    } catch (err) {
      console.log(`warm check: not measured: ${(err as Error).message}`);
    }
  }
}

const bootsFlag = process.argv.indexOf('--boots');
const boots = bootsFlag >= 0 ? Number(process.argv[bootsFlag + 1]) : 0;
if (boots > 0 && wanted('boots')) {
  const argv = ['-M', 'q35', '-m', '2G'];
  const config = parseQemuArgs(argv);
  const times: number[] = [];
  for (let i = 0; i < boots; i++) {
    const start = performance.now();
    const outcome = await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: argv });
    if (outcome.kind !== 'booted') throw new Error(`capture ${i + 1}/${boots}: ${outcome.kind}: ${outcome.message}`);
    times.push((performance.now() - start) / 1000);
    console.log(`capture ${i + 1}/${boots}: ${times[i]!.toFixed(2)} s`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`capture -M q35 -m 2G: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} s of ${boots} (min ${sorted[0]!.toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)})`);
}

/** qtest's configurations/s per --jobs, set against booting the cloud kernel at the end. */
let qtestRate: Record<number, number> | null = null;

// QEMU layer via qtest (harness/qtest/): configurations/s of suites/matrix/qemu-layer.yaml's
// runs on the baseline QEMU, at --jobs 1, 2 and qtest's default (one QEMU process per
// configuration, held at -S).
// `--qtest N` runs N of them per setting (default 100; 0 skips).
if (wanted('qtest')) {
  const { expandRuns, loadMatrix } = await import('../harness/matrix/schema.ts');
  const { matrixPath } = await import('../harness/matrix/paths.ts');
  const { defaultQtestJobs, runQtestRuns, toolsProvider } = await import('../harness/qtest/matrix.ts');
  const flag = process.argv.indexOf('--qtest');
  const n = flag >= 0 ? Number(process.argv[flag + 1]) : 100;
  if (n > 0) {
    const runs = expandRuns(await loadMatrix(matrixPath('qemu-layer'))).filter((r) => r.toolchain.qemu === BASELINE_TOOLCHAIN.qemu);
    const sample = Array.from({ length: n }, (_, i) => ({ ...runs[i % runs.length]!, key: `${runs[i % runs.length]!.key}#${i}` }));
    const tools = toolsProvider();
    qtestRate = {};
    await tools({ ...BASELINE_TOOLCHAIN, seabios: runs[0]!.toolchain.seabios, kernel: runs[0]!.toolchain.kernel });
    // The CPU time of the QEMU processes this one has waited for (/proc/self/stat cutime + cstime,
    // clock ticks of 10 ms): QEMU's start-up is the floor under a configuration's cost.
    const { readFileSync } = await import('node:fs');
    const childrenMs = (): number | null => {
      try {
        const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
        return (Number(f[13]) + Number(f[14])) * 10;
      } catch {
        return null;
      }
    };
    // 1 and 2 as before, then qtest's own default (twice the cores, harness/qtest/matrix.ts).
    for (const jobs of [...new Set([1, 2, defaultQtestJobs()])]) {
      const cpu0 = process.cpuUsage();
      const qemu0 = childrenMs();
      const s = await runQtestRuns(sample, tools, { jobs });
      const cpu = process.cpuUsage(cpu0);
      const qemu1 = childrenMs();
      const qemuCpu = qemu0 !== null && qemu1 !== null ? `, QEMU ${((qemu1 - qemu0) / n).toFixed(1)} ms` : '';
      qtestRate[jobs] = (n / s.wallMs) * 1000;
      console.log(
        `qtest (QEMU ${BASELINE_TOOLCHAIN.qemu}, --jobs ${jobs}): ${n} configurations in ${(s.wallMs / 1000).toFixed(2)} s = ${((n / s.wallMs) * 1000).toFixed(1)} configurations/s ` +
          `(${s.counts.pass} pass, ${s.counts.fail} fail, ${s.counts.error} error; node ${((cpu.user + cpu.system) / 1000 / n).toFixed(1)} ms${qemuCpu} CPU per configuration); ` +
          `target ≥ 50/s (issue 15); ${load()}`,
      );
    }
  }
}

// Boot-to-verdict per kernel flavour (ci/bench-flavours.ts): the cloud kernel (the previous
// design) and the project's minimal kernel, alternated in this run, and their ratio.
if (wanted('flavours')) {
  const { benchFlavours } = await import('./bench-flavours.ts');
  benchFlavours();
}

// The boot timeline, set-up and matrix throughput per flavour (ci/bench-boot.ts); then qtest set
// against the previous design's way to observe the QEMU layer, a cloud-kernel boot per
// configuration (its capture median, at the same --jobs, as if the boots shared the cores perfectly).
if (wanted('boot')) {
  const { benchKernelBuilds, benchMatrix, benchSetup, benchTimeline } = await import('./bench-boot.ts');
  const say = (l: string) => console.log(l);
  const tl = await benchTimeline(flagValue('--timeline', 5), say);
  await benchSetup(process.argv, say);
  benchKernelBuilds(process.argv, say);
  await benchMatrix(process.argv, say);
  if (tl !== null && qtestRate !== null) {
    for (const [jobs, rate] of Object.entries(qtestRate)) {
      const booted = Number(jobs) / tl.captureMedianS.cloud;
      say(`qtest --jobs ${jobs}: ${rate.toFixed(1)} configurations/s against ${booted.toFixed(2)}/s booting the cloud kernel (capture median ${tl.captureMedianS.cloud.toFixed(2)} s): ratio ${(rate / booted).toFixed(0)}x`);
    }
  }
}
