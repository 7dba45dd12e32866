// `e820 run [matrix…] [--shard i/n] [--jobs N] [--results DIR] [--qemu V --seabios V --kernel V]`
// Boots every cell of the matrices, compares with the model, writes results.json + junit.xml,
// prints a summary. Exit: 0 all pass, 1 any fail, 2 any error (or interrupted).

import type { Command } from 'commander';
import { DEFAULT_MATRIX } from '../../matrix/paths.ts';
import { KERNEL_FLAVOUR_OPTION } from '../../user-toolchain-flags.ts';
import { withUserToolchainOptions } from '../../user-toolchain/index.ts';
import { EXPECT_HELP, HOST_LA57_HELP, HOST_PHYS_BITS_HELP, HOST_VENDOR_HELP } from '../options.ts';
import { runCommand, type RunOptions } from '../run-matrix.ts';
import { SSH_FLAG_HELP } from '../../host/connect.ts';

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('boot every cell of the matrices, compare with the model layer by layer, write results.json and junit.xml')
    .argument('[matrix...]', `matrix names (suites/matrix/<name>.yaml) or paths; default: ${DEFAULT_MATRIX}`)
    .option('--shard <i/n>', 'run only the i-th of n shards (round-robin by cell order)')
    .option('--jobs <N>', 'concurrent boots (default: number of cores)')
    .option('--results <DIR>', 'results directory (default: results/<timestamp>/)')
    .option('--qemu <V>', 'QEMU version for every cell (replaces the cells\' toolchains)')
    .option('--seabios <V>', 'SeaBIOS version for every cell')
    .option('--kernel <V>', 'Linux version (or point release, e.g. 5.10.262) for every cell')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--timeout <SECONDS>', 'overall deadline of each boot (default 600; a boot silent for 60 s ends sooner; a cell\'s timeout: only lengthens it)')
    .option('--only <REGEX>', 'run only the cells whose key (matrix/id) matches')
    .option('--plain', 'plain progress lines even on a terminal')
    .option('--host-vendor <vendor>', HOST_VENDOR_HELP)
    .option('--host-phys-bits <N>', HOST_PHYS_BITS_HELP)
    .option('--host-la57 <on|off>', HOST_LA57_HELP)
    .option('--expect <FILE>', `${EXPECT_HELP}; for every cell (a matrix's own expect: conflicts)`)
    .option('--host <ssh://user@host[:port]>', 'also boot cells on the machine at this URL (repeatable); it needs QEMU there (installed with apt when missing, as root)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--host-jobs <N>', 'boots at once on each --host (default 1)')
    .option(...SSH_FLAG_HELP.knownHosts)
    .option(...SSH_FLAG_HELP.hostKey)
    .option(...SSH_FLAG_HELP.identity);
  withUserToolchainOptions(cmd).action(async (matrices: string[], opts: RunOptions) => {
    process.exitCode = await runCommand(matrices, opts);
  });
}
