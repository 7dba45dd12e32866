// Makes suites/report/fixtures/browser/: the results of two real `e820 run`s of one small matrix,
// which the browser test (suites/report/browser.test.ts) turns into a history and a report.
//   run-1: every cell on Debian's SeaBIOS 1.16.2 (all pass);
//   run-2: the same cells, three of them booting examples/reserve-1m's patched SeaBIOS
//            (`e820 firmware build --patch examples/reserve-1m/reserve.patch`) with no expect file,
//            so they fail at firmware.e820: the undeclared reserved MiB at 0x50000000.
// Run it (root, ~3 min with QEMU, the kernel and the firmware build cached):
//   node --import tsx ci/report-fixture.ts
// It prints what it wrote; commit the two results.json files with a message saying so.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/matrix/paths.ts';
import { buildFirmware } from '../harness/provision/firmware-build.ts';

export const FIXTURE_DIR = join(REPO_ROOT, 'suites', 'report', 'fixtures', 'browser');
/** Cells booting the patched image in run 2; the others stay on Debian's. */
const PATCHED = new Set(['pc-2G', 'pc-6G', 'q35-2G']);
const CELLS: Array<[string, string]> = [
  ['pc-1G', '-M pc -m 1G'],
  ['pc-2G', '-M pc -m 2G'],
  ['pc-6G', '-M pc -m 6G'],
  ['q35-2G', '-M q35 -m 2G'],
  ['q35-4G-smp2', '-M q35 -m 4G -smp 2'],
];

function matrix(bios: string | null): string {
  const cells = CELLS.map(([id, qemu]) => `  - id: ${id}\n    qemu: ${qemu}${bios !== null && PATCHED.has(id) ? ` -bios ${bios}` : ''}\n`);
  return `# ci/report-fixture.ts: ${bios === null ? 'run 1, Debian SeaBIOS' : 'run 2, three cells on the reserve-1m SeaBIOS'}\ncells:\n${cells.join('')}`;
}

const work = mkdtempSync(join(tmpdir(), 'e820-report-fixture-'));
try {
  const image = (await buildFirmware({ seabios: '1.16.2', variant: 'bios-256k', patches: [join(REPO_ROOT, 'examples', 'reserve-1m', 'reserve.patch')], onProgress: (m) => process.stderr.write(`${m}\n`) })).path;
  for (const [run, bios] of [['run-1', null], ['run-2', image]] as const) {
    // The matrix is named like the directory so both runs' cells have the same keys (report-fixture/<id>).
    const dir = join(work, run);
    mkdirSync(dir);
    const file = join(dir, 'report-fixture.yaml');
    writeFileSync(file, matrix(bios));
    const results = join(dir, 'results');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'e820.js'), 'run', file, '--jobs', '1', '--plain', '--results', results], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, E820_HISTORY_DB: 'off' },
    });
    if (r.status !== 0 && r.status !== 1) throw new Error(`e820 run for ${run} exited ${r.status}: see above`);
    const out = join(FIXTURE_DIR, run);
    mkdirSync(out, { recursive: true });
    copyFileSync(join(results, 'results.json'), join(out, 'results.json'));
    const cells = (JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Array<{ id: string; outcome: string }> }).cells;
    process.stdout.write(`${run}: ${cells.map((c) => `${c.id} ${c.outcome}`).join(', ')} → ${join(out, 'results.json')}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
