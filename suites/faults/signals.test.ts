// Fault injection, signals: SIGINT, SIGTERM, SIGHUP and SIGKILL sent to the outer process of a
// real `e820 run` — `node bin/e820.js` itself, or `npx e820` (npm exec → shell → node) — while
// fake QEMUs (suites/harness/fake-qemu/solo.sh, one process each, as QEMU is) hang. Each probe
// measures what was left: fake QEMUs and node still alive, entries left in the private TMPDIR
// the CLI was given, and cells that had finished but are missing from results.json.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { fake, recordedPids } from '../harness/helpers.ts';
import { countAlive, entriesLeft, faultProbe, probeTmpdir } from './ledger.ts';
import { fakeBzImage } from './fake-apt.ts';

const E820 = join(REPO_ROOT, 'bin', 'e820.js');
const FAKE_APT_BIN = join(REPO_ROOT, 'suites', 'faults', 'fake-apt-bin');
/** Bound on a clean stop after the signal (QEMU's TERM grace is 2 s; these fakes die at once). */
const STOP_BOUND_MS = 8_000;
/** Bound on QEMU dying after node is SIGKILLed (the kernel's PDEATHSIG: milliseconds). */
const PDEATHSIG_BOUND_MS = 1_000;

// -m 1G replays a real boot and finishes; the others hang until killed. All three run at once
// (--jobs 3), whatever order the runner picks.
const MATRIX = 'cells:\n  - id: done\n    qemu: -M pc -m 1G\n  - id: hang-a\n    qemu: -M pc -m 2G\n  - id: hang-b\n    qemu: -M pc -m 3G\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  work: string;
  tmp: string;
  results: string;
  qemuPids: () => number[];
  nodePids: () => number[];
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
}

/** results.json is written before the first boot with every cell not-run: "finished" means an outcome. */
const finishedDone = (cells: { id: string; outcome: string }[] | null): boolean => cells?.some((c) => c.id === 'done' && c.outcome === 'pass') ?? false;

function cellsIn(results: string): { id: string; outcome: string }[] | null {
  try {
    return (JSON.parse(readFileSync(join(results, 'results.json'), 'utf8')) as { cells: { id: string; outcome: string }[] }).cells;
  } catch {
    return null;
  }
}

/** `e820 run` of MATRIX on the fake QEMU, through `node bin/e820.js` or `npx e820`. */
function startRun(label: string, entry: 'node' | 'npx', matrixText = MATRIX): Started {
  const work = mkdtempSync(join(tmpdir(), `e820-fault-sigwork-${label}-`));
  const tmp = probeTmpdir(label);
  const results = join(work, 'results');
  const matrix = join(work, 'signals.yaml');
  writeFileSync(matrix, matrixText);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: tmp,
    E820_CACHE_DIR: join(work, 'cache'),
    FAKE_QEMU_PIDFILE: join(work, 'qemu.pids'),
    FAKE_QEMU_PARENTFILE: join(work, 'node.pids'),
  };
  // --bzimage must be a bzImage (its header names the kernel version); the fake QEMU never reads it.
  const bzImage = join(work, 'bzImage');
  writeFileSync(bzImage, fakeBzImage());
  const args = ['run', matrix, '--jobs', '3', '--plain', '--results', results, '--qemu-binary', fake('solo.sh'), '--bzimage', bzImage];
  const [cmd, argv] = entry === 'node' ? [process.execPath, [E820, ...args]] : ['npx', ['--no-install', 'e820', ...args]];
  // Its own process group: nothing sent to the test runner's group reaches it, and vice versa.
  const child = spawn(cmd, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const qemuPids = () => recordedPids(join(work, 'qemu.pids'));
  const nodePids = () => [...new Set(recordedPids(join(work, 'node.pids')))];
  return {
    child,
    exited,
    stderr: () => err,
    work,
    tmp,
    results,
    qemuPids,
    nodePids,
    env,
    cleanup: () => {
      // Never leave a process behind even when the probe failed (these are our own pids).
      for (const pid of [...qemuPids(), ...nodePids()]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(work, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Both hanging cells are booting and the finished one is on disk. */
async function whenHanging(s: Started): Promise<void> {
  await until('two hanging QEMUs and the finished cell in results.json', () => s.qemuPids().length >= 3 && finishedDone(cellsIn(s.results)), 15_000);
  expect(s.nodePids().length).toBe(1);
}

async function exitWithin(s: Started, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  const r = await Promise.race([s.exited, sleep(ms).then(() => null)]);
  if (r === null) throw new Error(`still running ${ms} ms after the signal; stderr:\n${s.stderr()}`);
  return { ...r, ms: Date.now() - t0 };
}

/** Waits (bounded) until node is gone too: under npx the outer process can exit first. */
async function nodeGone(s: Started, ms = STOP_BOUND_MS): Promise<number> {
  const t0 = Date.now();
  await until('node to exit', () => countAlive(s.nodePids()) === 0, ms).catch(() => undefined);
  return Date.now() - t0;
}

function damage(s: Started): { orphans: number; tempDirsLeft: number; resultsLost: number } {
  const cells = cellsIn(s.results);
  return {
    orphans: countAlive([...s.qemuPids(), ...s.nodePids()]),
    tempDirsLeft: entriesLeft(s.tmp),
    resultsLost: finishedDone(cells) ? 0 : 1,
  };
}

/** Signal to the outer process: a clean stop, every finished cell kept, the run marked interrupted. */
function cleanStopProbe(entry: 'node' | 'npx', sig: 'SIGINT' | 'SIGTERM' | 'SIGHUP'): void {
  faultProbe(`${sig} to \`${entry === 'node' ? 'node bin/e820.js' : 'npx e820'} run\` stops cleanly: QEMUs gone, temp dirs removed, results written`, async () => {
    const s = startRun(`${entry}-${sig}`, entry);
    try {
      await whenHanging(s);
      process.kill(s.child.pid!, sig);
      const r = await exitWithin(s, STOP_BOUND_MS);
      await nodeGone(s);
      const json = JSON.parse(readFileSync(join(s.results, 'results.json'), 'utf8')) as { finished: boolean; interrupted: boolean; cells: { id: string; outcome: string }[] };
      expect(json.finished, s.stderr()).toBe(true);
      expect(json.interrupted).toBe(true);
      expect(json.cells.map((c) => c.id).sort()).toEqual(['done', 'hang-a', 'hang-b']);
      // The interrupt reached node: its own words, naming the cause it saw.
      expect(s.stderr()).toMatch(entry === 'npx' && sig === 'SIGHUP' ? /(SIGHUP|parent exited): no new cells/ : new RegExp(`${sig}: no new cells`));
      expect(r.signal === 'SIGKILL').toBe(false);
      return damage(s);
    } finally {
      s.cleanup();
    }
  });
}

describe('signals', () => {
  for (const entry of ['node', 'npx'] as const) {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) cleanStopProbe(entry, sig);
  }

  faultProbe('SIGKILL of npm exec (npx e820 run): the orphaned node notices its parent is gone and stops cleanly', async () => {
    const s = startRun('npx-SIGKILL', 'npx');
    try {
      await whenHanging(s);
      process.kill(s.child.pid!, 'SIGKILL');
      await s.exited;
      const ms = await nodeGone(s);
      expect(ms).toBeLessThan(STOP_BOUND_MS);
      expect(s.stderr()).toMatch(/parent exited: no new cells/);
      expect(JSON.parse(readFileSync(join(s.results, 'results.json'), 'utf8'))).toMatchObject({ finished: true, interrupted: true });
      return damage(s);
    } finally {
      s.cleanup();
    }
  });

  faultProbe('three stop requests (SIGINT, then SIGTERM and SIGHUP at once): the third exits at once, QEMUs still killed, temp dirs removed', async () => {
    // hang-b (-m 4G) ignores SIGTERM: only a SIGKILL of its group ends it.
    const s = startRun('node-3xstop', 'node', MATRIX.replace('-m 3G', '-m 4G'));
    try {
      await whenHanging(s);
      process.kill(s.child.pid!, 'SIGINT');
      await until('the first stop to be noted', () => /SIGINT: no new cells/.test(s.stderr()), 3_000);
      // Two different signals at once (two SIGINTs could coalesce): both are dispatched before
      // any teardown can finish, so the third request is what ends the process. Both pending, the
      // kernel delivers them in either order (lowest number first, usually SIGHUP).
      process.kill(s.child.pid!, 'SIGTERM');
      process.kill(s.child.pid!, 'SIGHUP');
      const r = await exitWithin(s, 1_000);
      expect(r.code, `${r.signal} ${s.stderr()}`).toBe(130);
      expect(s.stderr()).toMatch(/(SIGTERM|SIGHUP) again: QEMU is SIGKILLed now/);
      expect(s.stderr()).toMatch(/(SIGTERM|SIGHUP) a third time: exiting now/);
      return damage(s);
    } finally {
      s.cleanup();
    }
  });

  faultProbe('SIGKILL of node: its QEMUs die with it (PDEATHSIG) and the next e820 sweeps the temp dirs it left', async () => {
    const s = startRun('node-SIGKILL', 'node');
    try {
      await whenHanging(s);
      const qemus = s.qemuPids();
      process.kill(s.child.pid!, 'SIGKILL');
      const t0 = Date.now();
      await until('the hanging QEMUs to die', () => countAlive(qemus) === 0, PDEATHSIG_BOUND_MS);
      const qemuGoneMs = Date.now() - t0;
      await s.exited;
      // Nothing ran our teardown: the boot dirs are still there, named for the dead owner…
      const left = readdirSync(s.tmp);
      expect(left.filter((n) => n.startsWith(`e820-boot-${s.child.pid}-`)).length).toBe(2);
      // …until the next invocation (any command) starts.
      const next = spawnSync(process.execPath, [E820, 'predict', '--', '-M', 'pc', '-m', '1G'], { cwd: REPO_ROOT, env: s.env, encoding: 'utf8', timeout: 30_000 });
      expect(next.status, next.stderr).toBe(0);
      expect(existsSync(join(s.tmp, left[0]!))).toBe(false);
      process.stdout.write(`signals: QEMU died ${qemuGoneMs} ms after SIGKILL of node\n`);
      return damage(s);
    } finally {
      s.cleanup();
    }
  });

  faultProbe('SIGINT during provisioning in `run` kills apt and stops (the signal reaches provisioning)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'e820-fault-sigwork-apt-'));
    const tmp = probeTmpdir('apt-SIGINT');
    try {
      const matrix = join(work, 'one.yaml');
      writeFileSync(matrix, 'cells:\n  - id: a\n    qemu: -M pc -m 1G\n');
      const aptPids = join(work, 'apt.pids');
      // PATH holds only the fake apt-get: qemu-system-x86_64 is "missing", so provisioning
      // installs it (as root), and that apt-get never finishes by itself.
      const env = { ...process.env, PATH: FAKE_APT_BIN, TMPDIR: tmp, E820_CACHE_DIR: join(work, 'cache'), FAKE_APT_PIDFILE: aptPids };
      const child = spawn(process.execPath, [E820, 'run', matrix, '--plain', '--results', join(work, 'results')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        await until('apt-get to start', () => recordedPids(aptPids).length === 1, 15_000);
        const apt = recordedPids(aptPids);
        process.kill(child.pid!, 'SIGINT');
        const t0 = Date.now();
        await until('apt-get to be killed', () => countAlive(apt) === 0, 3_000);
        const code = await Promise.race([exited, sleep(STOP_BOUND_MS).then(() => 'running' as const)]);
        expect(code, err).toBe(2);
        expect(Date.now() - t0).toBeLessThan(STOP_BOUND_MS);
        expect(err).toMatch(/interrupted \(SIGINT\)/);
        return { orphans: countAlive([...apt, child.pid!]), tempDirsLeft: entriesLeft(tmp) };
      } finally {
        for (const pid of [...recordedPids(aptPids), child.pid!]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
