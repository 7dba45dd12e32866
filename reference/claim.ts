// What the model claims about one QEMU command line, as a value: it boots (with the prediction),
// QEMU refuses it (with QEMU's words, and whether while reading options or during machine init),
// or the model does not cover it (the option and why). Pure: argv and toolchain in, claim out.
// `e820 predict --batch`, the argv coverage report (ci/coverage-argv.ts) and every verdict of the
// harness (harness/matrix/judge.ts) read these; the stages' errors are turned into claims here only.

import { HarnessOwnedOptionError, parseQemuArgs, QemuCmdlineError } from './cmdline/index.ts';
import type { MachineConfig } from './config.ts';
import { predict, type PredictOptions, type Prediction } from './predict.ts';
import { QemuRefusal, UnsupportedOptionError } from './stages.ts';
import type { Toolchain } from './toolchain.ts';

/** Where the model answered: 'options' while reading the command line (vl.c), 'machine' during machine init. */
export type ClaimStage = 'options' | 'machine';

export interface RefusalClaim {
  kind: 'refuses';
  stage: ClaimStage;
  /** The line QEMU prints after `qemu-system-x86_64: `. */
  qemuMessage: string;
  /** The hint lines QEMU prints after it (a parse-time refusal's), or null. */
  hint: string | null;
  message: string;
  /** The error class that carried it, for messages only (QemuCmdlineError, QemuRefusal). */
  label: string;
}

export interface NotModelledClaim {
  kind: 'not-modelled';
  stage: ClaimStage;
  option: string;
  detail: string;
  message: string;
  /** The harness sets this option itself (-kernel, isa-debugcon…): a boot of the cell as given cannot happen. */
  harnessOwned: boolean;
  /** The error class that carried it, for messages only (UnsupportedOptionError, HarnessOwnedOptionError). */
  label: string;
}

/** The claim whatever predict function made the prediction (the harness wraps the model's: harness/matrix/deps.ts). */
export type ClaimOf<P> = { kind: 'boots'; config: MachineConfig; prediction: P } | RefusalClaim | NotModelledClaim;

export type Claim = ClaimOf<Prediction>;

/** Claims are values; anything else thrown here is a defect in the model and propagates. */
export function claimFor(argv: readonly string[], toolchain: Toolchain, options: PredictOptions = {}): Claim {
  let config: MachineConfig;
  try {
    config = parseQemuArgs(argv, { qemuVersion: toolchain.qemu });
  } catch (err) {
    return claimOfError(err, 'options') ?? rethrow(err);
  }
  try {
    return { kind: 'boots', config, prediction: predict(config, toolchain, options) };
  } catch (err) {
    return claimOfError(err, 'machine') ?? rethrow(err);
  }
}

/**
 * The claim a stage's error states, or null when it states none (a defect, or an input that is no
 * configuration: the caller decides). The one place the model's errors become claims.
 */
export function claimOfError(err: unknown, stage: ClaimStage): RefusalClaim | NotModelledClaim | null {
  if (err instanceof UnsupportedOptionError) {
    return { kind: 'not-modelled', stage, option: err.option, detail: err.detail, message: err.message, harnessOwned: err instanceof HarnessOwnedOptionError, label: err.name };
  }
  if (err instanceof QemuRefusal) {
    const parsing = err instanceof QemuCmdlineError;
    return { kind: 'refuses', stage: parsing ? 'options' : stage, qemuMessage: err.qemuMessage, hint: parsing ? err.hint : null, message: err.message, label: err.name };
  }
  return null;
}

/** What QEMU prints for a refusal: the message, then its hint lines. */
export function refusalText(claim: RefusalClaim): string {
  return claim.hint !== null ? `${claim.qemuMessage}\n${claim.hint}` : claim.qemuMessage;
}

function rethrow(err: unknown): never {
  throw err;
}
