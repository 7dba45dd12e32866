// `e820 firmware build` for real: Debian's seabios 1.16.2 source with examples/reserve-1m's patch,
// built as debian/rules builds bios-256k.bin and cached in the project's cache (a cold build takes
// about a minute here, the cached call well under a second), identified, and booted once with the
// harness to show SeaBIOS's e820 map carries the reserved MiB. Bad input (unknown release, bad
// variant, missing patch, a patch that does not apply, images that are not SeaBIOS) fails naming
// the part and leaves no cache entry behind.

import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { firmwareBuildCommand } from '../../harness/cli/commands/firmware.ts';
import { cacheDir } from '../../harness/provision/cache.ts';
import { buildFirmware, failedHunks, FirmwareBuildError, PatchDoesNotApplyError, type FirmwareBuildResult } from '../../harness/provision/firmware-build.ts';
import { LocalHost } from '../../harness/host/local.ts';
import type { ExecOptions } from '../../harness/host/types.ts';
import { identifySeabiosImage, modelledSeabiosVersion, SeabiosImageError } from '../../harness/provision/seabios-image.ts';

const run = promisify(execFile);
const PATCH = 'examples/reserve-1m/reserve.patch';
/** Entries of the firmware cache, with this process's temp dirs (another process's live build is not ours). */
const firmwareEntries = () =>
  readdirSync(join(cacheDir(), 'firmware'))
    .filter((n) => !n.startsWith('.tmp-') || n.startsWith(`.tmp-${process.pid}-`))
    .sort();

let built: FirmwareBuildResult;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'e820-fw-test-'));
  const t0 = performance.now();
  built = await buildFirmware({ seabios: '1.16.2', variant: 'bios-256k', patches: [PATCH], onProgress: (m) => process.stderr.write(`${m}\n`) });
  process.stderr.write(`firmware build 1.16.2 bios-256k + reserve.patch: ${built.cached ? 'cached' : 'cold'}, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}, 20 * 60_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('e820 firmware build (real build of Debian seabios 1.16.2)', () => {
  it('builds bios-256k.bin with the patch: Debian version string, 256 KiB, the patch recorded', () => {
    expect(built.sourceVersion).toMatch(/^1\.16\.2-\d/);
    expect(built.version).toBe(`1.16.2-debian-${built.sourceVersion}`);
    expect(built.variant).toBe('bios-256k');
    expect(built.patches).toHaveLength(1);
    expect(built.patches[0]!.path).toMatch(/examples\/reserve-1m\/reserve\.patch$/);
    expect(built.patches[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(built.path).length).toBe(256 * 1024);
  });

  it('the second build is the cached image, in under a second', async () => {
    const t0 = performance.now();
    const again = await buildFirmware({ seabios: '1.16.2', patches: [PATCH] });
    const ms = performance.now() - t0;
    expect(again.cached).toBe(true);
    expect(again.path).toBe(built.path);
    expect(ms).toBeLessThan(1000);
  });

  it('a cached build asks apt nothing; --refresh (fresh) asks for the source version again', async () => {
    const calls: string[] = [];
    const counting = new (class extends LocalHost {
      override exec(argv: readonly string[], o?: ExecOptions) {
        calls.push(argv.join(' '));
        return super.exec(argv, o);
      }
    })();
    const warm = await buildFirmware({ seabios: '1.16.2', patches: [PATCH], host: counting });
    expect(warm.cached).toBe(true);
    expect(calls.filter((c) => /^apt/.test(c))).toEqual([]);
    const asked = await buildFirmware({ seabios: '1.16.2', patches: [PATCH], host: counting, fresh: true });
    expect(asked.path).toBe(built.path);
    expect(calls.filter((c) => /^apt-cache .*showsrc/.test(c))).toHaveLength(1);
  });

  it('identifySeabiosImage knows it: variant, version, configuration known, no assumption', async () => {
    const info = await identifySeabiosImage(built.path);
    expect(info).toMatchObject({ sizeBytes: 262144, versionString: built.version, seabiosVersion: '1.16.2', extrapolated: false, variant: 'bios-256k', configKnown: true, assumption: null });
    expect(info.knownAs).toMatch(/built by e820 firmware build/);
    // A copy elsewhere is recognised by its sha256.
    const copy = join(scratch, 'mine.bin');
    copyFileSync(built.path, copy);
    expect(await identifySeabiosImage(copy)).toMatchObject({ configKnown: true, variant: 'bios-256k' });
  });

  it('an altered copy is SeaBIOS with an unknown configuration, predicted with the stock driver set', async () => {
    const b = readFileSync(built.path);
    b[b.length - 17] = b[b.length - 17]! ^ 0xff;
    const p = join(scratch, 'altered.bin');
    writeFileSync(p, b);
    const info = await identifySeabiosImage(p);
    expect(info.configKnown).toBe(false);
    expect(info.assumption).toBe('configuration unknown: predicted with the stock bios-256k.bin driver set');
  });

  it("the host's stock Debian images are known, by variant", async () => {
    expect(await identifySeabiosImage('/usr/share/seabios/bios-256k.bin')).toMatchObject({ variant: 'bios-256k', configKnown: true, seabiosVersion: '1.16.2' });
    expect(await identifySeabiosImage('/usr/share/seabios/bios.bin')).toMatchObject({ variant: 'bios', configKnown: true, sizeBytes: 131072 });
  });

  it('boots: SeaBIOS POSTs and its e820 map has the reserved MiB at 0x50000000', async () => {
    const { stdout } = await run(process.execPath, ['bin/e820.js', 'capture', '--json', '--', '-M', 'pc', '-m', '2G', '-bios', built.path], { maxBuffer: 64 << 20, timeout: 10 * 60_000 });
    const report = JSON.parse(stdout) as { firmware: { e820: Array<{ start: string; end: string; type: number }> } };
    expect(report.firmware.e820).toContainEqual({ start: '0x50000000', end: '0x50100000', type: 2 });
  }, 11 * 60_000);

  it('the CLI prints the image path as the last stdout line, and JSON with --json', async () => {
    let out = '';
    let err = '';
    expect(await firmwareBuildCommand({ patch: [PATCH] }, { stdout: (s) => (out += s), stderr: (s) => (err += s) })).toBe(0);
    expect(out.trim().split('\n').pop()).toBe(built.path);
    expect(err).toMatch(/SeaBIOS \(version 1\.16\.2-debian-/);
    out = '';
    expect(await firmwareBuildCommand({ patch: [PATCH], json: true }, { stdout: (s) => (out += s), stderr: () => {} })).toBe(0);
    const j = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(['cached', 'patches', 'path', 'seconds', 'sourceVersion', 'variant', 'version']);
    expect(j).toMatchObject({ path: built.path, version: built.version, variant: 'bios-256k', cached: true });
  });
});

describe('bad input: clear errors naming the part, nothing left in the cache', () => {
  const expectNothingLeft = async (before: string[], fn: () => Promise<unknown>) => {
    const err = await fn().then(
      () => null,
      (e: unknown) => e,
    );
    expect(firmwareEntries()).toEqual(before);
    return err as Error;
  };

  it('an unknown --seabios release', async () => {
    const before = firmwareEntries();
    const e = await expectNothingLeft(before, () => buildFirmware({ seabios: '1.15.0', patches: [PATCH] }));
    expect(e).toBeInstanceOf(FirmwareBuildError);
    expect((e as FirmwareBuildError).part).toBe('seabios-version');
    expect(e.message).toMatch(/--seabios 1\.15\.0.*known: 1\.14\.0, 1\.16\.2, 1\.16\.3, 1\.17\.0/);
  });

  it('an unknown --variant, a missing patch', async () => {
    const before = firmwareEntries();
    const v = await expectNothingLeft(before, () => buildFirmware({ variant: 'bios-microvm' }));
    expect((v as FirmwareBuildError).part).toBe('variant');
    const p = await expectNothingLeft(before, () => buildFirmware({ patches: [join(scratch, 'nope.patch')] }));
    expect((p as FirmwareBuildError).part).toBe('patch');
    expect(p.message).toContain(join(scratch, 'nope.patch'));
  });

  it('a patch that does not apply names the patch and the failing hunk', async () => {
    const bad = join(scratch, 'stale.patch');
    writeFileSync(
      bad,
      '--- a/src/fw/paravirt.c\n+++ b/src/fw/paravirt.c\n@@ -10,3 +10,4 @@\n this line is not in paravirt.c\n neither is this one\n nor this\n+int e820_conformance_never;\n',
    );
    const before = firmwareEntries();
    const e = await expectNothingLeft(before, () => buildFirmware({ patches: [PATCH, bad] }));
    expect(e).toBeInstanceOf(PatchDoesNotApplyError);
    expect(e.message).toContain(bad);
    expect(e.message).toMatch(/src\/fw\/paravirt\.c: Hunk #1 FAILED/);
    expect(firmwareEntries().filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  }, 5 * 60_000);

  it('identifySeabiosImage: missing, a directory, the wrong size, no SeaBIOS inside', async () => {
    const missing = join(scratch, 'missing.bin');
    await expect(identifySeabiosImage(missing)).rejects.toThrow(new RegExp(`${missing}: does not exist`));
    mkdirSync(join(scratch, 'dir.bin'));
    await expect(identifySeabiosImage(join(scratch, 'dir.bin'))).rejects.toThrow(/dir\.bin: is not a regular file/);
    writeFileSync(join(scratch, 'small.bin'), Buffer.alloc(1000));
    await expect(identifySeabiosImage(join(scratch, 'small.bin'))).rejects.toThrow(/small\.bin: is 1000 bytes: not a SeaBIOS image/);
    writeFileSync(join(scratch, 'zeros.bin'), Buffer.alloc(256 * 1024));
    const e = await identifySeabiosImage(join(scratch, 'zeros.bin')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SeabiosImageError);
    expect((e as Error).message).toMatch(/zeros\.bin: has no SeaBIOS version string/);
  });
});

describe('version and patch output parsing', () => {
  it('maps a version string to the modelled release, or the nearest earlier one', () => {
    expect(modelledSeabiosVersion('1.16.2-debian-1.16.2-1')).toEqual({ version: '1.16.2', extrapolated: false, release: '1.16.2' });
    expect(modelledSeabiosVersion('1.14.0-2')).toMatchObject({ version: '1.14.0', extrapolated: false });
    expect(modelledSeabiosVersion('rel-1.16.1-0-g3208b098')).toMatchObject({ version: '1.14.0', extrapolated: true, release: '1.16.1' });
    expect(modelledSeabiosVersion('1.17.1-debian-1.17.1-1')).toMatchObject({ version: '1.17.0', extrapolated: true });
  });

  it("reads patch's failed hunks", () => {
    expect(failedHunks('checking file src/fw/paravirt.c\nHunk #1 FAILED at 10.\n1 out of 1 hunk FAILED\n')).toEqual(['src/fw/paravirt.c: Hunk #1 FAILED at 10.']);
  });
});
