// `e820 explore` end to end with the real model and a fake machine that reports exactly what the
// model predicts (and refuses, with QEMU's prefix, what the model says QEMU refuses): the matrix
// file, results.json/junit.xml, explore.json, parse-time refusals checked like stage refusals,
// the summary's counts, reproducers and exit codes.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { predict } from '../../reference/predict.ts';
import { QemuRefusal } from '../../reference/stages.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { exploreCommand } from '../../harness/cli/commands/explore.ts';
import { claimOf, explorationLabel, exploreDeps, exploreExitCode, exploreShare, formatShare } from '../../harness/explore/explore.ts';
import { GENERATOR_VERSION, generateCells } from '../../harness/explore/generate.ts';
import { isE820IomemLine, type MatrixDeps } from '../../harness/matrix/deps.ts';
import { runCell } from '../../harness/matrix/runner.ts';
import { parseMatrix, expandRuns } from '../../harness/matrix/schema.ts';
import { refusedBy } from '../matrix-unit/fakes.ts';

let dir = '';
let out = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e820-explore-'));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** The real model; a "machine" that agrees with it, except on cells whose argv contains `breakWord`. */
function mirrorDeps(breakWord?: string): MatrixDeps & { boots: number } {
  const parseArgs = (argv: readonly string[], qemuVersion: string) => parseQemuArgs(argv, { qemuVersion });
  const deps = {
    boots: 0,
    parseArgs,
    predict: (c: MachineConfig, t: typeof BASELINE_TOOLCHAIN) => ({ report: predict(c, t).report }),
    isE820IomemLine,
    capture: async (_c: MachineConfig, t: typeof BASELINE_TOOLCHAIN, o: { qemuArgs?: readonly string[] }) => {
      deps.boots++;
      const argv = o.qemuArgs ?? [];
      const claim = claimOf(argv, t, { parseArgs, predict: (c, tt) => ({ report: predict(c, tt).report }) });
      // What the model declines, this machine boots (as the default configuration), unless the
      // argv asks it to refuse.
      if (claim.kind === 'not-modelled') {
        if (argv.includes('refuse-me')) return refusedBy('qemu-system-x86_64: nope');
        return { kind: 'booted' as const, observation: { report: structuredClone(predict(parseArgs([], t.qemu), t).report), unobserved: [] } };
      }
      if (claim.kind === 'refuses') {
        const stderr = claim.message.split('\n').map((l, i) => (i === 0 ? `qemu-system-x86_64: ${l}` : l)).join('\n');
        return refusedBy(stderr);
      }
      const report = structuredClone(predict(parseArgs(argv, t.qemu), t).report);
      if (breakWord !== undefined && argv.some((w) => w.includes(breakWord))) report.firmware!.zoneHighReturned = 1;
      return { kind: 'booted' as const, observation: { report, unobserved: [] } };
    },
  };
  return deps;
}

describe('explore deps', () => {
  test('a refusal found while reading options is booted and judged with its hint lines; `e820 run` calls it a broken cell', async () => {
    const runs = expandRuns(parseMatrix('description: t\ncells:\n  - { id: lots, qemu: [-m, lots] }\n', 'explore.yaml'));
    const hint = "-m lots: Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.";
    const d = mirrorDeps();
    const judged = await runCell(runs[0]!, exploreDeps(d), {});
    // The mirror QEMU prints the model's words, hint lines included: both refuse alike.
    expect(d.boots).toBe(1);
    expect(judged).toMatchObject({ claim: 'refuses', outcome: 'pass', machine: { outcome: 'qemu-refused' } });
    expect(judged.verdict).toMatchObject({ counts: { compared: hint.split('\n').length } });
    const plain = mirrorDeps();
    const broken = await runCell(runs[0]!, plain, {});
    expect(plain.boots).toBe(0);
    expect(broken.verdict).toMatchObject({ outcome: 'error', error: { kind: 'BadCell/QemuCmdlineError' } });
  });

  test('claims: boots, refuses (at parse or in the stage), not modelled', () => {
    const m = mirrorDeps();
    expect(claimOf(['-M', 'q35', '-m', '2G'], BASELINE_TOOLCHAIN, m)).toEqual({ kind: 'boots' });
    expect(claimOf(['-m', '2G,slots=2'], BASELINE_TOOLCHAIN, m)).toMatchObject({ kind: 'refuses', atParse: true });
    expect(claimOf(['-cpu', 'host'], BASELINE_TOOLCHAIN, m)).toMatchObject({ kind: 'refuses', atParse: false, message: "CPU model 'host' requires KVM or HVF" });
    expect(claimOf(['-smbios', 'type=1'], BASELINE_TOOLCHAIN, m)).toMatchObject({ kind: 'not-modelled' });
  });

  test('not-modelled cells are booted once (never dropped) and counted: the model share', async () => {
    const m = mirrorDeps();
    const d = exploreDeps(m);
    const yaml = [
      'description: t',
      'toolchains: [{ qemu: "7.2", seabios: "1.16.2", kernel: "6.1" }]',
      'cells:',
      '  - { id: boots, qemu: [-M, q35, -m, 2G] }',
      '  - { id: refuses, qemu: [-m, "2G,slots=2"] }',
      // declined while parsing (-smbios) and by the QEMU stage (a device without a footprint)
      '  - { id: nm-parse, qemu: [-M, pc, -smbios, type=1] }',
      '  - { id: nm-stage, qemu: [-M, pc, -device, ramfb] }',
      '  - { id: nm-stage2, qemu: [-M, q35, -device, ramfb] }',
      '  - { id: nm-refused, qemu: [-M, pc, -smbios, type=1, -name, refuse-me] }',
    ].join('\n');
    const runs = expandRuns(parseMatrix(yaml, 'explore.yaml'));
    const results = [];
    for (const run of runs) results.push(await runCell(run, d, {}));
    // Every declined cell reached the machine: 4 boots of them, plus the claimed boot and refusal.
    expect(m.boots).toBe(6);
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    expect(byId['nm-stage']!.verdict).toMatchObject({ outcome: 'error', error: { kind: 'Model/UnsupportedOptionError', message: expect.stringContaining('ramfb') } });
    expect(byId['nm-stage']!.machine).toEqual({ outcome: 'booted', detail: null });
    expect(byId['nm-refused']!.machine).toMatchObject({ outcome: 'qemu-refused' });
    expect(byId.boots!.machine).toEqual({ outcome: 'booted', detail: null });
    const s = exploreShare(results);
    expect(s).toMatchObject({ generated: 6, booted: 4, claimed: 1, agreed: 1, claimedPercent: 25, agreedPercent: 100 });
    expect(s.qemuRefused).toEqual({ total: 2, matched: 1, notMatched: 0, notModelled: 1 });
    // Ranked by cells: the ramfb reason (2 cells) first, then the -smbios one (2 cells, 1 booted).
    expect(s.notModelled.map((n) => [n.cells, n.booted])).toEqual([[2, 2], [2, 1]]);
    expect(s.notModelled[0]!.reason).toMatch(/ramfb/);
    expect(formatShare('qemu-7.2', s)).toContain('claimed 1 of 4 booted (25 %), agreed exactly on 1 of 1 claimed (100 %)');
    // Without bootNotModelled (e820 run) a declined cell still ends unbooted.
    const plain = mirrorDeps();
    const r = await runCell(runs[3]!, plain, {});
    expect(plain.boots).toBe(0);
    expect(r.machine).toBeUndefined();
  });

  test("the exploration's label: fallback-road cells (a patched SeaBIOS of the same release) keep the one toolchain", () => {
    const bookworm = { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' } as const;
    const road = { ...bookworm, seabiosPatches: ['/x/guests/firmware-patches/e820-fails.patch'] };
    const minimal = { ...bookworm, kernelFlavour: 'minimal' } as const;
    // As the bookworm run with seed 141502 had them: 97 plain cells, 3 on fallback roads.
    expect(explorationLabel([{ toolchain: bookworm }, { toolchain: road }, { toolchain: road }], bookworm)).toBe('qemu-7.2+seabios-1.16.2+linux-6.1');
    expect(explorationLabel([{ toolchain: road }], bookworm)).toBe('qemu-7.2+seabios-1.16.2+linux-6.1');
    expect(explorationLabel([{ toolchain: { ...minimal, seabiosPatches: road.seabiosPatches } }, { toolchain: minimal }], bookworm)).toBe('qemu-7.2+seabios-1.16.2+linux-6.1-minimal');
    // Another release, SeaBIOS, kernel or flavour is another toolchain.
    expect(explorationLabel([{ toolchain: bookworm }, { toolchain: { ...bookworm, qemu: '10.0' } }], bookworm)).toBe('several toolchains');
    expect(explorationLabel([{ toolchain: bookworm }, { toolchain: { ...bookworm, seabios: '1.16.3' } }], bookworm)).toBe('several toolchains');
    expect(explorationLabel([{ toolchain: bookworm }, { toolchain: minimal }], bookworm)).toBe('several toolchains');
    // No results (nothing ran): the toolchain asked for.
    expect(explorationLabel([], { qemu: '5.2', seabios: '1.14.0', kernel: '5.10' })).toBe('qemu-5.2+seabios-1.14.0+linux-5.10');
  });

  test('exit code: not-modelled cells do not count as errors', () => {
    expect(exploreExitCode(['pass-boot', 'pass-refusal', 'not-modelled'])).toBe(0);
    expect(exploreExitCode(['pass-boot', 'fail', 'not-modelled'])).toBe(1);
    expect(exploreExitCode(['fail', 'error-qemu-refused'])).toBe(2);
    expect(exploreExitCode(['pass-boot', 'not-run'])).toBe(2);
  });
});

describe('refusal comparison', () => {
  test("QEMU's non-error lines are left out: located warnings and 5.2's deprecation notice", async () => {
    const stderr = [
      "qemu-system-x86_64: Machine type 'pc-1.0' is deprecated: use a newer machine type instead",
      'qemu-system-x86_64: -numa node,nodeid=0,mem=1536M: warning: Parameter -numa node,mem is deprecated, use -numa node,memdev instead',
      "qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]",
      `qemu-system-x86_64: "-memory 'slots|maxmem'" is not supported by: pc-1.0`,
    ].join('\n');
    const deps: MatrixDeps = {
      parseArgs: () => ({}) as MachineConfig,
      predict: () => {
        throw new QemuRefusal(`"-memory 'slots|maxmem'" is not supported by: pc-1.0`);
      },
      capture: async () => refusedBy(stderr),
      isE820IomemLine,
    };
    const cell = { matrix: 'm', file: 'm.yaml', index: 0, id: 'a', qemu: ['-M', 'pc-1.0'], append: null, toolchains: [BASELINE_TOOLCHAIN], note: null, timeoutSeconds: null, line: 0 };
    const r = await runCell({ cell, toolchain: BASELINE_TOOLCHAIN, key: 'm/a' }, deps);
    expect(r.verdict).toMatchObject({ outcome: 'pass', counts: { compared: 1 } });
  });
});

describe('e820 explore', () => {
  test('generates, writes the matrix, runs every cell, summarises; exit 0 when the machine agrees', async () => {
    const outDir = join(dir, 'ok');
    const deps = mirrorDeps();
    out = '';
    expect(await exploreCommand({ seed: '7', count: '25', out: outDir, plain: true, jobs: '3' }, deps)).toBe(0);
    const yaml = await readFile(join(outDir, 'explore.yaml'), 'utf8');
    expect(yaml).toContain(`seed 7, generator v${GENERATOR_VERSION}, 25 random cells on qemu-7.2+seabios-1.16.2+linux-6.1`);
    const results = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8'));
    expect(results.totals.cells).toBe(25);
    const summary = JSON.parse(await readFile(join(outDir, 'explore.json'), 'utf8'));
    const cells = generateCells({ seed: 7, count: 25, toolchain: BASELINE_TOOLCHAIN });
    const refusals = cells.filter((c) => claimOf(c.append ? [...c.qemu, '-append', c.append] : c.qemu, BASELINE_TOOLCHAIN, deps).kind === 'refuses').length;
    expect(summary.outcomes['pass-refusal']).toBe(refusals);
    expect(summary.outcomes['pass-boot']).toBe(25 - refusals - summary.outcomes['not-modelled']);
    expect(summary.lines.compared).toBeGreaterThan(0);
    expect(summary.seed).toBe(7);
    expect(out).toContain(`e820 explore: seed 7, generator v${GENERATOR_VERSION}, 25 cells`);
    await expect(readFile(join(outDir, 'junit.xml'), 'utf8')).resolves.toContain('<testsuite name="explore"');
  });

  test('a mismatch: exit 1, with a check and a replay reproducer; the replay runs the one cell', async () => {
    const outDir = join(dir, 'fail');
    const deps = mirrorDeps('null-co');
    out = '';
    const code = await exploreCommand({ seed: '3', count: '40', out: outDir, plain: true }, deps);
    const summary = JSON.parse(await readFile(join(outDir, 'explore.json'), 'utf8'));
    expect(summary.failures.length).toBeGreaterThan(0);
    expect(code).toBe(1);
    const f = summary.failures[0];
    expect(f.reproduce.check).toMatch(/^npx e820 check .*-- .*null-co/);
    expect(f.reproduce.replay).toContain(`--replay ${join(outDir, 'explore.yaml')} --kernel-flavour minimal --only`);
    expect(out).toContain('failures (');

    const id = f.key.slice('explore/'.length);
    const replayDir = join(dir, 'replay');
    const before = deps.boots;
    expect(await exploreCommand({ replay: join(outDir, 'explore.yaml'), only: `^${id}$`, out: replayDir, plain: true }, deps)).toBe(1);
    expect(deps.boots - before).toBe(1);
    const replayed = JSON.parse(await readFile(join(replayDir, 'explore.json'), 'utf8'));
    expect(replayed).toMatchObject({ seed: 3, cells: 1, outcomes: { fail: 1 } });
  });

  test('--dry-run boots nothing; bad flags are refused', async () => {
    const deps = mirrorDeps();
    expect(await exploreCommand({ seed: '1', count: '5', out: join(dir, 'dry'), dryRun: true }, deps)).toBe(0);
    expect(deps.boots).toBe(0);
    await expect(exploreCommand({ seed: 'x', out: join(dir, 'bad') }, deps)).rejects.toThrow(/--seed/);
    await expect(exploreCommand({ count: '0', out: join(dir, 'bad') }, deps)).rejects.toThrow(/--count/);
    await expect(exploreCommand({ toolchain: 'qemu-9.9', out: join(dir, 'bad') }, deps)).rejects.toThrow(/unknown qemu version/);
    await expect(exploreCommand({ replay: 'x.yaml', seed: '1' }, deps)).rejects.toThrow(/--replay/);
  });
});
