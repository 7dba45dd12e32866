import type { Command } from 'commander';
import { register as registerRun } from './run.ts';
import { register as registerCheck } from './check.ts';
import { register as registerSnapshots } from './snapshots.ts';
import { register as registerCapture } from './capture.ts';
import { register as registerPredict } from './predict.ts';
import { register as registerToolchain } from './toolchain.ts';
import { register as registerDrift } from './drift.ts';
import { register as registerDocs } from './docs.ts';
import { register as registerKvm } from './kvm.ts';
import { register as registerExplore } from './explore.ts';
import { register as registerFirmware } from './firmware.ts';
import { register as registerQtest } from './qtest.ts';
import { register as registerKernel } from './kernel.ts';
import { register as registerReport } from './report.ts';
import { register as registerHistory } from './history.ts';
import { register as registerHost } from './host.ts';

/**
 * Each subcommand module exports `register(program)`; add new ones here and, by their command's
 * name, in by-name.ts (what main.ts imports alone; suites/harness/cli-build.test.ts checks both agree).
 */
export function registerCommands(program: Command): void {
  void program;
  registerRun(program);
  registerCheck(program);
  registerSnapshots(program);
  registerCapture(program);
  registerPredict(program);
  registerToolchain(program);
  registerDrift(program);
  registerDocs(program);
  registerKvm(program);
  registerExplore(program);
  registerFirmware(program);
  registerQtest(program);
  registerKernel(program);
  registerReport(program);
  registerHistory(program);
  registerHost(program);
}
