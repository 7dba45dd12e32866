// Benchmark: prints numbers, asserts nothing. `npm run bench` (model only) or
// `npm run bench -- --boots 5` (also the median wall time of N real captures).
//   predictions per second: the pure model over a mix of configurations;
//   capture wall time: `capture` of -M q35 -m 2G on the baseline toolchain, end to end;
//   predict --batch: command lines per second through the CLI (one process, JSON lines), end to end.

import { parseQemuArgs } from '../reference/cmdline.ts';
import { predict } from '../reference/predict.ts';
import { BASELINE_TOOLCHAIN } from '../reference/toolchain.ts';
import { capture } from '../harness/capture.ts';

const MODEL_ITERATIONS = 3000;
const CONFIGS = [
  ['-M', 'pc', '-m', '1G'],
  ['-M', 'q35', '-m', '6G', '-smp', '8,sockets=8'],
  ['-M', 'pc', '-m', '4G', '-append', 'memmap=1M$0x30000000 mem=3G'],
].map((argv) => parseQemuArgs(argv));

const t0 = performance.now();
for (let i = 0; i < MODEL_ITERATIONS; i++) predict(CONFIGS[i % CONFIGS.length]!, BASELINE_TOOLCHAIN);
const seconds = (performance.now() - t0) / 1000;
console.log(`model: ${MODEL_ITERATIONS} predictions in ${seconds.toFixed(2)} s = ${Math.round(MODEL_ITERATIONS / seconds)} predictions/s`);
console.log(`model: heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB`);

// predict --batch through the real CLI: a mix of predicted, refused and not-modelled lines.
{
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
  const LINES = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'e820-bench-'));
  try {
    const file = join(dir, 'lines.jsonl');
    writeFileSync(file, Array.from({ length: LINES }, (_, i) => JSON.stringify(shapes[i % shapes.length])).join('\n'));
    const start = performance.now();
    execFileSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'e820.js'), 'predict', '--batch', file], { stdio: ['ignore', 'ignore', 'ignore'] });
    const secs = (performance.now() - start) / 1000;
    console.log(`predict --batch: ${LINES} command lines in ${secs.toFixed(2)} s = ${Math.round(LINES / secs)} lines/s (process start to exit)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bootsFlag = process.argv.indexOf('--boots');
const boots = bootsFlag >= 0 ? Number(process.argv[bootsFlag + 1]) : 0;
if (boots > 0) {
  const argv = ['-M', 'q35', '-m', '2G'];
  const config = parseQemuArgs(argv);
  const times: number[] = [];
  for (let i = 0; i < boots; i++) {
    const start = performance.now();
    await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: argv });
    times.push((performance.now() - start) / 1000);
    console.log(`capture ${i + 1}/${boots}: ${times[i]!.toFixed(2)} s`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`capture -M q35 -m 2G: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} s of ${boots} (min ${sorted[0]!.toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)})`);
}

// QEMU layer via qtest (harness/qtest/): configurations/s of suites/matrix/qemu-layer.yaml's
// runs on the baseline QEMU, at --jobs 1 and 2 (one QEMU process per configuration, held at -S).
// `--qtest N` runs N of them per setting (default 100; 0 skips).
{
  const { expandRuns, loadMatrix } = await import('../harness/matrix/schema.ts');
  const { matrixPath } = await import('../harness/matrix/paths.ts');
  const { runQtestRuns, toolsProvider } = await import('../harness/qtest/matrix.ts');
  const flag = process.argv.indexOf('--qtest');
  const n = flag >= 0 ? Number(process.argv[flag + 1]) : 100;
  if (n > 0) {
    const runs = expandRuns(await loadMatrix(matrixPath('qemu-layer'))).filter((r) => r.toolchain.qemu === BASELINE_TOOLCHAIN.qemu);
    const sample = Array.from({ length: n }, (_, i) => ({ ...runs[i % runs.length]!, key: `${runs[i % runs.length]!.key}#${i}` }));
    const tools = toolsProvider();
    await tools({ ...BASELINE_TOOLCHAIN, seabios: runs[0]!.toolchain.seabios, kernel: runs[0]!.toolchain.kernel });
    for (const jobs of [1, 2]) {
      const cpu0 = process.cpuUsage();
      const s = await runQtestRuns(sample, tools, { jobs });
      const cpu = process.cpuUsage(cpu0);
      console.log(
        `qtest (QEMU ${BASELINE_TOOLCHAIN.qemu}, --jobs ${jobs}): ${n} configurations in ${(s.wallMs / 1000).toFixed(2)} s = ${((n / s.wallMs) * 1000).toFixed(1)} configurations/s ` +
          `(${s.counts.pass} pass, ${s.counts.fail} fail, ${s.counts.error} error; node ${((cpu.user + cpu.system) / 1000 / n).toFixed(1)} ms CPU per configuration)`,
      );
    }
  }
}
