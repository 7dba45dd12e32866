// --kernel-flavour on explore, drift and kvm, without booting: the explore.yaml and the
// reproducers name the flavour (matrix toolchains carry none), drift predicts both sides for it,
// and kvm refuses an unknown one.

import { describe, expect, it } from 'vitest';
import { kvmCommand } from '../../harness/cli/commands/kvm.ts';
import { loadDrift } from '../../harness/cli/commands/drift.ts';
import { exploreMatrixText, reproducer } from '../../harness/explore/explore.ts';
import { generateCells } from '../../harness/explore/generate.ts';
import { parseMatrix } from '../../harness/matrix/schema.ts';
import { BASELINE_TOOLCHAIN, type Toolchain } from '../../reference/toolchain.ts';

const minimal: Toolchain = { ...BASELINE_TOOLCHAIN, kernelFlavour: 'minimal' };

describe('explore --kernel-flavour minimal', () => {
  const generated = generateCells({ seed: 7, count: 2, toolchain: minimal });
  const text = exploreMatrixText(generated, { seed: 7, count: 2, toolchain: minimal });

  it('writes a matrix whose toolchain the spec parser reads, and commands that name the flavour', () => {
    expect(text).toContain('--toolchain qemu-7.2+seabios-1.16.2+linux-6.1 --kernel-flavour minimal`');
    expect(text).toContain('e820 explore --replay THIS_FILE --kernel-flavour minimal --only');
    expect(parseMatrix(text, 'explore.yaml')[0]!.toolchains).toEqual([BASELINE_TOOLCHAIN]);
  });

  it('reproduces a cell with the flavour, the cloud kernel too (the default is minimal); a toolchain without one (a user kernel) gets no flag', () => {
    const cell = parseMatrix(text, 'explore.yaml')[0]!;
    const r = reproducer(cell, minimal, '/r/explore.yaml');
    expect(r.check).toMatch(/^npx e820 check --kernel-flavour minimal (--append \S+ )?(--timeout \d+ )?-- /);
    expect(r.replay).toContain('--replay /r/explore.yaml --kernel-flavour minimal --only');
    const cloud = reproducer(cell, { ...BASELINE_TOOLCHAIN, kernelFlavour: 'cloud' }, '/r/explore.yaml');
    expect(cloud.check).toMatch(/^npx e820 check --kernel-flavour cloud /);
    expect(cloud.replay).toContain('--replay /r/explore.yaml --kernel-flavour cloud --only');
    expect(reproducer(cell, BASELINE_TOOLCHAIN, '/r/explore.yaml').check).not.toContain('--kernel-flavour');
  });
});

describe('drift --kernel-flavour', () => {
  it('predicts both sides for the flavour', async () => {
    const { report } = await loadDrift([], { from: 'bookworm', to: 'trixie', only: 'pc-1G$', kernelFlavour: 'minimal' });
    expect(report.from.toolchain.kernelFlavour).toBe('minimal');
    expect(report.to.toolchain.kernelFlavour).toBe('minimal');
    expect(report.from.label).toBe('qemu-7.2+seabios-1.16.2+linux-6.1-minimal');
  });
});

describe('kvm --kernel-flavour', () => {
  it('refuses an unknown flavour before provisioning anything', async () => {
    let err = '';
    const code = await kvmCommand({ kernelFlavour: 'tiny' }, { stderr: (s) => void (err += s), provision: () => Promise.reject(new Error('provisioned')) });
    expect(code).toBe(2);
    expect(err).toContain('--kernel-flavour: "tiny" is not a kernel flavour; give cloud or minimal');
  });
});
