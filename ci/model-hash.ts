// The model's output identity check, for work that must not change a prediction (issue 15's
// throughput): a report, not a test. `node --import tsx ci/model-hash.ts [--reference DIR]
// [--digests FILE]` claims a large, varied corpus with reference/claim.ts and prints one sha256
// over every claim serialised whole (bigints as hex strings, Maps and Sets as arrays, key order
// kept), with the count of each kind. A change meant only to make the model faster leaves it as it was.
//
// The corpus: every run of suites/matrix/*.yaml as the snapshots predict it (the file's
// snapshotHost, its expect:); every cell of those files under every toolchain (QEMU × SeaBIOS ×
// kernel × flavour, and a 5.10 point release) on two KVM hosts; and the explore generator's cells
// (harness/explore/generate.ts) for three seeds under the same toolchains — about 150,000 claims.
//
// --reference DIR: claim with another copy of reference/ (e.g. `git archive HEAD reference`
// unpacked, or a worktree's), over the corpus this checkout's harness builds: two runs, one hash
// each, compare a change with the model before it. --digests FILE: one line per claim (its source
// and a sha1), to find which ones differ.

import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { claimFor as ClaimFor } from '../reference/claim.ts';
import type { DeclaredIntent } from '../reference/intent.ts';
import type { HostFacts } from '../reference/qemu/index.ts';
import { KERNEL_VERSIONS, QEMU_VERSIONS, SEABIOS_VERSIONS, type Toolchain } from '../reference/toolchain.ts';
import { FALLBACK_ROADS, generateCells } from '../harness/explore/generate.ts';
import { MATRIX_ROOT, REPO_ROOT } from '../harness/matrix/paths.ts';
import { cellArgv, expandRuns, loadMatrix } from '../harness/matrix/schema.ts';

const flag = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const referenceDir = resolve(flag('--reference') ?? join(REPO_ROOT, 'reference'));
const digestsFile = flag('--digests');
const { claimFor } = (await import(join(referenceDir, 'claim.ts'))) as { claimFor: typeof ClaimFor };

const EXPLORE_SEEDS = [4242, 171502, 9];
const EXPLORE_CELLS = 60;
/** Two KVM hosts: the vendors and widths differ, and so does LA57. */
const HOSTS: readonly HostFacts[] = [
  { cpuVendor: 'GenuineIntel', physBits: 39, la57: false },
  { cpuVendor: 'AuthenticAMD', physBits: 48, la57: true },
];

const serialisable = (_key: string, v: unknown): unknown =>
  typeof v === 'bigint' ? `0x${v.toString(16)}` : v instanceof Map ? { map: [...v] } : v instanceof Set ? { set: [...v] } : v;

interface Input {
  source: string;
  argv: readonly string[];
  toolchain: Toolchain;
  host?: HostFacts;
  intent?: DeclaredIntent;
}

const toolchains: Toolchain[] = [];
for (const qemu of QEMU_VERSIONS) {
  for (const seabios of SEABIOS_VERSIONS) {
    for (const kernel of KERNEL_VERSIONS) {
      toolchains.push({ qemu, seabios, kernel }, { qemu, seabios, kernel, kernelFlavour: 'minimal' });
    }
  }
}
toolchains.push({ qemu: '7.2', seabios: '1.16.2', kernel: '5.10', kernelRelease: '5.10.262' });

const inputs: Input[] = [];
/** A cell that appears in two files (or twice in one) is crossed with the toolchains once. */
const crossed = new Set<string>();
for (const file of readdirSync(MATRIX_ROOT).filter((f) => f.endsWith('.yaml')).sort()) {
  const cells = await loadMatrix(join(MATRIX_ROOT, file));
  for (const run of expandRuns(cells)) {
    const intent = run.cell.expect?.intent;
    inputs.push({ source: `matrix ${run.key}`, argv: cellArgv(run.cell), toolchain: run.toolchain, host: run.cell.snapshotHost ?? HOSTS[0]!, ...(intent ? { intent } : {}) });
  }
  for (const cell of cells) {
    const intent = cell.expect?.intent;
    const key = JSON.stringify([cellArgv(cell), intent ?? null], serialisable);
    if (crossed.has(key)) continue;
    crossed.add(key);
    for (const toolchain of toolchains) {
      for (const host of HOSTS) inputs.push({ source: `cross ${cell.matrix}/${cell.id}`, argv: cellArgv(cell), toolchain, host, ...(intent ? { intent } : {}) });
    }
  }
}
for (const seed of EXPLORE_SEEDS) {
  for (const toolchain of toolchains) {
    for (const c of generateCells({ seed, count: EXPLORE_CELLS, toolchain })) {
      const argv = c.append !== null ? [...c.qemu, '-append', c.append] : c.qemu;
      const intent: DeclaredIntent | undefined = c.road !== undefined ? { firmware: [], qemu: [], int15Fails: [...FALLBACK_ROADS[c.road]] } : undefined;
      inputs.push({ source: `explore ${seed}/${c.id}`, argv, toolchain, host: HOSTS[0]!, ...(intent ? { intent } : {}) });
    }
  }
}

// Refusals are errors inside the model; their stacks are never serialised.
Error.stackTraceLimit = 0;
const all = createHash('sha256');
const digests: string[] = [];
const counts: Record<string, number> = {};
const start = performance.now();
for (const input of inputs) {
  let text: string;
  try {
    const claim = claimFor(input.argv, input.toolchain, { ...(input.host ? { host: input.host } : {}), ...(input.intent ? { intent: input.intent } : {}) });
    counts[claim.kind] = (counts[claim.kind] ?? 0) + 1;
    text = JSON.stringify(claim, serialisable);
  } catch (err) {
    // A defect in the model is part of its output too.
    counts.defect = (counts.defect ?? 0) + 1;
    text = JSON.stringify({ defect: String((err as Error).message) });
  }
  all.update(text).update('\n');
  if (digestsFile !== undefined) digests.push(`${input.source}\t${createHash('sha1').update(text).digest('hex')}`);
}
if (digestsFile !== undefined) writeFileSync(digestsFile, `${digests.join('\n')}\n`);
console.log(`${all.digest('hex')}  ${inputs.length} claims ${JSON.stringify(counts)} in ${((performance.now() - start) / 1000).toFixed(1)} s (${referenceDir})`);
