// `e820 kernel build [--kernel 6.1] [--refresh] [--json]`
// Builds the project's minimal guest kernel of a series from Debian's linux source package with
// guests/kernel/minimal.config and caches it (harness/provision/kernel-build.ts); run, check,
// capture, explore, drift and kvm boot it by default (building it there too when needed).
// Progress (phases, elapsed time) goes to stderr; stdout's last line is the bzImage's path (with
// --json: path, release, sourceVersion, initSize, cached, seconds, buildSeconds). Exit: 0 built or
// reused, 2 anything else (bad input, apt, build), 130 interrupted.

import type { Command } from 'commander';
import { KERNEL_VERSIONS, type KernelVersion } from '../../../reference/toolchain.ts';
import { ProvisionError } from '../../provision/errors.ts';
import { buildMinimalKernel, type KernelBuildOptions, type KernelBuildResult } from '../../provision/kernel-build.ts';
import { cliInterrupt } from '../interrupt.ts';

export interface KernelBuildCliOptions {
  kernel?: string;
  json?: boolean;
  refresh?: boolean;
}

export interface KernelCliDeps {
  build: (o: KernelBuildOptions) => Promise<KernelBuildResult>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function kernelBuildCommand(opts: KernelBuildCliOptions, deps: Partial<KernelCliDeps> = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const series = opts.kernel ?? '6.1';
  if (!(KERNEL_VERSIONS as readonly string[]).includes(series)) {
    err(`e820 kernel build: --kernel ${JSON.stringify(series)} is not a kernel series; give one of ${KERNEL_VERSIONS.join(', ')}\n`);
    return 2;
  }
  const interrupt = cliInterrupt();
  try {
    const r = await (deps.build ?? buildMinimalKernel)({
      series: series as KernelVersion,
      ...(opts.refresh ? { fresh: true } : {}),
      signal: interrupt.signal,
      onProgress: (m) => err(`${m}\n`),
    });
    if (opts.json) {
      const { vmlinuz, release, sourceVersion, initSize, cached, seconds, buildSeconds } = r;
      out(`${JSON.stringify({ path: vmlinuz, release, sourceVersion, initSize: `0x${initSize.toString(16)}`, cached, seconds, buildSeconds }, null, 2)}\n`);
    } else {
      err(`Linux ${r.release}, Debian source ${r.sourceVersion}, init_size 0x${r.initSize.toString(16)}; ${r.cached ? `cached (built in ${r.buildSeconds} s)` : 'built'}, ${r.seconds} s\n`);
      out(`${r.vmlinuz}\n`);
    }
    return 0;
  } catch (e) {
    if (interrupt.signal.aborted) {
      err('e820 kernel build: interrupted; the build was stopped and nothing was cached\n');
      return 130;
    }
    if (e instanceof ProvisionError) {
      err(`e820 kernel build: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    interrupt.release();
  }
}

export function register(program: Command): void {
  const k = program.command('kernel').description('the minimal guest kernel built by the project (Debian source, guests/kernel/minimal.config)');
  k.command('build')
    .description("build the minimal guest kernel of a series from Debian's linux source package; prints the cached bzImage's path")
    .option('--kernel <V>', `kernel series: ${KERNEL_VERSIONS.join(', ')}`, '6.1')
    .option('--json', 'print {path, release, sourceVersion, initSize, cached, seconds, buildSeconds} as JSON')
    .option('--refresh', 'ask apt for the source version again (a cached build of the version it gave before is used otherwise)')
    .action(async (opts: KernelBuildCliOptions) => {
      process.exitCode = await kernelBuildCommand(opts);
    });
}
