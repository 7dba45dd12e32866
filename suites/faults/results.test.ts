// Fault injection, results: what a run writes must be true (a layer that was not observed cannot
// pass) and must land (an unusable or shared results directory is found before the first boot).

import { describe, expect } from 'vitest';
import { capture, type ProvisionedToolchain } from '../../harness/capture.ts';
import { isE820IomemLine, type MatrixDeps } from '../../harness/matrix/deps.ts';
import { runCell } from '../../harness/matrix/runner.ts';
import { parseMatrix } from '../../harness/matrix/schema.ts';
import { parseQemuArgs } from '../../reference/cmdline.ts';
import { predict } from '../../reference/predict.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { fake } from '../harness/helpers.ts';
import { faultProbe } from './ledger.ts';

/** The real model and capture, with a fake QEMU and no provisioning (the guest is never built). */
function depsWith(script: string): MatrixDeps {
  const provisioned: ProvisionedToolchain = {
    qemu: { binary: fake(script), version: 'QEMU emulator version 7.2.22 (fake)' },
    kernel: { image: '/k', fwCfgModule: null },
    busybox: '/b',
  };
  return {
    parseArgs: (argv, qemuVersion) => parseQemuArgs(argv, { qemuVersion }),
    predict: (config, toolchain) => ({ report: predict(config, toolchain).report }),
    capture: (config, toolchain, options) => capture(config, toolchain, { ...options, provisioned, deps: { buildInitramfs: async () => '/i' } }),
    isE820IomemLine,
  };
}

const pc1G = () => ({ cell: parseMatrix('cells:\n  - id: pc-1G\n    qemu: -M pc -m 1G\n', '/m/faults.yaml')[0]!, toolchain: BASELINE_TOOLCHAIN, key: 'faults/pc-1G' });

describe('results', () => {
  faultProbe('a SeaBIOS debug log of random bytes cannot pass: the firmware layer is unobserved, the cell is an error', async () => {
    // The same replayed boot with its real firmware log passes (so the probe can tell the two apart).
    const good = await runCell(pc1G(), depsWith('real-pc-1G.sh'));
    expect(good.outcome, JSON.stringify(good.verdict)).toBe('pass');
    const r = await runCell(pc1G(), depsWith('garbage-firmware.sh'));
    expect(r.outcome).toBe('error');
    expect(r.verdict?.outcome === 'error' && r.verdict.error.kind).toBe('Unobserved');
    expect(r.verdict?.outcome === 'error' && r.verdict.error.message).toMatch(/firmware\.e820 \(no "e820 map has N items:" dump in the SeaBIOS log/);
    return {};
  });
});
