// Fault injection, a busy machine: a boot that is slow but keeps printing must not be timed out,
// a guest that stops printing must be (at the stall deadline, saying which deadline fired and the
// last stage), and a harness timeout is retried once, said in the result, never hiding a second
// failure. Fake QEMUs replay a real pc-1G boot (suites/harness/fake-qemu); deadlines are small.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { BootTimeoutError } from '../../harness/errors.ts';
import { harnessArgv } from '../../harness/qemu-argv.ts';
import type { MatrixDeps } from '../../harness/matrix/deps.ts';
import { summaryTable, writeResults } from '../../harness/matrix/reporters.ts';
import { runMatrix, type CellResult } from '../../harness/matrix/runner.ts';
import { expandRuns, parseMatrix } from '../../harness/matrix/schema.ts';
import { activeBoots, runQemu, type RunQemuOptions } from '../../harness/run-qemu.ts';
import { fake, recordedPids } from '../harness/helpers.ts';
import { fakeQemuDeps } from './fake-qemu-deps.ts';
import { countAlive, entriesLeft, faultProbe, probeTmpdir } from './ledger.ts';

/**
 * Small deadlines: the fakes print within milliseconds, a stall is a stall. slow-steady.sh is
 * silent 0.2 s between pieces (a sed and a sleep): 1.5 s leaves room for a loaded CI machine
 * (npm test boots real guests beside these probes) and is still half its 3 s boot.
 */
const STALL_MS = 1_500;

interface Probe {
  dir: string;
  env: Record<string, string>;
  /** Runs `body` with TMPDIR pointing at a private dir, so every boot dir left behind is counted. */
  inTmp<T>(body: () => Promise<T>): Promise<T>;
  /** Orphans (fake QEMU pids still alive) and boot dirs left in the private TMPDIR. */
  damage(extra?: { resultsLost?: number }): { orphans: number; tempDirsLeft: number; resultsLost: number };
}

/** Every probe's dirs, removed after each test even when an assertion stopped it before damage(). */
const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function probe(label: string, env: Record<string, string> = {}): Probe {
  const dir = mkdtempSync(join(tmpdir(), `e820-fault-busy-${label}-`));
  const tmp = probeTmpdir(`busy-${label}`);
  made.push(dir, tmp);
  const pidFile = join(dir, 'qemu.pids');
  return {
    dir,
    env: { FAKE_QEMU_PIDFILE: pidFile, FAKE_QEMU_COUNTER: join(dir, 'counter'), ...env },
    inTmp: async (body) => {
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
      try {
        return await body();
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
      }
    },
    damage: (extra = {}) => {
      const pids = recordedPids(pidFile);
      expect(pids.length, 'the fake QEMU recorded its pids').toBeGreaterThan(0);
      const d = { orphans: countAlive(pids) + activeBoots(), tempDirsLeft: entriesLeft(tmp), resultsLost: extra.resultsLost ?? 0 };
      rmSync(tmp, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
      return d;
    },
  };
}

function bootOpts(script: string, p: Probe, extra: Partial<RunQemuOptions> = {}): RunQemuOptions {
  return {
    qemu: fake(script),
    args: ({ serialLog, firmwareLog }) => harnessArgv({ userArgs: ['-M', 'pc', '-m', '1G'], kernel: '/k', initrd: '/i', serialLog, firmwareLog }),
    termGraceMs: 300,
    poweroffGraceMs: 300,
    env: p.env,
    ...extra,
  };
}

const PC_1G = 'cells:\n  - id: pc-1G\n    qemu: -M pc -m 1G\n';

async function expectTimeout(p: Promise<unknown>): Promise<BootTimeoutError> {
  const err = await p.then(
    () => new Error('the boot succeeded'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BootTimeoutError);
  return err as BootTimeoutError;
}

/** Runs the matrix, writes results.json/junit.xml, reads them back: cells that finished but are missing count as lost. */
async function runAndWrite(p: Probe, yaml: string, deps: MatrixDeps): Promise<{ results: CellResult[]; json: { cells: CellResult[] }; junit: string; table: string; lost: number }> {
  const runs = expandRuns(parseMatrix(yaml, join(p.dir, 'busy.yaml')));
  const summary = await p.inTmp(() => runMatrix(runs, deps, { jobs: 1, stallMs: STALL_MS, logsRoot: join(p.dir, 'results', 'logs') }));
  const out = join(p.dir, 'results');
  await writeResults(out, { startedAt: 'now', matrices: ['busy'], shard: null, jobs: 1, command: [] }, summary, true);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: CellResult[] };
  const finished = summary.results.filter((r) => r.outcome !== 'not-run');
  const lost = finished.filter((r) => !json.cells.some((c) => c.key === r.key && c.outcome === r.outcome)).length;
  return { results: summary.results, json, junit: readFileSync(join(out, 'junit.xml'), 'utf8'), table: summaryTable(summary.results, summary.wallMs, false), lost };
}

describe('a busy machine', () => {
  faultProbe('a boot that prints slowly but steadily is not timed out by a stall deadline shorter than the whole boot', async () => {
    const p = probe('steady', { FAKE_CHUNK_DELAY: '0.2' });
    const r = await p.inTmp(() => runQemu(bootOpts('slow-steady.sh', p, { stallMs: STALL_MS, deadlineMs: 60_000 })));
    expect(r.progress.done).toBe(true);
    // The premise: the boot took longer than the stall deadline (15 pieces, 0.2 s apart).
    expect(r.wallMs).toBeGreaterThan(STALL_MS);
    // And through the matrix, with the real model: a pass on the first attempt.
    const { results, lost } = await runAndWrite(p, PC_1G, fakeQemuDeps('slow-steady.sh', p.env));
    expect(results[0]!.outcome, JSON.stringify(results[0]!.verdict)).toBe('pass');
    expect(results[0]!.attempts).toBe(1);
    expect(results[0]!.retried).toBeNull();
    expect(results[0]!.timings.bootWallMs).toBeGreaterThan(STALL_MS);
    return p.damage({ resultsLost: lost });
  });

  faultProbe('a guest that stops printing is timed out at the stall deadline, which the error names with the last stage reached', async () => {
    const p = probe('stall');
    // Stuck inside a section (after SeaBIOS, the kernel and /init).
    const hang = await expectTimeout(p.inTmp(() => runQemu(bootOpts('hang.sh', p, { stallMs: STALL_MS, deadlineMs: 60_000 }))));
    expect(hang.deadline).toBe('stall');
    expect(hang.lastStage).toBe('inside section dmesg');
    expect(hang.headline).toMatch(/^the guest printed nothing new for 1\.5 s \(stall deadline, \d+\.\d s into the boot\); last stage reached: inside section dmesg \(/);
    expect(hang.message).toContain('a hang, not a slow boot');
    // Stuck in the firmware (banner, no e820 dump), with a firmware-scope goal.
    const fw = await expectTimeout(p.inTmp(() => runQemu(bootOpts('firmware-stuck.sh', p, { stallMs: STALL_MS, deadlineMs: 60_000, until: 'firmware' }))));
    expect(fw.deadline).toBe('stall');
    expect(fw.lastStage).toBe('SeaBIOS banner');
    expect(fw.headline).toContain('last stage reached: SeaBIOS banner');
    // DONE printed, no power-off: ended by the harness after its grace, not a timeout.
    const noOff = await p.inTmp(() => runQemu(bootOpts('no-poweroff.sh', p, { stallMs: STALL_MS, deadlineMs: 60_000 })));
    expect(noOff.progress.done).toBe(true);
    expect(noOff.killedByHarness).toBe(true);
    return p.damage();
  });

  faultProbe('the overall deadline still caps a boot that keeps printing, and says it was the overall one', async () => {
    const p = probe('cap', { FAKE_CHUNK_DELAY: '0.3' });
    const err = await expectTimeout(p.inTmp(() => runQemu(bootOpts('slow-steady.sh', p, { stallMs: 60_000, deadlineMs: 1_000 }))));
    expect(err.deadline).toBe('overall');
    expect(err.headline).toMatch(/^the guest did not finish within 1 s \(overall deadline\); last stage reached: /);
    expect(err.message).toContain('raise --timeout');
    return p.damage();
  });

  faultProbe('a boot that hangs once is retried once and passes; results.json, junit and the table say it was retried', async () => {
    const p = probe('retry', { FAKE_HANGS: '1' });
    const { results, json, junit, table, lost } = await runAndWrite(p, PC_1G, fakeQemuDeps('hang-once.sh', p.env));
    const r = results[0]!;
    expect(r.outcome, JSON.stringify(r.verdict)).toBe('pass');
    expect(r.attempts).toBe(2);
    expect(r.retried?.kind).toBe('BootTimeoutError');
    expect(r.retried?.reason).toMatch(/^attempt 1 failed with BootTimeoutError: the guest printed nothing new for 1\.5 s \(stall deadline/);
    expect(readFileSync(p.env.FAKE_QEMU_COUNTER!, 'utf8').trim()).toBe('2');
    expect(json.cells[0]).toMatchObject({ outcome: 'pass', attempts: 2, retried: { kind: 'BootTimeoutError' } });
    expect(junit).toContain('<system-out>attempts: 2; retried once (a harness timeout is retried once): attempt 1 failed with BootTimeoutError');
    expect(table).toMatch(/busy\/pc-1G\s+PASS\s+\S+\s+\S+\s+retried \(attempt 1: BootTimeoutError\)/);
    // Both attempts' logs are kept, side by side.
    const logs = join(p.dir, 'results', 'logs', 'busy', 'pc-1G');
    expect(existsSync(join(logs, 'pc-1G.serial.log'))).toBe(true);
    expect(existsSync(join(logs, 'pc-1G.attempt2.serial.log'))).toBe(true);
    return p.damage({ resultsLost: lost });
  });

  faultProbe('a boot that hangs twice is an error naming both attempts (no third boot)', async () => {
    const p = probe('twice', { FAKE_HANGS: '2' });
    const { results, json, junit, lost } = await runAndWrite(p, PC_1G, fakeQemuDeps('hang-once.sh', p.env));
    const r = results[0]!;
    expect(r.outcome).toBe('error');
    expect(r.attempts).toBe(2);
    expect(r.retried?.kind).toBe('BootTimeoutError');
    const v = r.verdict!;
    if (v.outcome !== 'error') throw new Error('expected an error verdict');
    expect(v.error.kind).toBe('BootTimeoutError');
    expect(v.error.message.split('\n')[0]).toMatch(
      /^both attempts failed \(a harness timeout is retried once\): attempt 1: BootTimeoutError: the guest printed nothing new .*; attempt 2: BootTimeoutError: the guest printed nothing new /,
    );
    expect(v.error.message).toContain('--- attempt 1 ---');
    expect(v.error.message).toContain('--- attempt 2 ---');
    expect(readFileSync(p.env.FAKE_QEMU_COUNTER!, 'utf8').trim()).toBe('2');
    expect(json.cells[0]).toMatchObject({ outcome: 'error', attempts: 2 });
    expect(junit).toContain('type="BootTimeoutError"');
    expect(junit).toContain('attempts: 2; retried once');
    return p.damage({ resultsLost: lost });
  });
});
