// The explore generator, without booting: deterministic per seed, every argv is one the model's
// command-line parser reads (or a deliberate invalid QEMU refuses while reading options), the model
// rarely refuses a cell of the modelled draws as not modelled, the wide draws (WIDE_DRAW_SHARE)
// take machine types, CPU models and devices from each release's own lists and keep the cells the
// model declines, ids and the written matrix file round-trip, and every option family appears
// across a handful of seeds.

import { describe, expect, test } from 'vitest';
import { QemuCmdlineError, parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import { BASELINE_TOOLCHAIN, toolchainOf, type Toolchain } from '../../reference/toolchain.ts';
import { claimOf, exploreCellsAsMatrix, FALLBACK_ROAD_PATCHES } from '../../harness/explore/explore.ts';
import { FALLBACK_ROADS, INVALID_KINDS, OPTION_FAMILIES, WIDE_ASPECTS, WIDE_DRAW_SHARE, allMachineTypes, generateCell, generateCells, qemuSize } from '../../harness/explore/generate.ts';
import { CPU_MODELS } from '../../reference/profiles/qemu.ts';
import { qemuCpuModelNames } from '../../reference/profiles/qemu-cpu-models.ts';
import { QEMU_STANDALONE_DEVICES, qemuStandaloneDevices } from '../../reference/profiles/qemu-devices.ts';
import { parseSeed, rngFor } from '../../harness/explore/prng.ts';
import { cellArgv } from '../../harness/matrix/schema.ts';

const TOOLCHAINS: Toolchain[] = [
  BASELINE_TOOLCHAIN,
  toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '5.10' }),
  toolchainOf({ qemu: '10.0', seabios: '1.16.3', kernel: '6.12' }),
  toolchainOf({ qemu: '11.1', seabios: '1.17.0', kernel: '7.2' }),
];

const modelDeps = {
  parseArgs: (argv: readonly string[], qemuVersion: string) => parseQemuArgs(argv, { qemuVersion }),
  predict: (config: Parameters<typeof predict>[0], t: Toolchain) => ({ report: predict(config, t).report }),
};

const argvOf = (c: { qemu: string[]; append: string | null }): string[] => (c.append !== null ? [...c.qemu, '-append', c.append] : c.qemu);

describe('the PRNG', () => {
  test('same (seed, index) → same stream; different index → different stream', () => {
    const a = rngFor(42, 3);
    const b = rngFor(42, 3);
    const xs = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => rngFor(42, 4).next())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  test('bigStep stays on the grid and in range', () => {
    const r = rngFor(7, 0);
    for (let i = 0; i < 200; i++) {
      const v = r.bigStep(3n, 1000n, 8n);
      expect(v % 8n).toBe(0n);
      expect(v >= 8n && v <= 1000n).toBe(true);
    }
  });

  test('--seed accepts 0 … 2^32−1, decimal or hex', () => {
    expect(parseSeed('0')).toBe(0);
    expect(parseSeed('0xffffffff')).toBe(0xffffffff);
    expect(() => parseSeed('-1')).toThrow(/--seed/);
    expect(() => parseSeed('4294967296')).toThrow(/--seed/);
    expect(() => parseSeed('banana')).toThrow(/--seed/);
  });
});

describe('generator', () => {
  test('deterministic for a seed; cell i does not depend on the count; seeds differ', () => {
    const a = generateCells({ seed: 1234, count: 30, toolchain: BASELINE_TOOLCHAIN });
    expect(generateCells({ seed: 1234, count: 30, toolchain: BASELINE_TOOLCHAIN })).toEqual(a);
    expect(generateCells({ seed: 1234, count: 10, toolchain: BASELINE_TOOLCHAIN })).toEqual(a.slice(0, 10));
    expect(generateCells({ seed: 1234, count: 5, toolchain: BASELINE_TOOLCHAIN, start: 7 })).toEqual(a.slice(7, 12));
    expect(generateCell(1234, 7, BASELINE_TOOLCHAIN)).toEqual(a[7]);
    expect(generateCells({ seed: 1235, count: 30, toolchain: BASELINE_TOOLCHAIN }).map((c) => c.qemu)).not.toEqual(a.map((c) => c.qemu));
  });

  test.each(TOOLCHAINS.map((t) => [`qemu ${t.qemu}`, t] as const))('memmap= edits aim at RAM QEMU has: no drawn map puts RAM where the firmware has none (%s)', (_, t) => {
    // Seed 161501 cell 081 (5.2): -m 2883580K is 0xb0000000 after QEMU's 8 KiB alignment, which q35
    // splits at 2 GiB; unaligned, the draw thought all of it low and its exactmap reached into the hole.
    expect(generateCell(161501, 81, t).append ?? '').not.toMatch(/2866172K@/);
    let memmaps = 0;
    for (let seed = 1; seed <= 12; seed++) {
      for (const c of generateCells({ seed, count: 60, toolchain: t })) {
        if (!(c.append ?? '').includes('memmap=')) continue;
        memmaps++;
        const claim = claimOf(argvOf(c), t, modelDeps);
        if (claim.kind === 'not-modelled') expect(claim.message, c.id).not.toMatch(/where the firmware's map has no memory/);
      }
    }
    expect(memmaps).toBeGreaterThan(30);
  });

  test.each(TOOLCHAINS.map((t) => [`qemu ${t.qemu}`, t] as const))('every argv parses, or is a deliberate invalid QEMU refuses while reading options (%s)', (_, t) => {
    for (let seed = 1; seed <= 6; seed++) {
      for (const c of generateCells({ seed, count: 60, toolchain: t })) {
        try {
          parseQemuArgs(argvOf(c), { qemuVersion: t.qemu });
        } catch (err) {
          // "Not modelled" is the model's verdict, budgeted by the next test; anything else is a generator bug.
          if (err instanceof UnsupportedOptionError) continue;
          // A wide draw (the whole option space) may be one QEMU refuses: a claim like any other.
          if (err instanceof QemuCmdlineError && c.families.includes('wide')) continue;
          if (!(err instanceof QemuCmdlineError) || c.invalid === null) {
            throw new Error(`seed ${seed} cell ${c.id} (${argvOf(c).join(' ')}): ${(err as Error).message}`);
          }
        }
      }
    }
  });

  test.each(TOOLCHAINS.map((t) => [`qemu ${t.qemu}`, t] as const))('the model claims nearly every modelled draw: no model errors, not modelled ≤ 2 %, refusals mostly deliberate (%s)', (_, t) => {
    const all = [1, 2, 3].flatMap((seed) => generateCells({ seed, count: 80, toolchain: t }));
    const claimsAll = all.map((c) => ({ c, claim: claimOf(argvOf(c), t, modelDeps) }));
    const errors = claimsAll.filter(({ claim }) => claim.kind === 'model-error');
    expect(errors.map(({ c, claim }) => `${c.id}: ${'message' in claim ? claim.message : ''}`)).toEqual([]);
    const claims = claimsAll.filter(({ c }) => !c.families.includes('wide'));
    const cells = claims.map(({ c }) => c);
    expect(claims.filter(({ claim }) => claim.kind === 'not-modelled').length).toBeLessThanOrEqual(Math.ceil(cells.length * 0.02));
    const meantToBoot = claims.filter(({ c }) => c.invalid === null);
    const naturalRefusals = meantToBoot.filter(({ claim }) => claim.kind === 'refuses').length;
    // Natural refusals exist (hotplug on old types, phys-bits too small for maxmem, 5.2's phys-bits
    // and SMBIOS entry point) but must stay a minority.
    expect(naturalRefusals).toBeLessThan(meantToBoot.length * 0.15);
  });

  test('ids are unique, CELL_ID-safe, ≤ 80 characters; the written matrix round-trips', () => {
    for (const t of TOOLCHAINS) {
      const cells = generateCells({ seed: 99, count: 120, toolchain: t });
      const ids = cells.map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) {
        expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/);
        expect(id.length).toBeLessThanOrEqual(80);
      }
      const parsed = exploreCellsAsMatrix(cells, { seed: 99, toolchain: t, count: 120 });
      expect(parsed.map((c) => [c.id, cellArgv(c), c.timeoutSeconds, c.toolchains])).toEqual(
        // A fallback road boots the toolchain's SeaBIOS release built with its patch.
        cells.map((c) => [c.id, argvOf(c), c.timeoutSeconds, [c.road === undefined ? t : { ...t, seabiosPatches: [FALLBACK_ROAD_PATCHES[c.road]] }]]),
      );
      // …and declares what the patch changes, so the model takes the road too.
      expect(parsed.map((c) => c.expect?.intent.int15Fails ?? [])).toEqual(cells.map((c) => (c.road === undefined ? [] : [...FALLBACK_ROADS[c.road]])));
    }
  });

  test('machine types are ones the toolchain’s QEMU registers (except the deliberate unknown-version invalid)', () => {
    for (const t of TOOLCHAINS) {
      const types = QEMU_PROFILES[t.qemu].machineTypes;
      const known = new Set(['pc', 'q35', 'isapc', 'microvm', ...types.i440fx.map((v) => `pc-i440fx-${v}`), ...types.q35.map((v) => `pc-q35-${v}`), ...types.legacyPc.map((v) => `pc-${v}`)]);
      for (const c of generateCells({ seed: 5, count: 200, toolchain: t })) {
        const name = c.qemu[c.qemu.findIndex((w) => w === '-M' || w === '-machine') + 1]!.split(',')[0]!;
        if (c.invalid !== 'machine-unknown-version') expect(known.has(name), `${c.id}: ${name} on QEMU ${t.qemu}`).toBe(true);
        else expect(known.has(name)).toBe(false);
        if (!c.families.includes('wide:machine') && c.invalid !== 'machine-unknown-version') expect(c.families.includes('machine:microvm') ? ['isapc'] : ['isapc', 'microvm']).not.toContain(name);
      }
    }
  });

  test('covers every option family and every deliberate invalid across seeds', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) for (const c of generateCells({ seed, count: 60, toolchain: BASELINE_TOOLCHAIN })) for (const f of c.families) seen.add(f);
    expect(OPTION_FAMILIES.filter((f) => !seen.has(f))).toEqual([]);
    expect(INVALID_KINDS.filter((k) => !seen.has(`invalid:${k}`))).toEqual([]);
    // and the memmap= kinds
    for (const k of ['$', '#', '!', '@', 'pct-upd', 'pct-add', 'pct-rm', 'size']) expect(seen.has(`append:memmap-${k}`), k).toBe(true);
  });

  test.each(TOOLCHAINS.map((t) => [`qemu ${t.qemu}`, t] as const))('wide draws: their share, every aspect, names from the release’s own lists, not-modelled cells kept (%s)', (_, t) => {
    const cells = [1, 2, 3, 4].flatMap((seed) => generateCells({ seed, count: 100, toolchain: t }));
    const wide = cells.filter((c) => c.families.includes('wide'));
    // WIDE_DRAW_SHARE of 400 cells: within ±0.1 of the share.
    expect(Math.abs(wide.length / cells.length - WIDE_DRAW_SHARE)).toBeLessThan(0.1);
    for (const a of WIDE_ASPECTS) expect(wide.some((c) => c.families.includes(`wide:${a}`)), a).toBe(true);
    const names = qemuCpuModelNames(t.qemu);
    const devices = new Set(Object.values(QEMU_STANDALONE_DEVICES).flat());
    const machines = new Set(allMachineTypes(t));
    let outsideCpuTable = 0;
    const listed = new Set(Object.keys(QEMU_STANDALONE_DEVICES).flatMap((k) => qemuStandaloneDevices(t.qemu, k as keyof typeof QEMU_STANDALONE_DEVICES)));
    // Every curated -device name any cell (wide or not) adds is one this release lists (qemu-devices.ts).
    for (const c of cells) c.qemu.forEach((w, i) => c.qemu[i - 1] === '-device' && devices.has(w) && expect(listed.has(w), `${c.id}: -device ${w} on QEMU ${t.qemu}`).toBe(true));
    for (const c of wide) {
      const cpu = c.qemu[c.qemu.indexOf('-cpu') + 1]?.split(',')[0];
      if (c.families.includes('wide:cpu') && c.invalid !== 'cpu-host-tcg') {
        expect(names.has(cpu!), `${c.id}: -cpu ${cpu} on QEMU ${t.qemu}`).toBe(true);
        if (!(cpu! in CPU_MODELS)) outsideCpuTable++;
      }
      if (c.families.includes('wide:machine') && c.invalid !== 'machine-unknown-version') {
        expect(machines.has(c.qemu[1]!.split(',')[0]!), c.id).toBe(true);
      }
    }
    // Versioned names and aliases (EPYC-Rome-v2, Haswell-noTSX-IBRS …) are drawn, not only CPU_MODELS' own.
    expect(outsideCpuTable).toBeGreaterThan(0);
    // The model declines some wide cells, and they stay in the run (never regenerated away): the
    // same (seed, index) gives the same not-modelled cell.
    const declined = wide.filter((c) => claimOf(argvOf(c), t, modelDeps).kind === 'not-modelled');
    expect(declined.length).toBeGreaterThan(0);
    for (const c of declined.slice(0, 5)) {
      const [seed, index] = [Math.floor(cells.indexOf(c) / 100) + 1, cells.indexOf(c) % 100];
      expect(generateCell(seed, index, t)).toEqual(c);
    }
  });

  test('large -smp cells carry lpj= and their own deadline', () => {
    const cells = [1, 2, 3, 4].flatMap((seed) => generateCells({ seed, count: 100, toolchain: BASELINE_TOOLCHAIN }));
    const large = cells.filter((c) => c.families.includes('smp:large'));
    expect(large.length).toBeGreaterThan(0);
    for (const c of large) {
      expect(c.append ?? '').toContain('lpj=');
      expect(c.timeoutSeconds).not.toBeNull();
    }
  });

  test('qemuSize spells with the largest exact suffix', () => {
    expect(qemuSize(3n << 30n)).toBe('3G');
    expect(qemuSize(3585n << 20n)).toBe('3585M');
    expect(qemuSize((4n << 30n) - 4096n)).toBe('4194300K');
    expect(qemuSize(1n << 40n)).toBe('1T');
    expect(qemuSize(4097n)).toBe('4097B');
  });
});

describe('fallback roads (issue 18)', () => {
  test('only on pc/q35 cells meant to boot, without -bios and not wide, and never when the run turns them off', () => {
    const cells = generateCells({ seed: 3, count: 400, toolchain: BASELINE_TOOLCHAIN });
    const roads = cells.filter((c) => c.road !== undefined);
    expect(roads.length).toBeGreaterThan(0);
    for (const c of roads) {
      expect(c.invalid, c.id).toBeNull();
      expect(c.families, c.id).not.toContain('wide');
      expect(c.families, c.id).toContain(`firmware:${c.road}`);
      expect(c.qemu, c.id).not.toContain('-bios');
      expect(['pc', 'q35'], c.id).toContain(c.qemu[c.qemu.findIndex((w) => w === '-M' || w === '-machine') + 1]!.split(',')[0]);
    }
    expect(generateCells({ seed: 3, count: 400, toolchain: BASELINE_TOOLCHAIN, fallbackRoads: false }).filter((c) => c.road !== undefined)).toEqual([]);
    // 1.14.0's source cannot be fetched here: no road on it.
    expect(generateCells({ seed: 3, count: 400, toolchain: toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '5.10' }) }).filter((c) => c.road !== undefined)).toEqual([]);
  });
  test('a road leaves every other draw of its (seed, index) as it was', () => {
    const on = generateCells({ seed: 11, count: 300, toolchain: BASELINE_TOOLCHAIN });
    const off = generateCells({ seed: 11, count: 300, toolchain: BASELINE_TOOLCHAIN, fallbackRoads: false });
    expect(on.some((c) => c.road !== undefined)).toBe(true);
    // qboot and microvm draws are off with the roads too (below); every other cell is the same.
    const other = (c: (typeof on)[number]) => !c.families.includes('firmware:qboot') && !c.families.includes('machine:microvm');
    const keep = on.map(other);
    expect(keep.filter(Boolean).length).toBeGreaterThan(250);
    expect(on.filter((_, i) => keep[i]).map((c) => c.qemu)).toEqual(off.filter((_, i) => keep[i]).map((c) => c.qemu));
    expect(on.map((c) => c.append)).toEqual(off.map((c) => c.append));
  });

  test('qboot and microvm draws (issue 18) change only the firmware or the machine of their cell', () => {
    const on = generateCells({ seed: 11, count: 300, toolchain: BASELINE_TOOLCHAIN });
    const off = generateCells({ seed: 11, count: 300, toolchain: BASELINE_TOOLCHAIN, fallbackRoads: false });
    const qboot = on.flatMap((c, i) => (c.families.includes('firmware:qboot') ? [i] : []));
    const microvm = on.flatMap((c, i) => (c.families.includes('machine:microvm') ? [i] : []));
    expect(qboot.length).toBeGreaterThan(0);
    expect(microvm.length).toBeGreaterThan(0);
    for (const i of qboot) {
      const b = on[i]!.qemu.indexOf('-bios');
      expect(on[i]!.qemu[b + 1]).toBe('qboot.rom');
      expect(on[i]!.qemu.filter((_, k) => k !== b && k !== b + 1)).toEqual(off[i]!.qemu);
    }
    for (const i of microvm) {
      const m = on[i]!.qemu.indexOf('-M') >= 0 ? on[i]!.qemu.indexOf('-M') : on[i]!.qemu.indexOf('-machine');
      expect(on[i]!.qemu[m + 1]).toMatch(/^microvm,acpi=off(,rtc=off)?(,x-option-roms=off)?(,pcie=on)?$/);
      expect(on[i]!.qemu.filter((_, k) => k !== m + 1)).toEqual(off[i]!.qemu.filter((_, k) => k !== m + 1));
    }
  });
});
