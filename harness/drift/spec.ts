// The toolchain spellings `e820 drift --from/--to` accept. Pure.
//
//   spec      := base ( '+' component )*  |  component ( '+' component )*
//   base      := bullseye | bookworm | trixie | sid        (every component of that Debian suite)
//   component := qemu-V | seabios-V | linux-V              (kernel-V is accepted for linux-V)
//
// Components not named come from the base suite, or from the baseline toolchain (bookworm:
// QEMU 7.2, SeaBIOS 1.16.2, Linux 6.1) when there is no suite. So `qemu-5.2` changes QEMU only,
// `qemu-10.0+seabios-1.16.3` two components, `trixie` all three, `trixie+linux-6.1` trixie with
// bookworm's kernel, and the full label `qemu-7.2+seabios-1.16.2+linux-6.1` (toolchainLabel's
// spelling) names one toolchain exactly.

import {
  BASELINE_TOOLCHAIN,
  KERNEL_VERSIONS,
  QEMU_VERSIONS,
  SEABIOS_VERSIONS,
  toolchainOf,
  type Toolchain,
} from '../../reference/toolchain.ts';
import { SUITE_COMPONENTS } from '../provision/toolchain.ts';
import { DEBIAN_SUITES, type DebianSuite } from '../provision/apt-env.ts';

export type ComponentName = 'qemu' | 'seabios' | 'kernel';

/** The prefixes a component part may use, and the component each names. */
const PREFIXES: ReadonlyArray<readonly [string, ComponentName]> = [
  ['qemu-', 'qemu'],
  ['seabios-', 'seabios'],
  ['linux-', 'kernel'],
  ['kernel-', 'kernel'],
];

const KNOWN: Record<ComponentName, readonly string[]> = {
  qemu: QEMU_VERSIONS,
  seabios: SEABIOS_VERSIONS,
  kernel: KERNEL_VERSIONS,
};

const SPELLING: Record<ComponentName, string> = { qemu: 'qemu', seabios: 'seabios', kernel: 'linux' };

export interface ToolchainSpec {
  /** What the user typed. */
  text: string;
  toolchain: Toolchain;
  /** The suite the spec started from, when it named one. */
  suite: DebianSuite | null;
  /** Components the spec named explicitly (a suite names all three). */
  named: ComponentName[];
}

export class ToolchainSpecError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly text: string,
    readonly part: string,
    detail: string,
  ) {
    super(`toolchain ${JSON.stringify(text)}: ${JSON.stringify(part)} ${detail}`);
    this.name = 'ToolchainSpecError';
  }
}

function isSuite(part: string): part is DebianSuite {
  return (DEBIAN_SUITES as readonly string[]).includes(part);
}

export const SPEC_GRAMMAR = [
  'Toolchain spellings (--from/--to):',
  '  qemu-5.2                           one component; the others stay at the baseline (bookworm: qemu-7.2, seabios-1.16.2, linux-6.1)',
  '  qemu-10.0+seabios-1.16.3           several components joined by +',
  '  bullseye | bookworm | trixie | sid every component of that Debian suite',
  '  trixie+linux-6.1                   a suite, then components that replace its own',
  '  qemu-7.2+seabios-1.16.2+linux-6.1  the full label (as results and snapshots name toolchains)',
  `  versions: qemu ${QEMU_VERSIONS.join(' ')}; seabios ${SEABIOS_VERSIONS.join(' ')}; linux ${KERNEL_VERSIONS.join(' ')} (kernel-V = linux-V)`,
  `  suites: ${DEBIAN_SUITES.map((s) => `${s} = qemu-${SUITE_COMPONENTS[s].qemu}+seabios-${SUITE_COMPONENTS[s].seabios}+linux-${SUITE_COMPONENTS[s].kernel}`).join('; ')}`,
].join('\n');

export function parseToolchainSpec(text: string): ToolchainSpec {
  const trimmed = text.trim();
  if (trimmed === '') throw new ToolchainSpecError(text, text, 'is empty: expected e.g. qemu-10.0, trixie or qemu-7.2+seabios-1.16.2+linux-6.1');
  const parts = trimmed.split('+');
  let base: Toolchain = BASELINE_TOOLCHAIN;
  let suite: DebianSuite | null = null;
  const chosen: Partial<Record<ComponentName, string>> = {};
  const named = new Set<ComponentName>();
  parts.forEach((raw, i) => {
    const part = raw.trim();
    if (part === '') throw new ToolchainSpecError(text, raw, `is an empty part (position ${i + 1}): parts are joined by a single +`);
    const lower = part.toLowerCase();
    if (isSuite(lower)) {
      if (i !== 0) throw new ToolchainSpecError(text, part, `is a suite: a suite may only come first (e.g. ${lower}+linux-6.1)`);
      suite = lower;
      base = SUITE_COMPONENTS[lower];
      for (const c of ['qemu', 'seabios', 'kernel'] as const) named.add(c);
      return;
    }
    const prefix = PREFIXES.find(([p]) => lower.startsWith(p));
    if (prefix === undefined) {
      throw new ToolchainSpecError(
        text,
        part,
        `is neither a component (qemu-V, seabios-V, linux-V) nor a suite (${DEBIAN_SUITES.join(', ')})`,
      );
    }
    const [p, component] = prefix;
    const version = part.slice(p.length);
    if (chosen[component] !== undefined) {
      throw new ToolchainSpecError(text, part, `names ${SPELLING[component]} a second time (already ${SPELLING[component]}-${chosen[component]})`);
    }
    if (!KNOWN[component].includes(version)) {
      throw new ToolchainSpecError(
        text,
        part,
        `has an unknown ${SPELLING[component]} version ${JSON.stringify(version)}: the model has profiles for ${KNOWN[component].join(', ')}`,
      );
    }
    chosen[component] = version;
    named.add(component);
  });
  const toolchain = toolchainOf({
    qemu: chosen.qemu ?? base.qemu,
    seabios: chosen.seabios ?? base.seabios,
    kernel: chosen.kernel ?? base.kernel,
  });
  return { text, toolchain, suite, named: (['qemu', 'seabios', 'kernel'] as const).filter((c) => named.has(c)) };
}
