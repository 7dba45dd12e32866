// Issue 14 rule 3, checked against the real binaries: QEMU 5.2's TCG rejects the VEX-encoded BMI2
// instructions (SHLX) that the zstd decompressor of Linux 6.12 and 7.2 takes when CPUID shows BMI1
// and BMI2, so those guests triple-fault before the kernel prints anything; kernels 5.10 and 6.1
// (LZ4) and QEMU 7.2 are not affected. The conformance harness does not boot a kernel the model
// says cannot start (capture scope firmware), so this test does: each configuration boots with
// `-no-reboot` (a triple fault ends QEMU) and the serial console watched for "Linux version", and
// the model's claim (kernelCannotStart) must say the same. A toolchain that cannot be provisioned
// FAILS, naming the command that provisions it.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { resolveToolchain, type ResolvedToolchain } from '../../harness/provision/index.ts';
import { deathBound } from '../../harness/run-qemu.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { toolchainOf, type Toolchain } from '../../reference/toolchain.ts';

/** Long enough for the slowest start here ("Linux version" after about 2 s; a reset comes in under 1 s). */
const BOOT_TIMEOUT_MS = 90_000;

type Outcome = 'kernel started' | 'reset before the kernel printed';

async function boot(r: ResolvedToolchain, cpu: string): Promise<Outcome> {
  // The console goes to a file (a pipe from -serial stdio stalled once stdin was at EOF).
  const dir = await mkdtemp(join(tmpdir(), 'e820-bmi2-'));
  const serialLog = join(dir, 'serial.log');
  try {
    const argv = [r.qemu.binary, '-M', 'pc', '-m', '1G', '-cpu', cpu, '-accel', 'tcg', '-display', 'none', '-nodefaults',
      '-serial', `file:${serialLog}`, '-no-reboot', '-kernel', r.kernel.vmlinuz, '-append', 'console=ttyS0'];
    const [file, ...args] = deathBound(argv);
    const child = execa(file!, args, { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', reject: false, timeout: BOOT_TIMEOUT_MS });
    const printed = async (): Promise<boolean> => (await readFile(serialLog, 'latin1').catch(() => '')).includes('Linux version');
    let started = false;
    const poll = setInterval(() => {
      void printed().then((p) => {
        if (p && !started) {
          started = true;
          child.kill('SIGKILL');
        }
      });
    }, 200);
    const result = await child;
    clearInterval(poll);
    if (started || (await printed())) return 'kernel started';
    if (result.timedOut) throw new Error(`QEMU ${r.qemu.version} -cpu ${cpu}: neither a reset nor a kernel line within ${BOOT_TIMEOUT_MS / 1000} s`);
    if (result.exitCode !== 0) throw new Error(`QEMU ${r.qemu.version} -cpu ${cpu} exited ${result.exitCode} without starting the kernel (a refusal?)`);
    return 'reset before the kernel printed';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function claimed(toolchain: Toolchain, cpu: string): Outcome {
  const p = predict(parseQemuArgs(['-M', 'pc', '-m', '1G', '-cpu', cpu], { qemuVersion: toolchain.qemu }), toolchain);
  return p.report.kernel === undefined && p.unpredicted.some((u) => u.includes('BMI2')) ? 'reset before the kernel printed' : 'kernel started';
}

async function provision(toolchain: Toolchain): Promise<ResolvedToolchain> {
  try {
    return await resolveToolchain(toolchain);
  } catch (err) {
    throw new Error(
      `toolchain ${JSON.stringify(toolchain)} could not be provisioned (${(err as Error).message.split('\n')[0]}): ` +
        `npx e820 toolchain fetch --qemu ${toolchain.qemu} --seabios ${toolchain.seabios} --kernel ${toolchain.kernel}`,
    );
  }
}

const CASES: ReadonlyArray<{ toolchain: Toolchain; cpus: readonly string[] }> = [
  // Each side of the rule: models with both features, flags that add or remove one, models with neither.
  { toolchain: toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '6.12' }), cpus: ['Haswell', 'EPYC', 'qemu64,+bmi1,+bmi2', 'Haswell,-bmi1', 'qemu64,+bmi2', 'IvyBridge'] },
  // The same zstd kernel on 7.2, and 5.2 with the LZ4 kernel of 6.1: both start.
  { toolchain: toolchainOf({ qemu: '7.2', seabios: '1.16.2', kernel: '6.12' }), cpus: ['Haswell'] },
  { toolchain: toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '6.1' }), cpus: ['Haswell'] },
];

describe('TCG BMI2 and the zstd decompressor (issue 14 rule 3), real boots', () => {
  for (const { toolchain, cpus } of CASES) {
    it(`QEMU ${toolchain.qemu} + Linux ${toolchain.kernel}: ${cpus.join(' | ')}`, { timeout: 600_000 }, async () => {
      const r = await provision(toolchain);
      const observed: Record<string, Outcome> = {};
      const expected: Record<string, Outcome> = {};
      for (const cpu of cpus) {
        observed[cpu] = await boot(r, cpu);
        expected[cpu] = claimed(toolchain, cpu);
      }
      expect(observed).toEqual(expected);
      // The rule is not empty on this toolchain pair: at least one side of it is exercised.
      expect(new Set(Object.values(observed)).size).toBeGreaterThanOrEqual(toolchain.qemu === '5.2' && toolchain.kernel === '6.12' ? 2 : 1);
    });
  }
});
