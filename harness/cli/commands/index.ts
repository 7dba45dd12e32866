import type { Command } from 'commander';

/** Each subcommand module exports `register(program)`; add new ones here. */
export function registerCommands(program: Command): void {
  void program;
}
