// The runner against fake QEMUs: every way a boot can end gives the right typed error, and
// no process, no temp dir is left behind either way. Deadlines are small so this runs in seconds.

import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BootAbortedError,
  BootTimeoutError,
  CutLogError,
  GuestPanicError,
  HarnessError,
  MissingToolError,
  QemuLaunchError,
} from '../../harness/errors.ts';
import { harnessArgv } from '../../harness/qemu-argv.ts';
import { activeBoots, runQemu, signalHandlersInstalled, type RunQemuOptions, type BootEvent } from '../../harness/run-qemu.ts';
import { fake, isAlive, recordedPids, tempDirOf } from './helpers.ts';

let work: string;
let pidFile: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'e820-runtest-'));
  pidFile = join(work, 'pids');
});

afterEach(() => {
  // Belt and braces: a failing test must not leave a fake behind either.
  for (const pid of recordedPids(pidFile)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
  expect(activeBoots()).toBe(0);
  expect(signalHandlersInstalled()).toBe(false);
});

function opts(script: string, extra: Partial<RunQemuOptions> = {}): RunQemuOptions {
  return {
    qemu: fake(script),
    args: ({ serialLog, firmwareLog }) =>
      harnessArgv({ userArgs: ['-M', 'pc', '-m', '1G'], kernel: '/k', initrd: '/i', serialLog, firmwareLog }),
    deadlineMs: 1_500,
    termGraceMs: 300,
    poweroffGraceMs: 300,
    env: { FAKE_QEMU_PIDFILE: pidFile },
    ...extra,
  };
}

async function expectError<E extends HarnessError>(p: Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  const err = await p.then(
    () => {
      throw new Error(`expected ${cls.name}, the boot succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  return err as E;
}

function expectNothingLeft(argv: readonly string[]): void {
  const pids = recordedPids(pidFile);
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(isAlive(pid), `pid ${pid} still alive`).toBe(false);
  expect(existsSync(tempDirOf(argv))).toBe(false);
}

describe('runQemu with fake QEMUs', () => {
  it('returns the logs of a complete boot and follows its stages', async () => {
    const events: BootEvent[] = [];
    const r = await runQemu(opts('ok.sh', { onEvent: (e) => events.push(e) }));
    expect(r.serial).toContain('==E820== DONE');
    expect(r.serial).toContain('\r\n'); // verbatim, the parsers decide about \r
    expect(r.firmware).toMatch(/^SeaBIOS \(version 1\.16\.2/);
    expect(r.exitCode).toBe(0);
    expect(r.killedByHarness).toBe(false);
    expect(r.progress).toMatchObject({ seabiosBanner: true, kernelStarted: true, initStarted: true, done: true, panicLine: null });
    expect(r.progress.sectionsEnded).toEqual(['uname', 'cmdline', 'dmesg', 'iomem', 'memmap', 'fwcfg-e820']);
    expect(events.map((e) => e.stage)).toEqual(
      expect.arrayContaining(['spawned', 'seabios', 'kernel', 'init', 'section', 'done']),
    );
    expect(r.logs).toEqual({});
    expectNothingLeft(r.argv);
  });

  it('keeps the logs when asked', async () => {
    const keep = join(work, 'logs');
    const r = await runQemu(opts('ok.sh', { keepLogsDir: keep, label: 'cell1' }));
    expect(r.logs.serial).toBe(join(keep, 'cell1.serial.log'));
    expect(readFileSync(r.logs.serial!, 'utf8')).toBe(r.serial);
    expect(readFileSync(r.logs.firmware!, 'utf8')).toBe(r.firmware);
    expect(readFileSync(r.logs.argv!, 'utf8')).toContain('-serial file:');
    expectNothingLeft(r.argv);
  });

  it('kills a guest that printed DONE but never powered off, and still returns the logs', async () => {
    const r = await runQemu(opts('no-poweroff.sh'));
    expect(r.progress.done).toBe(true);
    expect(r.killedByHarness).toBe(true);
    expectNothingLeft(r.argv);
  });

  it('a hang is a BootTimeoutError that says how far the boot got', async () => {
    const keep = join(work, 'logs');
    const t0 = Date.now();
    const err = await expectError(runQemu(opts('hang.sh', { keepLogsDir: keep, label: 'hang' })), BootTimeoutError);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(err.deadlineMs).toBe(1_500);
    expect(err.message).toContain('did not finish within 1.5 s');
    expect(err.message).toContain('SeaBIOS banner seen; kernel started; init started; sections printed: uname, cmdline; stuck inside: dmesg');
    expect(err.message).toContain('raise --timeout');
    expect(err.context.consoleTail.at(-1)).toBe('==E820== BEGIN dmesg');
    expect(err.context.consoleTail.length).toBeLessThanOrEqual(20);
    expect(err.context.killedByHarness).toBe(true);
    expect(err.context.signal).toBe('SIGTERM');
    expect(err.context.argv[0]).toBe(fake('hang.sh'));
    expect(err.context.logs.serial).toBe(join(keep, 'hang.serial.log'));
    expect(readFileSync(err.context.logs.serial!, 'utf8')).toContain('==E820== BEGIN dmesg');
    expect(err.message).toContain(join(keep, 'hang.serial.log'));
    expectNothingLeft(err.context.argv);
  });

  it('escalates to SIGKILL of the whole group when QEMU ignores SIGTERM', async () => {
    const err = await expectError(runQemu(opts('hang-ignore-term.sh', { deadlineMs: 500 })), BootTimeoutError);
    expect(err.context.signal).toBe('SIGKILL');
    expect(err.message).toContain('no SeaBIOS banner');
    expect(err.hint).toMatch(/SeaBIOS image/);
    expect(err.message).toContain('console: nothing printed');
    expect(err.message).toContain('pass --keep-logs DIR');
    expectNothingLeft(err.context.argv);
  });

  it("reports QEMU's lifecycle as events: spawned, SIGTERM, SIGKILL after the grace, exited", async () => {
    const events: BootEvent[] = [];
    await expectError(runQemu(opts('hang-ignore-term.sh', { deadlineMs: 500, termGraceMs: 300, onEvent: (e) => events.push(e) })), BootTimeoutError);
    const life = events.filter((e) => ['spawned', 'sigterm', 'sigkill', 'exited'].includes(e.stage));
    expect(life.map((e) => e.stage)).toEqual(['spawned', 'sigterm', 'sigkill', 'exited']);
    expect(life[1]!.detail).toMatch(/300 ms grace/);
    expect(life[3]!.detail).toBe('signal SIGKILL');
    expect(life[2]!.elapsedMs - life[1]!.elapsedMs).toBeGreaterThanOrEqual(250);
  });

  it('a panic is a GuestPanicError with the panic line, without waiting for the deadline', async () => {
    const t0 = Date.now();
    const err = await expectError(runQemu(opts('panic.sh', { deadlineMs: 10_000 })), GuestPanicError);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err.panicLine).toBe('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
    expect(err.message).toContain('the guest kernel panicked: Kernel panic - not syncing: VFS');
    expect(err.context.consoleTail.join('\n')).toContain('Call Trace:');
    expectNothingLeft(err.context.argv);
  });

  it("QEMU refusing its arguments is a QemuLaunchError carrying QEMU's own message", async () => {
    const err = await expectError(runQemu(opts('refuse.sh')), QemuLaunchError);
    const qemuSays = "qemu-system-x86_64: -m banana: Parameter 'size' expects a non-negative number below 2^64";
    expect(err.qemuMessage).toBe(qemuSays);
    expect(err.headline).toBe(`QEMU did not start the guest: ${qemuSays}`);
    expect(err.message).toContain('Optional suffix k, M, G, T, P or E');
    expect(err.context.exitCode).toBe(1);
    expect(err.context.killedByHarness).toBe(false);
    expectNothingLeft(err.context.argv);
  });

  it('garbage on the console is a CutLogError', async () => {
    const err = await expectError(runQemu(opts('garbage.sh')), CutLogError);
    expect(err.context.exitCode).toBe(0);
    expect(err.message).toContain('kernel not started');
    expectNothingLeft(err.context.argv);
  });

  it('a console that stops mid-section is a CutLogError naming the sections printed', async () => {
    const err = await expectError(runQemu(opts('cut.sh')), CutLogError);
    expect(err.message).toContain('sections printed: uname, cmdline, dmesg; stuck inside: iomem');
    expect(err.context.consoleTail.at(-1)).toBe('00000000-00000fff : Reserved');
    expectNothingLeft(err.context.argv);
  });

  it('a missing QEMU binary is a MissingToolError with the install command', async () => {
    const err = await expectError(runQemu(opts('does-not-exist')), MissingToolError);
    expect(err.message).toContain('apt-get install qemu-system-x86');
    // Only the commands that take --qemu-binary are told to pass it (`e820 kvm` does not take it).
    expect(err.hint).toBe('install qemu-system-x86 (apt-get install qemu-system-x86); or, for e820 run, check, capture, explore and drift, pass another binary with --qemu-binary PATH');
    expect(existsSync(tempDirOf(err.context.argv))).toBe(false);
  });

  it('an AbortSignal tears the boot down', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user pressed stop')), 300);
    const err = await expectError(runQemu(opts('hang.sh', { deadlineMs: 10_000, signal: ac.signal })), BootAbortedError);
    expect(err.reason).toBe('user pressed stop');
    expectNothingLeft(err.context.argv);
  });

  it('an already aborted signal never spawns', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await expectError(runQemu(opts('hang.sh', { signal: ac.signal })), BootAbortedError);
    expect(recordedPids(pidFile)).toEqual([]);
    expect(existsSync(tempDirOf(err.context.argv))).toBe(false);
  });

  it('installs its SIGINT handler only while boots run, shared by concurrent boots', async () => {
    const before = process.listenerCount('SIGINT');
    const ac = new AbortController();
    const boots = [runQemu(opts('hang.sh', { signal: ac.signal })), runQemu(opts('hang.sh', { signal: ac.signal }))];
    await new Promise((r) => setTimeout(r, 200));
    expect(activeBoots()).toBe(2);
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    ac.abort();
    const results = await Promise.allSettled(boots);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(process.listenerCount('SIGINT')).toBe(before);
    for (const pid of recordedPids(pidFile)) expect(isAlive(pid)).toBe(false);
  });

  it('SIGINT to our process tears down every boot, then ends the process with SIGINT', async () => {
    const script = join(work, 'boot-two.mts'); // .mts: ESM outside the package
    const runner = new URL('../../harness/run-qemu.ts', import.meta.url).pathname;
    const qemuArgv = new URL('../../harness/qemu-argv.ts', import.meta.url).pathname;
    // Two concurrent hanging boots in a child process; it prints "running" once both follow logs.
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(
        script,
        `import { runQemu } from ${JSON.stringify(runner)};
import { harnessArgv } from ${JSON.stringify(qemuArgv)};
const o = (n) => ({ qemu: ${JSON.stringify(fake('hang.sh'))}, deadlineMs: 20000, termGraceMs: 300,
  env: { FAKE_QEMU_PIDFILE: ${JSON.stringify(pidFile)} },
  onEvent: (e) => { if (e.stage === 'init') console.log('running ' + n); },
  args: ({ serialLog, firmwareLog }) => harnessArgv({ userArgs: [], kernel: '/k', initrd: '/i', serialLog, firmwareLog }) });
await Promise.allSettled([runQemu(o(1)), runQemu(o(2))]);
console.log('not reached');
`,
      ),
    );
    const child = execa('node', ['--import', 'tsx', script], { reject: false, cwd: process.cwd() });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        seen += (d.toString().match(/running/g) ?? []).length;
        if (seen >= 2) resolve();
      });
      void child.then((r) => reject(new Error(`child exited early: ${r.stderr}`)));
    });
    // The init event can arrive before each fake has recorded its sleep's pid: wait for them (bounded).
    const pidsDeadline = Date.now() + 5_000;
    while (recordedPids(pidFile).length < 4 && Date.now() < pidsDeadline) await new Promise((r) => setTimeout(r, 20));
    const pids = recordedPids(pidFile);
    expect(pids.length).toBe(4); // two shells, two sleeps
    child.kill('SIGINT');
    const r = await child;
    expect(r.signal).toBe('SIGINT');
    expect(r.stdout).not.toContain('not reached');
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });
});

describe('runQemu goals short of DONE (until)', () => {
  it("until 'firmware' ends the boot once SeaBIOS printed its e820 dump and \"Booting from\"", async () => {
    const events: BootEvent[] = [];
    const r = await runQemu(opts('kvm-firmware-only.sh', { deadlineMs: 5_000, until: 'firmware', onEvent: (e) => events.push(e) }));
    expect(r.endedBy).toBe('firmware');
    expect(r.killedByHarness).toBe(true);
    expect(r.progress).toMatchObject({ seabiosBanner: true, firmwareDone: true, kernelStarted: false });
    expect(r.firmware).toContain('Booting from ROM...');
    expect(events.map((e) => e.stage)).toEqual(expect.arrayContaining(['spawned', 'seabios', 'firmware']));
    expect(r.wallMs).toBeLessThan(4_000);
    for (const pid of recordedPids(pidFile)) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(tempDirOf(r.argv))).toBe(false);
  });

  it("until 'firmware' without the dump is a BootTimeoutError that says SeaBIOS never finished", async () => {
    const err = await expectError(runQemu(opts('firmware-stuck.sh', { until: 'firmware', deadlineMs: 600 })), BootTimeoutError);
    expect(err.context.progress.firmwareDone).toBe(false);
    expect(err.message).toContain('SeaBIOS banner seen; kernel not started');
  });

  it("a firmware-only boot waiting for DONE times out naming where it stopped", async () => {
    const err = await expectError(runQemu(opts('kvm-firmware-only.sh', { deadlineMs: 800 })), BootTimeoutError);
    expect(err.message).toContain('SeaBIOS banner seen; SeaBIOS printed its e820 map and began booting; kernel not started');
  });

  it("until 'init' ends the boot at the guest's first marker", async () => {
    const r = await runQemu(opts('ok.sh', { until: 'init' }));
    expect(['init', 'done']).toContain(r.endedBy);
    expect(r.progress.initStarted).toBe(true);
  });
});

