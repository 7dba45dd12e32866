// Each subcommand's module by the command's name, imported only when that command runs: `e820
// predict` then loads the model and not what only `run`/`capture` need (execa, log-update, the
// matrix runner). index.ts registers them all (help, an unknown command, the tests).
import type { Command } from 'commander';

type CommandModule = { register(program: Command): void };

export const COMMAND_MODULES: Readonly<Record<string, () => Promise<CommandModule>>> = {
  run: () => import('./run.ts'),
  check: () => import('./check.ts'),
  snapshots: () => import('./snapshots.ts'),
  capture: () => import('./capture.ts'),
  predict: () => import('./predict.ts'),
  toolchain: () => import('./toolchain.ts'),
  drift: () => import('./drift.ts'),
  docs: () => import('./docs.ts'),
  kvm: () => import('./kvm.ts'),
  explore: () => import('./explore.ts'),
  firmware: () => import('./firmware.ts'),
  kernel: () => import('./kernel.ts'),
  qtest: () => import('./qtest.ts'),
  report: () => import('./report.ts'),
  history: () => import('./history.ts'),
  host: () => import('./host.ts'),
};

/** The module of the command named by `word` (argv's first operand), or null: then register them all. */
export function commandModule(word: string | undefined): (() => Promise<CommandModule>) | null {
  return word !== undefined && Object.hasOwn(COMMAND_MODULES, word) ? COMMAND_MODULES[word]! : null;
}
