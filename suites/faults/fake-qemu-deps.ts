// MatrixDeps for fault probes: the real model, parsers and capture, a fake QEMU script
// (suites/harness/fake-qemu), and no provisioning (the guest is never built).

import { capture, type ProvisionedToolchain } from '../../harness/capture.ts';
import { isE820IomemLine, type MatrixDeps } from '../../harness/matrix/deps.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { fake } from '../harness/helpers.ts';

/** `env` goes to the fake QEMU's environment (the fakes read their knobs from it). */
export function fakeQemuDeps(script: string, env: Record<string, string> = {}): MatrixDeps {
  const provisioned: ProvisionedToolchain = {
    qemu: { binary: fake(script), version: 'QEMU emulator version 7.2.22 (fake)', env },
    kernel: { image: '/k', fwCfgModule: null },
      initramfs: '/i',
  };
  return {
    parseArgs: (argv, qemuVersion) => parseQemuArgs(argv, { qemuVersion }),
    predict: (config, toolchain) => ({ report: predict(config, toolchain).report }),
    capture: (config, toolchain, options) => capture(config, toolchain, { ...options, provisioned }),
    isE820IomemLine,
  };
}
