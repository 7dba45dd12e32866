// Both guest kernel flavours on real boots: a few baseline cells, each booted with Debian's cloud
// kernel and with the project's minimal kernel (harness/provision/kernel-build.ts; the cached
// build, or built here the first time: minutes). Every layer must agree with the model for both,
// and for these cells the model predicts the same layers for both flavours — so, both passing,
// what the machine reported is identical between the two kernels. Also: the minimal kernel is
// what the flavour says (its release, fw_cfg built in) and its profile's init_size is the image's.

import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { timestampDir } from '../harness/cli/options.ts';
import { realDeps } from '../harness/matrix/deps.ts';
import { REPO_ROOT, matrixPath } from '../harness/matrix/paths.ts';
import { cellArgv, expandRuns, loadMatrix } from '../harness/matrix/schema.ts';
import { buildMinimalKernel, MINIMAL_LOCALVERSION } from '../harness/provision/kernel-build.ts';
import { withKernelFlavour } from '../harness/user-toolchain-flags.ts';
import { kernelProfileForRelease } from '../reference/profiles/kernel.ts';
import { bootingSuite, CELL_TEST_TIMEOUT_MS } from './booting-suite.ts';
import { expectCellPassed } from './cell-verdict.ts';

/** pc and q35 (MMCONFIG), NUMA, RAM above 4 GiB, a user memmap=, memory hotplug, small RAM. */
const CELLS = ['pc-1G', 'q35-2G', 'pc-numa-2x512M', 'pc-4G', 'pc-2G-memmap-rsv1M', 'q35-2G-slots2-maxmem8G', 'pc-128M'];
/** The first run builds the kernel (about 10 minutes on two busy cores). */
const PROVISION_TIMEOUT_MS = 45 * 60_000;

const base = expandRuns((await loadMatrix(matrixPath('baseline'))).filter((c) => CELLS.includes(c.id)));
const runs = base.flatMap((r) => (['cloud', 'minimal'] as const).map((f) => ({ ...r, toolchain: withKernelFlavour(r.toolchain, f), key: `${r.key}/${f}` })));
const deps = await realDeps();
const suite = bootingSuite({
  runs,
  deps,
  resultsDir: join(REPO_ROOT, 'results', `flavours-${timestampDir()}`),
  matrices: ['baseline'],
  command: ['vitest', 'suites/flavours.test.ts'],
  provisionTimeoutMs: PROVISION_TIMEOUT_MS,
});
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));

describe('the minimal kernel', () => {
  test('is the series release with the minimal suffix, fw_cfg built in, init_size as its profile says', async () => {
    const k = await buildMinimalKernel({ series: '6.1' });
    expect(k.cached).toBe(true);
    expect(k.release).toMatch(new RegExp(`^6\\.1\\.\\d+${MINIMAL_LOCALVERSION}$`));
    expect(k.fwCfgSysfs).toBe('y');
    expect(k.fwCfgModule).toBeNull();
    expect(k.initSize).toBe(kernelProfileForRelease('6.1', undefined, 'minimal').guestInitSize);
  });
});

describe(`both kernel flavours on ${CELLS.length} baseline cells`, () => {
  test('the cells exist', () => expect(base.map((r) => r.cell.id).sort()).toEqual([...CELLS].sort()));

  for (const r of base) {
    test('the model predicts the same layers for both flavours: ' + r.cell.id, () => {
      const config = deps.parseArgs(cellArgv(r.cell), r.toolchain.qemu);
      const cloud = deps.predict(config, withKernelFlavour(r.toolchain, 'cloud'));
      const minimal = deps.predict(config, withKernelFlavour(r.toolchain, 'minimal'));
      expect(json(minimal.report)).toBe(json(cloud.report));
    });
  }

  describe.concurrent('boots', () => {
    for (const run of runs) {
      test(run.key, async () => {
        const result = await suite.boot(run);
        expectCellPassed(run.key, result);
        const release = String(result.versions?.kernel ?? '');
        if (run.toolchain.kernelFlavour === 'minimal') expect(release).toMatch(new RegExp(`${MINIMAL_LOCALVERSION}$`));
        else expect(release).toMatch(/-cloud-amd64$/);
      }, CELL_TEST_TIMEOUT_MS);
    }
  });
});
