// The two ways parsing stops: QEMU itself would refuse the line (QemuCmdlineError, with QEMU's
// words), or the harness owns the option (HarnessOwnedOptionError). Pure.

import { QemuRefusal, UnsupportedOptionError } from '../stages.ts';

/**
 * QEMU would exit while reading this option. `qemuMessage` is exactly the first line QEMU prints
 * after `qemu-system-x86_64: `; `hint` the lines it appends, if any.
 */
export class QemuCmdlineError extends QemuRefusal {
  constructor(
    /** The option as typed (`-m`, `--machine`). */
    readonly option: string,
    /** Its argument as typed; null for options without one. */
    readonly arg: string | null,
    qemuMessage: string,
    readonly hint: string | null = null,
  ) {
    super(qemuMessage);
    this.name = 'QemuCmdlineError';
    const where = arg === null ? option : `${option} ${arg}`;
    // QEMU usually names the option itself ("-m banana: …"); say where when it does not.
    this.message = qemuMessage.startsWith(where)
      ? `QEMU would refuse this command line: ${qemuMessage}`
      : `QEMU would refuse ${where}: ${qemuMessage}`;
  }
}

/** An option the harness supplies itself; a user command line must not carry it. */
export class HarnessOwnedOptionError extends UnsupportedOptionError {
  constructor(option: string, what: string) {
    super(
      option,
      `the harness adds ${what} itself (it boots its own kernel and initramfs and reads the serial and debug ports); remove it from the command line`,
    );
    this.name = 'HarnessOwnedOptionError';
  }
}
