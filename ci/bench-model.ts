// The model loop of ci/bench.ts, run as its own process from an esbuild bundle (build/bench/,
// inside the checkout): the model as the compiled CLI runs it, without tsx's transform (whose
// keepNames wrapper alone costs a tenth of a prediction). Prints one JSON line.
//
// The configurations vary RAM sizes, machines, -smp and kernel arguments over 48 command lines,
// so no stage sees the same input twice in a row. The first COLD predictions (the JIT warming
// up) and the steady rate over at least STEADY_MS are reported separately.

import { parseQemuArgs } from '../reference/cmdline/index.ts';
import { predict } from '../reference/predict.ts';
import { BASELINE_TOOLCHAIN } from '../reference/toolchain.ts';

const COLD = 3000;
const STEADY_MS = 2000;

const CONFIGS = ['512M', '1G', '3G', '4G', '6G', '12G'].flatMap((m) => [
  ['-M', 'pc', '-m', m],
  ['-M', 'q35', '-m', m],
  ['-M', 'q35', '-m', m, '-smp', '8,sockets=8'],
  ['-M', 'pc', '-m', m, '-smp', '4'],
  ['-M', 'pc', '-m', m, '-append', 'memmap=1M$0x30000000'],
  ['-M', 'q35', '-m', m, '-append', 'mem=3G'],
  ['-M', 'pc', '-m', m, '-nodefaults'],
  ['-M', 'q35', '-m', m, '-device', 'virtio-blk-pci,drive=d0', '-drive', 'if=none,id=d0,file=/dev/null,format=raw'],
]).map((argv) => parseQemuArgs(argv));

const coldStart = performance.now();
for (let i = 0; i < COLD; i++) predict(CONFIGS[i % CONFIGS.length]!, BASELINE_TOOLCHAIN);
const coldMs = performance.now() - coldStart;

let n = 0;
const start = performance.now();
const cpu0 = process.cpuUsage();
let now = start;
while (now - start < STEADY_MS) {
  for (let i = 0; i < 1000; i++, n++) predict(CONFIGS[n % CONFIGS.length]!, BASELINE_TOOLCHAIN);
  now = performance.now();
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ configs: CONFIGS.length, cold: COLD, coldMs, steady: n, steadyMs: now - start, steadyCpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
