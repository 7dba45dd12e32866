// Fault injection, bad option values: refused at once, naming the option, before anything slow
// (provisioning, boots, writing files) starts.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { MAX_TIMEOUT_SECONDS, parseTimeout } from '../../harness/cli/options.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { entriesLeft, faultProbe } from './ledger.ts';

const E820 = join(REPO_ROOT, 'bin', 'e820.js');

describe('bad input', () => {
  faultProbe('--timeout that Node cannot time, or that is not a number, is refused before provisioning by every boot command', async () => {
    // The longest deadline accepted still fits Node's timers (2^31−1 ms), so it cannot fire at once.
    expect(parseTimeout(String(MAX_TIMEOUT_SECONDS))).toBeLessThan(2 ** 31 - 1);
    for (const value of ['0', '-5', '', ' ', 'Infinity', 'NaN', '1e9']) expect(() => parseTimeout(value), value).toThrow(/^--timeout .*expected seconds > 0 and at most/);
    const cache = mkdtempSync(join(tmpdir(), 'e820-fault-timeout-cache-'));
    const results = mkdtempSync(join(tmpdir(), 'e820-fault-timeout-results-'));
    try {
      for (const value of ['3000000', 'abc']) {
        for (const argv of [
          ['run', '--timeout', value, '--results', join(results, 'r')],
          ['check', '--timeout', value, '--', '-M', 'pc'],
          ['explore', '--count', '1', '--timeout', value, '--out', join(results, 'x')],
          ['drift', '--from', 'qemu-7.2', '--to', 'qemu-10.0', '--verify', '--timeout', value],
          ['capture', '--timeout', value, '--', '-M', 'pc'],
        ]) {
          const t0 = performance.now();
          const out = spawnSync(process.execPath, [E820, ...argv], { cwd: REPO_ROOT, env: { ...process.env, E820_CACHE_DIR: cache }, encoding: 'utf8', timeout: 30_000 });
          const what = `e820 ${argv.join(' ')}`;
          expect(out.status, `${what}\n${out.stderr}`).toBe(2);
          expect(out.stderr, what).toContain(`--timeout ${JSON.stringify(value)}: expected seconds > 0 and at most ${MAX_TIMEOUT_SECONDS}`);
          expect(performance.now() - t0, what).toBeLessThan(10_000);
        }
      }
      // Nothing was provisioned and no results directory was made.
      return { tempDirsLeft: entriesLeft(cache) + entriesLeft(results) };
    } finally {
      rmSync(cache, { recursive: true, force: true });
      rmSync(results, { recursive: true, force: true });
    }
  }, 180_000);

  faultProbe('a usage error (unknown option, missing value) exits 2 like any bad input, never 1 (a failed cell)', async () => {
    for (const argv of [['explore', '--results', 'x'], ['run', '--jobs'], ['check', '--no-such-flag', '--', '-M', 'pc'], ['no-such-command']]) {
      const out = spawnSync(process.execPath, [E820, ...argv], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
      expect(out.status, `e820 ${argv.join(' ')}\n${out.stderr}`).toBe(2);
      expect(out.stderr).toMatch(/^error: /m);
    }
    const help = spawnSync(process.execPath, [E820, 'run', '--help'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(help.status).toBe(0);
    return {};
  });
});
