// The QEMU stage run on a command line, and what it refused with — for refusal tests.

import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import type { QemuVersion } from '../../reference/toolchain.ts';

export const stageOf = (args: string, qemu: QemuVersion | string = '7.2') => qemuStage(parseQemuArgs(args.split(' '), { qemuVersion: qemu }), QEMU_PROFILES[qemu as QemuVersion]);

/** QEMU's message for a configuration the stage refuses; throws when it does not refuse. */
export function qemuRefusalOf(args: string, qemu: QemuVersion | string = '7.2'): string {
  try {
    stageOf(args, qemu);
  } catch (e) {
    if (e instanceof QemuRefusal) return e.qemuMessage;
    throw e;
  }
  throw new Error(`no refusal for ${args}`);
}

/** The model's "not modelled" message; throws when the configuration is modelled. */
export function notModelledOf(args: string, qemu: QemuVersion | string = '7.2'): string {
  try {
    stageOf(args, qemu);
  } catch (e) {
    if (e instanceof UnsupportedOptionError) return e.message;
    throw e;
  }
  throw new Error(`not refused as unsupported: ${args}`);
}
