// User components on every command that takes a toolchain (predict, check, capture, explore,
// drift, snapshots; run has its own tests): the flags are registered, reach the one resolver
// (harness/user-toolchain.ts), pick the profiles from the detected versions, and bad paths exit 2
// naming the flag and the path. Fake QEMUs answer `--version` and `-M help`; the bzImage and the
// SeaBIOS images are fakes with the headers the detection reads. Nothing boots.

import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { checkCommand } from '../../harness/cli/commands/check.ts';
import { captureCommand, type CaptureCliDeps } from '../../harness/cli/commands/capture.ts';
import { driftCommand } from '../../harness/cli/commands/drift.ts';
import { exploreCommand } from '../../harness/cli/commands/explore.ts';
import { registerCommands } from '../../harness/cli/commands/index.ts';
import { runCommand } from '../../harness/cli/run-matrix.ts';
import { predictWithComponents } from '../../harness/cli/commands/predict.ts';
import { snapshotsCheck } from '../../harness/cli/commands/snapshots.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { loadMatrix } from '../../harness/matrix/schema.ts';
import { biosOfArgs } from '../../harness/user-toolchain/index.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { fakeBzImage } from '../faults/fake-apt.ts';
import { fakeDeps } from '../matrix-unit/fakes.ts';
import { fake } from './helpers.ts';

let dir = '';
let qemu112 = '';
let bzImage = '';
let bios128k = '';
let bios256k = '';
let out = '';
let err = '';

const fakeQemu = async (name: string, version: string): Promise<string> => {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\nif [ "$1" = --version ]; then echo 'QEMU emulator version ${version} (fake)'; exit 0; fi\nif [ "$1" = -M ]; then echo 'pc-i440fx-${version.split('.').slice(0, 2).join('.')}  Standard PC'; exit 0; fi\nexit 1\n`);
  await chmod(p, 0o755);
  return p;
};

/** An image seabios-image.ts identifies: its size, the banner's format string, BUILDINFO and VERSION after it. */
function fakeSeabios(size: number, version: string): Buffer {
  const b = Buffer.alloc(size);
  let at = 0x1000;
  for (const s of ['SeaBIOS (version %s)\n', 'gcc: (Debian 12.2.0-14) 12.2.0 binutils: (GNU Binutils for Debian) 2.40', version]) {
    b.write(`${s}\0`, at, 'latin1');
    at += s.length + 8;
  }
  return b;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e820-user-cli-'));
  qemu112 = await fakeQemu('qemu-11.2', '11.2.0');
  bzImage = join(dir, 'bzImage');
  await writeFile(bzImage, fakeBzImage());
  bios128k = join(dir, 'my-bios.rom');
  await writeFile(bios128k, fakeSeabios(128 * 1024, '1.16.3-mine'));
  bios256k = join(dir, 'my-bios-256k.rom');
  await writeFile(bios256k, fakeSeabios(256 * 1024, '1.17.0-mine'));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
});
afterEach(() => {
  out = '';
  err = '';
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const USER_FLAGS = ['--qemu-binary', '--bios', '--bzimage', '--fw-cfg-module', '--busybox', '--toolchain', '--profile-qemu', '--profile-seabios', '--profile-kernel'];

describe('the flags are registered', () => {
  test.each([['run'], ['predict'], ['check'], ['capture'], ['explore'], ['drift'], ['snapshots update'], ['snapshots check']])('e820 %s takes every user-component flag', (name) => {
    const program = new Command();
    registerCommands(program);
    let cmd: Command | undefined = program;
    for (const word of name.split(' ')) cmd = cmd?.commands.find((c) => c.name() === word);
    expect(cmd).toBeDefined();
    const longs = cmd!.options.map((o) => o.long);
    for (const f of USER_FLAGS) expect(longs).toContain(f);
  });

  test("explore's --toolchain help gives the rule: a spec, or a toolchain file when the value ends in .yaml/.yml", () => {
    const program = new Command();
    registerCommands(program);
    const t = program.commands.find((c) => c.name() === 'explore')!.options.find((o) => o.long === '--toolchain')!;
    expect(t.description).toMatch(/ends in \.yaml\/\.yml/);
  });
});

describe('-bios PATH in the QEMU arguments', () => {
  test("QEMU's own file names are not user images; any other path is", () => {
    expect(biosOfArgs(['-M', 'pc', '-bios', 'bios.bin'])).toBeNull();
    expect(biosOfArgs(['-bios', 'bios-256k.bin'])).toBeNull();
    expect(biosOfArgs(['-bios', '/x/bios.bin'])).toBe('/x/bios.bin');
    expect(biosOfArgs(['-bios', 'a.rom', '-bios', 'b.rom'])).toBe('b.rom');
  });
});

describe('e820 predict', () => {
  test('a fake QEMU printing 11.2.0: predicted with the 11.1 profile (extrapolated), in the text and in --json', async () => {
    const r = await predictWithComponents(['-M', 'pc', '-m', '1G'], { qemuBinary: qemu112 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^prediction for qemu-11\.1\+seabios-1\.16\.2\+linux-6\.1-minimal\ntoolchain: QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
    expect(r.stdout).toContain(`toolchain: QEMU binary: ${qemu112} (QEMU emulator version 11.2.0 (fake); newest machine type pc-i440fx-11.2)`);
    const j = await predictWithComponents(['-M', 'pc', '-m', '1G'], { qemuBinary: qemu112, json: true });
    const json = JSON.parse(j.stdout) as { toolchain: { qemu: string }; provenance: string[] };
    expect(json.toolchain.qemu).toBe('11.1');
    expect(json.provenance[0]).toMatch(/^QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
  });

  test('--bzimage: the kernel profile from the header; --profile-* win', async () => {
    const r = await predictWithComponents(['-M', 'q35', '-m', '2G'], { bzimage: bzImage, qemuBinary: qemu112, profileQemu: '10.0', json: true });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { toolchain: { qemu: string; kernel: string }; provenance: string[] };
    expect(json.toolchain.qemu).toBe('10.0');
    expect(json.provenance).toContain('QEMU 11.2.0: predicted with the 10.0 profile (--profile-qemu)');
    expect(json.provenance.some((l) => l.startsWith(`kernel: ${bzImage} (`))).toBe(true);
  });

  test('-bios PATH in the QEMU arguments is identified like --bios: profile from its version, variant from its size, assumption reported', async () => {
    const viaArgs = await predictWithComponents(['-M', 'pc', '-m', '1G', '-bios', bios128k], { json: true });
    expect(viaArgs.code).toBe(0);
    const a = JSON.parse(viaArgs.stdout) as { toolchain: { seabios: string }; provenance: string[]; firmware: unknown };
    expect(a.toolchain.seabios).toBe('1.16.3');
    expect(a.provenance).toContain('SeaBIOS 1.16.3: predicted with the 1.16.3 profile');
    expect(a.provenance.some((l) => l.startsWith(`SeaBIOS image: ${bios128k} (1.16.3-mine, bios, 131072 bytes`))).toBe(true);
    expect(a.provenance).toContain('SeaBIOS image assumption: configuration unknown: predicted with the stock bios.bin driver set');
    // The same image as --bios (QEMU then loads it under its own name): the same profile and provenance.
    const viaFlag = JSON.parse((await predictWithComponents(['-M', 'pc', '-m', '1G'], { bios: bios128k, json: true })).stdout) as typeof a;
    expect(viaFlag.toolchain).toEqual(a.toolchain);
    expect(viaFlag.provenance).toEqual(a.provenance);
    // The 128 KiB variant's driver set, as for QEMU's own bios.bin.
    const stock = JSON.parse((await predictWithComponents(['-M', 'pc', '-m', '1G', '-bios', 'bios.bin'], { seabios: '1.16.3', json: true })).stdout) as typeof a;
    expect(a.firmware).toEqual(stock.firmware);
  });

  test('a 256 KiB image of a release the model has (1.17.0)', async () => {
    const r = JSON.parse((await predictWithComponents(['-M', 'q35', '-m', '2G', '-bios', bios256k], { json: true })).stdout) as { toolchain: { seabios: string }; provenance: string[] };
    expect(r.toolchain.seabios).toBe('1.17.0');
    expect(r.provenance.some((l) => l.includes('bios-256k, 262144 bytes'))).toBe(true);
  });

  test.each([
    ['--qemu-binary', { qemuBinary: '/nonexistent/qemu' }, [], /^e820 predict: --qemu-binary \/nonexistent\/qemu: does not exist/],
    ['--bios', { bios: '/nonexistent/bios.bin' }, [], /^e820 predict: --bios \/nonexistent\/bios\.bin: does not exist/],
    ['-bios', {}, ['-bios', '/nonexistent/x.rom'], /^e820 predict: -bios \/nonexistent\/x\.rom: does not exist/],
    ['--bzimage', { bzimage: '/etc/hostname' }, [], /^e820 predict: --bzimage \/etc\/hostname: is not a bzImage/],
    ['--toolchain', { toolchain: '/nonexistent/tc.yaml' }, [], /^e820 predict: --toolchain \/nonexistent\/tc\.yaml: cannot be read \(ENOENT\)/],
    ['--profile-qemu', { profileQemu: '9.9' }, [], /^e820 predict: --profile-qemu: "9\.9" is not a profile the model has/],
  ] as const)('bad %s: exit 2 naming the flag and path', async (_flag, opts, extra, message) => {
    const r = await predictWithComponents(['-M', 'pc', ...extra], { ...opts });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('--bios and a different -bios PATH: exit 2, both named', async () => {
    const r = await predictWithComponents(['-M', 'pc', '-bios', bios256k], { bios: bios128k });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`-bios ${bios256k}: in the QEMU arguments names another SeaBIOS image than --bios (${bios128k})`);
  });
});

describe('e820 check', () => {
  test('--qemu-binary and --bzimage reach the resolver: the cell runs on the detected profile, with provenance', async () => {
    const d = fakeDeps();
    const code = await checkCommand(['-M', 'pc', '-m', '1G'], { qemuBinary: fake('solo.sh'), bzimage: bzImage, json: true }, d);
    expect(code).toBe(0);
    const r = JSON.parse(out) as { toolchain: { qemu: string }; provenance: string[] };
    expect(r.toolchain.qemu).toBe('7.2');
    expect(r.provenance).toContain('QEMU 7.2.22: predicted with the 7.2 profile');
    expect(r.provenance.some((l) => l.startsWith(`QEMU binary: ${fake('solo.sh')}`))).toBe(true);
    expect(r.provenance.some((l) => l.startsWith(`kernel: ${bzImage}`))).toBe(true);
  });

  test('a QEMU printing 11.2.0: the cell is predicted with the 11.1 profile (extrapolated), said in the text', async () => {
    expect(await checkCommand(['-M', 'pc', '-m', '1G'], { qemuBinary: qemu112 }, fakeDeps())).toBe(0);
    expect(out).toMatch(/\[qemu-11\.1\+seabios-1\.16\.2\+linux-6\.1-minimal\]\ntoolchain: QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
  });

  test('-bios PATH in the QEMU arguments is identified like --bios', async () => {
    const d = fakeDeps();
    expect(await checkCommand(['-M', 'pc', '-m', '1G', '-bios', bios128k], { json: true }, d)).toBe(0);
    const r = JSON.parse(out) as { toolchain: { seabios: string }; provenance: string[] };
    expect(r.toolchain.seabios).toBe('1.16.3');
    expect(r.provenance).toContain('SeaBIOS image assumption: configuration unknown: predicted with the stock bios.bin driver set');
    // QEMU gets the arguments as typed.
    expect(d.captured[0]).toEqual(['-M', 'pc', '-m', '1G', '-bios', bios128k]);
  });

  test('bad paths are refused before anything boots, exit 2 naming the flag and path', async () => {
    const d = fakeDeps();
    await expect(checkCommand(['-M', 'pc', '-bios', '/nonexistent/x.rom'], {}, d)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^-bios \/nonexistent\/x\.rom: does not exist/) });
    await expect(checkCommand(['-M', 'pc'], { bzimage: '/etc/hostname' }, d)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--bzimage \/etc\/hostname: is not a bzImage/) });
    expect(d.captured).toEqual([]);
  });
});

describe('e820 run', () => {
  test('--bzimage: no toolchain is labelled with a kernel flavour, since the user\'s own kernel boots', async () => {
    const m = join(dir, 'two.yaml');
    await writeFile(m, 'cells:\n  - id: a\n    qemu: -m 1G\n    toolchains:\n      - { qemu: "7.2", seabios: "1.16.2", kernel: "6.1" }\n      - { qemu: "10.0", seabios: "1.16.3", kernel: "6.12" }\n');
    const results = join(dir, 'r-bzimage');
    await runCommand([m], { results, plain: true, bzimage: bzImage }, fakeDeps());
    const json = JSON.parse(await readFile(join(results, 'results.json'), 'utf8')) as { cells: { key: string }[] };
    expect(json.cells.length).toBe(2);
    for (const c of json.cells) expect(c.key).not.toMatch(/minimal|cloud/);
  });
});

describe('e820 capture', () => {
  const sink = () => {
    const chunks: string[] = [];
    return { chunks, stream: { write: (s: string) => chunks.push(s), isTTY: false } };
  };

  test('--qemu-binary/--bzimage go through the resolver: provenance, the model toolchain, the user provisioning', async () => {
    const e = sink();
    let seen: { toolchain: unknown; provision: unknown } | null = null;
    const capture: CaptureCliDeps['capture'] = async (_c, toolchain, o) => {
      seen = { toolchain, provision: o?.provision };
      return { kind: 'booted', observation: { report: {}, unobserved: [], logs: { kept: {} } } } as unknown as Awaited<ReturnType<CaptureCliDeps['capture']>>;
    };
    const code = await captureCommand(['-M', 'pc', '-m', '1G'], { qemuBinary: qemu112, bzimage: bzImage }, {
      capture,
      parseQemuArgs: (a, o) => parseQemuArgs(a, o) as MachineConfig,
      stderr: e.stream,
      stdout: () => {},
    });
    expect(code).toBe(0);
    expect(seen!.toolchain).toMatchObject({ qemu: '11.1' });
    expect(typeof seen!.provision).toBe('function');
    const text = e.chunks.join('');
    expect(text).toMatch(/toolchain: QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
    expect(text).toContain(`toolchain: kernel: ${bzImage}`);
  });

  test('a bad --bzimage or -bios: exit 2 naming the flag and path, nothing boots', async () => {
    for (const [args, opts, message] of [
      [['-M', 'pc'], { bzimage: '/nonexistent/vmlinuz' }, 'e820 capture: --bzimage /nonexistent/vmlinuz: does not exist'],
      [['-M', 'pc', '-bios', '/nonexistent/x.rom'], {}, 'e820 capture: -bios /nonexistent/x.rom: does not exist'],
      [['-M', 'pc'], { qemuBinary: '/bin/true' }, 'e820 capture: --qemu-binary /bin/true: is not a QEMU'],
    ] as const) {
      const e = sink();
      const code = await captureCommand([...args], { ...opts }, {
        capture: async () => {
          throw new Error('must not boot');
        },
        stderr: e.stream,
        stdout: () => {},
      });
      expect(code).toBe(2);
      expect(e.chunks.join('')).toContain(message);
    }
  });
});

describe('e820 explore', () => {
  test('--toolchain FILE (a .yaml): the cells are claimed on the detected profile and the written matrix names the components', async () => {
    const tc = join(dir, 'mine.yaml');
    await writeFile(tc, 'qemu-binary: ./qemu-11.2\n');
    const outDir = join(dir, 'explore-file');
    expect(await exploreCommand({ seed: '7', count: '3', toolchain: tc, out: outDir, dryRun: true }, fakeDeps())).toBe(0);
    expect(err).toContain('3 cells on qemu-11.1+seabios-1.16.2+linux-6.1');
    expect(err).toMatch(/toolchain: QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
    expect(err).toContain(`--toolchain qemu-7.2+seabios-1.16.2+linux-6.1 --kernel-flavour minimal --qemu-binary ${qemu112}`);
    const written = await readFile(join(outDir, 'explore.yaml'), 'utf8');
    expect(written).toContain(`qemu-binary: ${qemu112}`);
    const cells = await loadMatrix(join(outDir, 'explore.yaml'));
    expect(cells[0]!.userToolchain).toMatchObject({ inline: { qemuBinary: qemu112 } });
  });

  test('a spec name still works; a missing .yaml is a toolchain file that cannot be read', async () => {
    expect(await exploreCommand({ seed: '7', count: '2', toolchain: 'trixie', out: join(dir, 'explore-spec'), dryRun: true }, fakeDeps())).toBe(0);
    expect(err).toContain('2 cells on qemu-10.0+seabios-1.16.3+linux-6.12');
    await expect(exploreCommand({ seed: '7', count: '2', toolchain: join(dir, 'missing.yml'), dryRun: true }, fakeDeps())).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--toolchain .*missing\.yml: cannot be read \(ENOENT\)/),
    });
  });

  test('the other flags too (--qemu-binary with a spec)', async () => {
    expect(await exploreCommand({ seed: '7', count: '2', toolchain: 'sid', qemuBinary: fake('solo.sh'), out: join(dir, 'explore-flags'), dryRun: true }, fakeDeps())).toBe(0);
    expect(err).toContain('2 cells on qemu-7.2+seabios-1.17.0+linux-7.2');
  });
});

describe('e820 drift', () => {
  test('user components apply to the --to side: its toolchain is the detected profile, --from stays stock', async () => {
    expect(await driftCommand([], { from: 'trixie', to: 'trixie', qemuBinary: qemu112, json: true })).toBe(0);
    const j = JSON.parse(out) as { from: { toolchain: { qemu: string } }; to: { toolchain: { qemu: string } }; provenance: { to: string[] } };
    expect(j.from.toolchain.qemu).toBe('10.0');
    expect(j.to.toolchain.qemu).toBe('11.1');
    expect(j.provenance.to[0]).toMatch(/^QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
    out = '';
    expect(await driftCommand([], { from: 'trixie', to: 'trixie', qemuBinary: qemu112 })).toBe(0);
    expect(out).toMatch(/^--to toolchain: QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
  });

  test('a bad path: exit 2 naming the flag and path', async () => {
    await expect(driftCommand([], { from: 'trixie', to: 'sid', bios: '/nonexistent/bios.bin' })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--bios \/nonexistent\/bios\.bin: does not exist/),
    });
  });
});

describe('e820 snapshots', () => {
  test("check with a QEMU whose version is the baseline's: every snapshot still matches, provenance printed", async () => {
    expect(await snapshotsCheck(['baseline'], undefined, { qemuBinary: fake('solo.sh') })).toBe(0);
    expect(err).toContain('toolchain: QEMU 7.2.22: predicted with the 7.2 profile');
    expect(out).toMatch(/(\d+)\/\1 snapshots match/);
  });

  test('a bad path: exit 2 naming the flag and path', async () => {
    await expect(snapshotsCheck(['baseline'], undefined, { qemuBinary: '/nonexistent/qemu' })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--qemu-binary \/nonexistent\/qemu: does not exist/),
    });
  });
});

describe('through the CLI: exit status 2 and the message', () => {
  test.each([
    [['predict', '--qemu-binary', '/nonexistent/qemu', '--', '-M', 'pc'], 'e820 predict: --qemu-binary /nonexistent/qemu: does not exist'],
    [['check', '--', '-M', 'pc', '-bios', '/nonexistent/x.rom'], 'e820: -bios /nonexistent/x.rom: does not exist'],
    [['drift', '--from', 'trixie', '--to', 'sid', '--bzimage', '/nonexistent/vmlinuz'], 'e820: --bzimage /nonexistent/vmlinuz: does not exist'],
  ])('e820 %j', async (args, message) => {
    const r = await execa('node', [join(REPO_ROOT, 'bin', 'e820.js'), ...args], { reject: false, cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
  }, 30_000);
});
