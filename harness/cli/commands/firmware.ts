// `e820 firmware build [--seabios 1.16.2] [--variant bios-256k|bios] [--patch FILE]… [--json]`
// Builds SeaBIOS from Debian's source package with the given patches, as Debian's debian/rules
// builds the variant, and caches the image (harness/provision/firmware-build.ts). Progress goes to
// stderr; stdout's last line is the image's path (with --json: path, version, variant, patches,
// sourceVersion, cached, seconds). Exit: 0 built or reused, 2 anything else (bad input, apt, build).

import type { Command } from 'commander';
import { buildFirmware, type FirmwareBuildOptions, type FirmwareBuildResult } from '../../provision/firmware-build.ts';
import { ProvisionError } from '../../provision/errors.ts';
import { cliInterrupt } from '../interrupt.ts';

export interface FirmwareBuildCliOptions {
  seabios?: string;
  variant?: string;
  patch?: string[];
  json?: boolean;
  /** Ask apt for the newest source version instead of the one remembered (provision/resolved.ts). */
  refresh?: boolean;
}

export interface FirmwareCliDeps {
  build: (o: FirmwareBuildOptions) => Promise<FirmwareBuildResult>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function firmwareBuildCommand(opts: FirmwareBuildCliOptions, deps: Partial<FirmwareCliDeps> = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const interrupt = cliInterrupt();
  try {
    const r = await (deps.build ?? buildFirmware)({
      ...(opts.seabios !== undefined ? { seabios: opts.seabios } : {}),
      ...(opts.variant !== undefined ? { variant: opts.variant } : {}),
      patches: opts.patch ?? [],
      ...(opts.refresh ? { fresh: true } : {}),
      signal: interrupt.signal,
      onProgress: (m) => err(`${m}\n`),
    });
    if (opts.json) {
      out(`${JSON.stringify({ path: r.path, version: r.version, variant: r.variant, patches: r.patches, sourceVersion: r.sourceVersion, cached: r.cached, seconds: r.seconds }, null, 2)}\n`);
    } else {
      err(`SeaBIOS (version ${r.version}), ${r.variant}, Debian source ${r.sourceVersion}${r.patches.length ? `, ${r.patches.length} patch(es)` : ''}; ${r.cached ? 'cached' : 'built'} in ${r.seconds} s\n`);
      out(`${r.path}\n`);
    }
    return 0;
  } catch (e) {
    if (interrupt.signal.aborted) {
      err('e820 firmware build: interrupted; the build was stopped and nothing was cached\n');
      return 130;
    }
    if (e instanceof ProvisionError) {
      err(`e820 firmware build: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    interrupt.release();
  }
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  const fw = program.command('firmware').description('SeaBIOS images built by the project (Debian source, your patches)');
  fw.command('build')
    .description("build SeaBIOS from Debian's source package with patches, as Debian builds the variant; prints the cached image's path")
    .option('--seabios <V>', 'SeaBIOS release whose Debian source is built: 1.14.0, 1.16.2, 1.16.3, 1.17.0', '1.16.2')
    .option('--variant <V>', "Debian's configuration: bios-256k (256 KiB, QEMU's default) or bios (128 KiB)", 'bios-256k')
    .option('--patch <FILE>', 'a unified diff applied with patch -p1 to the source tree (repeatable, applied in order)', collect)
    .option('--json', 'print {path, version, variant, patches, sourceVersion, cached, seconds} as JSON')
    .option('--refresh', 'ask apt for the source version again (a cached build of the version it gave before is used otherwise)')
    .action(async (opts: FirmwareBuildCliOptions) => {
      process.exitCode = await firmwareBuildCommand(opts);
    });
}
