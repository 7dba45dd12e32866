// What the model claims about one QEMU command line, as a value: it boots (with the prediction),
// QEMU refuses it (with QEMU's words, and whether while reading options or during machine init),
// or the model does not cover it (the option and why). Pure: argv and toolchain in, claim out.
// `e820 predict --batch` and the argv coverage report (ci/coverage-argv.ts) print these.

import { parseQemuArgs, QemuCmdlineError } from './cmdline/index.ts';
import type { MachineConfig } from './config.ts';
import { predict, type PredictOptions, type Prediction } from './predict.ts';
import { QemuRefusal, UnsupportedOptionError } from './stages.ts';
import type { Toolchain } from './toolchain.ts';

export type Claim =
  | { kind: 'boots'; config: MachineConfig; prediction: Prediction }
  | {
      kind: 'refuses';
      /** 'options': vl.c rejects it while reading the command line; 'machine': during machine init. */
      stage: 'options' | 'machine';
      /** The line QEMU prints after `qemu-system-x86_64: `. */
      qemuMessage: string;
      message: string;
    }
  | { kind: 'not-modelled'; option: string; detail: string; message: string };

/** Claims are values; anything else thrown here is a defect in the model and propagates. */
export function claimFor(argv: readonly string[], toolchain: Toolchain, options: PredictOptions = {}): Claim {
  let config: MachineConfig;
  try {
    config = parseQemuArgs(argv, { qemuVersion: toolchain.qemu });
  } catch (err) {
    return asClaim(err, 'options');
  }
  try {
    return { kind: 'boots', config, prediction: predict(config, toolchain, options) };
  } catch (err) {
    return asClaim(err, 'machine');
  }
}

function asClaim(err: unknown, stage: 'options' | 'machine'): Claim {
  if (err instanceof UnsupportedOptionError) return { kind: 'not-modelled', option: err.option, detail: err.detail, message: err.message };
  if (err instanceof QemuRefusal) {
    return { kind: 'refuses', stage: err instanceof QemuCmdlineError ? 'options' : stage, qemuMessage: err.qemuMessage, message: err.message };
  }
  throw err;
}
