// The report as a person sees it: a generated report.html opened in headless Chromium (Debian's
// package, installed by harness/provision/chromium.ts where missing, driven by playwright-core
// with its executable path). The input is real: suites/report/fixtures/browser/ holds the
// results.json of two `e820 run`s made by ci/report-fixture.ts (run 1 on Debian's SeaBIOS, run 2
// with three cells on examples/reserve-1m's patched SeaBIOS and no expect file), appended to a
// fresh history database here as `e820 run` appends them. Screenshots go to docs/ for README.
// Also a drift page (`e820 drift --html`, suites/report/drift-fixture.ts), drawn the same way.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { findOrInstallChromium } from '../../harness/provision/chromium.ts';
import { appendHistory, recentHistory } from '../../harness/report/history.ts';
import { renderReport, type ResultsLike } from '../../harness/report/html.ts';
import { bullseyeToBookworm } from './drift-fixture.ts';

const FIXTURES = join(REPO_ROOT, 'suites', 'report', 'fixtures', 'browser');
const DOCS = join(REPO_ROOT, 'docs');
/** The known disagreement: the patch's reserved MiB, which SeaBIOS added and nobody declared. */
const FAILING = 'report-fixture/pc-2G';
const RESERVED_MIB = 'firmware machine: 0x50000000-0x500fffff (1 MiB) 2 reserved — machine only';

let work: string;
let browser: Browser;
let page: Page;
let run2: ResultsLike;

beforeAll(async () => {
  // Cold on a fresh machine: apt installs chromium (~1 min); found at once afterwards.
  const { executable } = await findOrInstallChromium({ onProgress: (m) => (m.startsWith('apt: ') ? undefined : process.stderr.write(`${m}\n`)) });
  work = await mkdtemp(join(tmpdir(), 'e820-browser-test-'));
  const db = join(work, 'e820-history.sqlite');
  const run1 = JSON.parse(await readFile(join(FIXTURES, 'run-1', 'results.json'), 'utf8')) as ResultsLike;
  run2 = JSON.parse(await readFile(join(FIXTURES, 'run-2', 'results.json'), 'utf8')) as ResultsLike;
  await appendHistory(db, join(FIXTURES, 'run-1'), run1);
  await appendHistory(db, join(FIXTURES, 'run-2'), run2);
  const html = renderReport(run2, { title: 'suites/report/fixtures/browser/run-2', history: await recentHistory(db, run2.cells), historySource: 'a history of run-1 and run-2' });
  const file = join(work, 'report.html');
  await writeFile(file, html);
  browser = await chromium.launch({ executablePath: executable, headless: true });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Nothing is fetched: a request for anything but the file itself fails the test.
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  expect(requests).toEqual([pathToFileURL(file).href]);
}, 10 * 60_000);

afterAll(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const cell = (key: string) => page.locator('details.cell', { has: page.locator('summary .key', { hasText: new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }) });

const scrollY = async () => Number(await page.evaluate('window.scrollY'));

/** Entries results.json records for a layer's side ('same': the model's). */
function recorded(key: string, side: 'model' | 'machine', layer: 'qemu' | 'firmware' | 'kernel'): number {
  const c = run2.cells.find((x) => x.key === key)!;
  const m = c.maps![side][layer];
  return (m === 'same' ? c.maps!.model[layer] : m)?.length ?? 0;
}

describe('report.html in Chromium', () => {
  test('the fixture is what it says: run 2 fails three cells at firmware.e820, passes two', () => {
    expect(run2.cells.map((c) => [c.id, c.outcome])).toEqual([
      ['pc-1G', 'pass'],
      ['pc-2G', 'fail'],
      ['pc-6G', 'fail'],
      ['q35-2G', 'fail'],
      ['q35-4G-smp2', 'pass'],
    ]);
    for (const c of run2.cells.filter((x) => x.outcome === 'fail')) expect(c.verdict?.first?.field).toBe('firmware.e820');
  });

  test('the maps are drawn: one visible SVG entry per recorded entry of each layer, model and machine', async () => {
    const c = cell(FAILING);
    await expect.poll(() => c.count()).toBe(1);
    expect(await c.getAttribute('open')).not.toBeNull();
    for (const layer of ['qemu', 'firmware', 'kernel'] as const) {
      for (const side of ['model', 'machine'] as const) {
        const n = recorded(FAILING, side, layer);
        expect(n, `${layer} ${side}`).toBeGreaterThan(0);
        const groups = c.locator('svg.map g.entry', { has: page.locator('title', { hasText: new RegExp(`^${layer} ${side}: `) }) });
        expect(await groups.count(), `${layer} ${side}`).toBe(n);
      }
    }
    // Drawn, not just present: every entry's rectangle has a size on the page.
    const boxes = await c.locator('svg.map g.entry rect').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect()).map((b) => [b.width, b.height]));
    expect(boxes.length).toBeGreaterThan(10);
    for (const [w, h] of boxes) {
      expect(w).toBeGreaterThan(10);
      expect(h).toBeGreaterThan(1);
    }
  });

  test("the undeclared reserved MiB is highlighted on the firmware layer's map, and listed", async () => {
    const c = cell(FAILING);
    const diff = c.locator('svg.map g.entry.diff', { has: page.locator('title', { hasText: RESERVED_MIB }) });
    expect(await diff.count()).toBe(1);
    expect(await diff.locator('rect').evaluate((r) => (globalThis as unknown as { getComputedStyle(e: unknown): { stroke: string } }).getComputedStyle(r).stroke)).toBe('rgb(221, 0, 0)');
    expect(await diff.locator('rect').isVisible()).toBe(true);
    // The first diverging layer is the firmware's (the kernel's map follows it); QEMU's etc/e820 is the same on both sides.
    const titles = await c.locator('svg.map g.entry.diff title').allTextContents();
    expect(titles.filter((t) => t.startsWith('firmware ')).length).toBeGreaterThan(0);
    expect(titles.filter((t) => t.startsWith('qemu '))).toEqual([]);
    expect(await c.locator('summary .why').textContent()).toMatch(/^firmware layer — /);
    expect(await c.locator('ul.dis li').allTextContents()).toContain('firmware machine only: 0x50000000-0x500fffff (1 MiB) 2 reserved');
    // A passing cell highlights nothing.
    expect(await cell('report-fixture/pc-1G').locator('g.entry.diff').count()).toBe(0);
    // README's picture of it: the cell from its row to the list of disagreeing entries (the diffs below are text).
    const sy = await scrollY();
    const top = (await c.locator('summary').boundingBox())!;
    const bottom = (await c.locator('ul.dis').boundingBox())!;
    await page.screenshot({
      path: join(DOCS, 'report-failing-cell.png'),
      fullPage: true,
      // Boxes are relative to the viewport, a full-page clip to the page.
      clip: { x: 0, y: top.y + sy, width: 1400, height: bottom.y + bottom.height - top.y + 8 },
      // The sticky filter bar would sit over the cell in a full-page capture.
      style: '.filters{position:static !important}',
    });
  });

  test("each cell shows its recent history: run 1's pass, run 2's fail, and the BIOS that changed", async () => {
    const c = cell(FAILING);
    expect(await c.locator('summary .hist i.d').evaluateAll((ds) => ds.map((d) => d.className))).toEqual(['d o-pass', 'd o-fail']);
    const rows = await c.locator('table.history tr').allTextContents();
    expect(rows).toHaveLength(3);
    expect(rows[2]).toMatch(/verdict PASS → FAIL; observed map changed; binaries: bios [0-9a-f]{12} → [0-9a-f]{12}/);
    // A cell that stayed on Debian's SeaBIOS: two passes, the same map and binaries (only the checkout's model moved between the runs).
    const same = await cell('report-fixture/pc-1G').locator('table.history tr').allTextContents();
    expect(same).toHaveLength(3);
    expect(same[2]).toContain('PASS');
    expect(same[2]).not.toMatch(/verdict|observed map|binaries/);
  });

  test('filtering by outcome and text shows only the matching cells', async () => {
    // The summary as README shows it, before any filter: totals, toolchains, coverage, the groups, the first cells.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(DOCS, 'report-summary.png') });
    const shown = page.locator('#shown');
    const visible = () => page.locator('details.cell:visible').count();
    expect(await shown.textContent()).toBe('5 of 5 cells shown');
    await page.selectOption('#f-outcome', 'fail');
    expect(await shown.textContent()).toBe('3 of 5 cells shown');
    expect(await visible()).toBe(3);
    await page.fill('#f-text', 'q35');
    expect(await shown.textContent()).toBe('1 of 5 cells shown');
    expect(await page.locator('details.cell:visible summary .key').allTextContents()).toEqual(['report-fixture/q35-2G']);
    await page.selectOption('#f-outcome', '');
    expect(await page.locator('details.cell:visible summary .key').allTextContents()).toEqual(['report-fixture/q35-2G', 'report-fixture/q35-4G-smp2']);
    await page.fill('#f-text', '');
    expect(await visible()).toBe(5);
  });

  test("a drift page draws the two toolchains' maps the same way: the 0xfd00000000 reservation outlined on every layer under bookworm only", async () => {
    const { report, html } = bullseyeToBookworm();
    const drift = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      const file = join(work, 'drift.html');
      await writeFile(file, html);
      await drift.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const c = drift.locator('details.cell').first();
      // The column heads name the toolchains, as report.html's name model and machine.
      const heads = await c.locator('svg.map > text').allTextContents();
      expect(heads.filter((t) => t.startsWith('qemu-5.2'))).toHaveLength(3);
      expect(heads.filter((t) => t.startsWith('qemu-7.2'))).toHaveLength(3);
      const outlined = c.locator('svg.map g.entry.diff');
      expect((await outlined.locator('title').allTextContents()).map((t) => t.split(':')[0])).toEqual(['qemu qemu-7.2+…', 'firmware qemu-7.2+…', 'kernel qemu-7.2+…']);
      expect(await drift.locator('p.legend code').allTextContents()).toEqual([report.from.label, report.to.label]);
      for (const r of await outlined.locator('rect').all()) expect(await r.isVisible()).toBe(true);
      await drift.fill('#f-text', 'q35');
      expect(await drift.locator('#shown').textContent()).toBe('1 of 2 cells shown');
    } finally {
      await drift.close();
    }
  });
});
