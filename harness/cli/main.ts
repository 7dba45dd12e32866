// The `e820` command. Each subcommand lives in its own module under ./commands and registers
// itself on the program; this file only wires them and maps errors to exit status. Only the
// named command's module is imported (commands/by-name.ts), so `predict` starts without the
// harness; help and unknown commands register all of them.

import { Command, CommanderError } from 'commander';
import { printable } from '../errors.ts';
import { sweepStaleCacheTemps } from '../provision/cache.ts';
import { sweepStaleBootDirs } from '../boot-dirs.ts';
import { commandModule } from './commands/by-name.ts';

const program = new Command()
  .name('e820')
  .description('Predict and capture the x86 firmware memory map (QEMU → SeaBIOS → Linux) and check they agree')
  .showHelpAfterError()
  // A usage error (unknown option, missing argument) exits 2 like any bad input, not commander's
  // 1, which `run` and `check` reserve for "a cell failed". Inherited by the subcommands.
  .exitOverride();

const only = commandModule(process.argv[2]);
if (only !== null) (await only()).register(program);
else (await import('./commands/index.ts')).registerCommands(program);

// Temp dirs a SIGKILLed e820 left behind (their owner pid is dead) go first: boots' and the cache's.
await sweepStaleBootDirs();
await sweepStaleCacheTemps();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed the message (and the help); --help and --version exit 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    reportError(err);
  }
}

function reportError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  // Messages can quote QEMU and the guest: control bytes are shown, not sent to the terminal.
  process.stderr.write(`e820: ${printable(message)}\n`);
  process.exitCode = typeof (err as { exitCode?: unknown }).exitCode === 'number' ? (err as { exitCode: number }).exitCode : 2;
}
