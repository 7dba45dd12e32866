// Fault injection, results: what a run writes must be true (a layer that was not observed cannot
// pass) and must land (an unusable or shared results directory is found before the first boot).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { runCell } from '../../harness/matrix/runner.ts';
import { parseMatrix } from '../../harness/matrix/schema.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { fakeBzImage } from './fake-apt.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { OUTPUT_LOCK_NAME, writeInside } from '../../harness/output-dir.ts';
import { fake, recordedPids } from '../harness/helpers.ts';
import { fakeQemuDeps } from './fake-qemu-deps.ts';
import { countAlive, faultProbe } from './ledger.ts';

const pc1G = () => ({ cell: parseMatrix('cells:\n  - id: pc-1G\n    qemu: -M pc -m 1G\n', '/m/faults.yaml')[0]!, toolchain: BASELINE_TOOLCHAIN, key: 'faults/pc-1G' });

describe('results', () => {
  faultProbe('a SeaBIOS debug log of random bytes cannot pass: the firmware layer is unobserved, the cell is an error', async () => {
    // The same replayed boot with its real firmware log passes (so the probe can tell the two apart).
    const good = await runCell(pc1G(), fakeQemuDeps('real-pc-1G.sh'));
    expect(good.outcome, JSON.stringify(good.verdict)).toBe('pass');
    const r = await runCell(pc1G(), fakeQemuDeps('garbage-firmware.sh'));
    expect(r.outcome).toBe('error');
    expect(r.verdict?.outcome === 'error' && r.verdict.error.kind).toBe('Unobserved');
    expect(r.verdict?.outcome === 'error' && r.verdict.error.message).toMatch(/firmware\.e820 \(no "e820 map has N items:" dump in the SeaBIOS log/);
    return {};
  });
});

const E820 = join(REPO_ROOT, 'bin', 'e820.js');
const ONE_CELL = 'cells:\n  - id: done\n    qemu: -M pc -m 1G\n';
const HANGING = 'cells:\n  - id: hang\n    qemu: -M pc -m 2G\n';

interface Work {
  dir: string;
  matrix(text: string, name?: string): string;
  /** `e820 run` of a matrix on the fake QEMU (no provisioning), the way a user types it. */
  args(matrix: string, results: string): string[];
  env: NodeJS.ProcessEnv;
  qemuPids(): number[];
}

function work(label: string): Work {
  const dir = mkdtempSync(join(tmpdir(), `e820-fault-results-${label}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, E820_CACHE_DIR: join(dir, 'cache'), FAKE_QEMU_PIDFILE: join(dir, 'qemu.pids') };
  // --bzimage must be a bzImage (its header names the kernel version); the fake QEMU never reads it.
  const bzImage = join(dir, 'bzImage');
  writeFileSync(bzImage, fakeBzImage());
  return {
    dir,
    matrix: (text, name = `m${Math.random().toString(36).slice(2)}`) => {
      const f = join(dir, `${name}.yaml`);
      writeFileSync(f, text);
      return f;
    },
    args: (matrix, results) => [E820, 'run', matrix, '--plain', '--jobs', '1', '--results', results, '--qemu-binary', fake('solo.sh'), '--bzimage', bzImage],
    env,
    qemuPids: () => recordedPids(join(dir, 'qemu.pids')),
  };
}

function runSync(w: Work, matrix: string, results: string) {
  return spawnSync(process.execPath, w.args(matrix, results), { cwd: REPO_ROOT, env: w.env, encoding: 'utf8', timeout: 60_000 });
}

function cellsIn(results: string): Array<{ id: string; outcome: string }> {
  return (JSON.parse(readFileSync(join(results, 'results.json'), 'utf8')) as { cells: Array<{ id: string; outcome: string }> }).cells;
}

/** A small file system of its own (tmpfs), to make a directory full or read-only for real. */
function tmpfs(dir: string, size: string, readOnly = false): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  return () => execFileSync('umount', [dir]);
}

describe('results directory', () => {
  faultProbe('links another user planted in a shared results directory are never followed (no file elsewhere is touched)', async () => {
    const w = work('links');
    const shared = join(w.dir, 'shared');
    const victims = mkdtempSync(join(tmpdir(), 'e820-fault-victim-'));
    try {
      mkdirSync(shared, { mode: 0o1777 });
      chmodSync(shared, 0o1777);
      chmodSync(w.dir, 0o755);
      const victim = join(victims, 'precious');
      writeFileSync(victim, 'root-owned data\n');
      // nobody plants links where the run will write: the reports, and the kept logs of the
      // cell (logs/<matrix>/<id>/<id>.*, in directories nobody made and owns).
      const asNobody = (...argv: string[]) => execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv]);
      asNobody('mkdir', '-p', join(shared, 'logs', 'planted', 'done'));
      for (const name of ['results.json', 'junit.xml', 'logs/planted/done/done.stderr.log', 'logs/planted/done/done.argv.txt', 'logs/planted/done/done.serial.log']) {
        asNobody('ln', '-s', victim, join(shared, name));
      }
      const r = runSync(w, w.matrix(ONE_CELL, 'planted'), shared);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(victim, 'utf8')).toBe('root-owned data\n');
      expect(lstatSync(join(shared, 'results.json')).isSymbolicLink()).toBe(false);
      expect(cellsIn(shared).map((c) => [c.id, c.outcome])).toEqual([['done', 'pass']]);
      expect(readFileSync(join(shared, 'logs/planted/done/done.argv.txt'), 'utf8')).toContain('solo.sh');

      // A planted logs/ link (into a directory only root may write) stops the run before a boot.
      const again = join(w.dir, 'shared2');
      mkdirSync(again, { mode: 0o1777 });
      chmodSync(again, 0o1777);
      asNobody('ln', '-s', victims, join(again, 'logs'));
      const before = w.qemuPids().length;
      const r2 = runSync(w, w.matrix(ONE_CELL), again);
      expect(r2.status).toBe(2);
      expect(r2.stderr).toMatch(/cannot write results into .*shared2\/logs: it is a symlink owned by uid 65534, another user \(never followed\)/);
      expect(w.qemuPids().length).toBe(before);
      expect(readdirSync(victims)).toEqual(['precious']);
      return { orphans: countAlive(w.qemuPids()), tempDirsLeft: readdirSync(shared).filter((n) => n.endsWith('.tmp')).length };
    } finally {
      rmSync(w.dir, { recursive: true, force: true });
      rmSync(victims, { recursive: true, force: true });
    }
  });

  faultProbe('an unusable results directory (a file, read-only, full) is refused before the first boot, naming it, leaving nothing', async () => {
    const w = work('unusable');
    const unmount: Array<() => void> = [];
    try {
      const file = join(w.dir, 'a-file');
      writeFileSync(file, '');
      const ro = join(w.dir, 'ro');
      unmount.push(tmpfs(ro, '4M', true));
      const full = join(w.dir, 'full');
      unmount.push(tmpfs(full, '2M'));
      for (const [results, why] of [
        [file, /cannot write results into .*a-file: it exists and is not a directory/],
        [join(ro, 'r'), /cannot write results into .*ro\/r: cannot create it \(EROFS\)/],
        [full, /cannot write results into .*full: its file system has 2048 KiB free, and a run needs at least 64 MiB/],
      ] as const) {
        const t0 = performance.now();
        const r = runSync(w, w.matrix(ONE_CELL), results);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(why);
        expect(performance.now() - t0).toBeLessThan(10_000);
      }
      expect(w.qemuPids()).toEqual([]);
      // A write that fails for want of space leaves no temp file behind.
      execFileSync('fallocate', ['-l', '2M', join(full, 'filler')]);
      await expect(writeInside(full, 'results.json', 'x'.repeat(1 << 20))).rejects.toThrow(/ENOSPC/);
      return { tempDirsLeft: readdirSync(full).filter((n) => n !== 'filler').length };
    } finally {
      for (const u of unmount.reverse()) u();
      rmSync(w.dir, { recursive: true, force: true });
    }
  });

  faultProbe('two runs on one results directory: the second is refused at once, naming the first; a dead run\'s lock is taken over', async () => {
    const w = work('twice');
    const results = join(w.dir, 'results');
    const first = spawn(process.execPath, w.args(w.matrix(HANGING), results), { cwd: REPO_ROOT, env: w.env, stdio: 'ignore', detached: true });
    const firstExit = new Promise<number | null>((r) => first.on('exit', (code) => r(code)));
    try {
      const end = Date.now() + 20_000;
      while (w.qemuPids().length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(w.qemuPids().length).toBe(1);
      const second = runSync(w, w.matrix(ONE_CELL), results);
      expect(second.status).toBe(2);
      expect(second.stderr).toMatch(new RegExp(`another e820 run is writing its results there: pid ${first.pid} .*; wait for it to finish, or give this run another directory`));
      expect(w.qemuPids().length).toBe(1); // the second run booted nothing
      process.kill(first.pid!, 'SIGINT');
      expect(await firstExit).toBe(2);
      expect(cellsIn(results).map((c) => c.id)).toEqual(['hang']);
      // Once the first has finished, the directory is free again.
      const third = runSync(w, w.matrix(ONE_CELL), results);
      expect(third.status, third.stderr).toBe(0);
      // A lock left by a run that died (SIGKILL) is taken over.
      writeFileSync(join(results, OUTPUT_LOCK_NAME), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), start: null, since: 'then', purpose: 'e820 run', token: 'dead' }));
      const fourth = runSync(w, w.matrix(ONE_CELL), results);
      expect(fourth.status, fourth.stderr).toBe(0);
      return { orphans: countAlive([...w.qemuPids(), first.pid!]), tempDirsLeft: readdirSync(results).filter((n) => n.endsWith('.tmp') || n === OUTPUT_LOCK_NAME).length };
    } finally {
      try {
        process.kill(first.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(w.dir, { recursive: true, force: true });
    }
  });
});

/** Peak resident memory of a process, sampled from /proc until it exits (kB). */
async function peakRssKb(pid: number, exited: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return peak;
}

describe('text from the guest', () => {
  faultProbe('a 50 MB console line with ESC and NUL bytes: the boot stops at 16 MiB, every report quotes at most 400 escaped characters of it', async () => {
    const w = work('flood');
    const results = join(w.dir, 'results');
    try {
      const child = spawn(process.execPath, [...w.args(w.matrix(ONE_CELL, 'flood'), results).map((a) => (a === fake('solo.sh') ? fake('flood.sh') : a))], {
        cwd: REPO_ROOT,
        env: w.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const peak = await peakRssKb(child.pid!, exited);
      expect(await exited).toBe(2);
      process.stdout.write(`flood probe: peak RSS of e820 run ${Math.round(peak / 1024)} MiB (50 MB console line, stopped at 16 MiB)\n`);
      const json = readFileSync(join(results, 'results.json'), 'utf8');
      const junit = readFileSync(join(results, 'junit.xml'), 'utf8');
      for (const [what, text] of [['terminal', out], ['results.json', json], ['junit.xml', junit]] as const) {
        expect(text, what).not.toMatch(/[\u0000\u001b\u0007]/);
        expect(text.length, what).toBeLessThan(64 * 1024);
      }
      const cell = (JSON.parse(json) as { cells: Array<{ verdict: { error: { kind: string; message: string } } }> }).cells[0]!;
      expect(cell.verdict.error.kind).toBe('LogTooLargeError');
      expect(cell.verdict.error.message).toMatch(/the console log passed 16 MiB/);
      expect(cell.verdict.error.message).toContain('\\x1b[2J\\x1b]0;pwned\\x07\\x00AAAA');
      expect(cell.verdict.error.message).toMatch(/A… \(\d+ more characters\)/);

      // The same line in a log that ends (QEMU exits): a cut log, quoted the same way.
      const cut = spawnSync(process.execPath, w.args(w.matrix(ONE_CELL, 'cut'), join(w.dir, 'cut')).map((a) => (a === fake('solo.sh') ? fake('flood.sh') : a)), {
        cwd: REPO_ROOT,
        env: { ...w.env, FLOOD_BYTES: '1000000', FLOOD_EXIT: '1' },
        encoding: 'utf8',
      });
      expect(cut.status).toBe(2);
      expect(cut.stdout + cut.stderr).not.toMatch(/[\u0000\u001b\u0007]/);
      const cutCell = (JSON.parse(readFileSync(join(w.dir, 'cut', 'results.json'), 'utf8')) as { cells: Array<{ verdict: { error: { kind: string; message: string } } }> }).cells[0]!;
      expect(cutCell.verdict.error.kind).toBe('CutLogError');
      expect(cutCell.verdict.error.message.length).toBeLessThan(16 * 1024);
      return { orphans: countAlive(w.qemuPids()) };
    } finally {
      rmSync(w.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
