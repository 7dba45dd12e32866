// Benchmark: prints numbers, asserts nothing. How big a report is and how long Chromium takes to
// show it: `node --import tsx ci/bench-report.ts RESULTS_DIR|report.html [--runs N]`.
//   size: the file's bytes, and how many cells and SVG entries it holds;
//   load: navigation start to the load event (parse, style, layout of the page as it opens: failing
//     cells open, the others folded), median and max of N fresh pages;
//   open all: every cell unfolded and laid out (each map drawn), median and max.
// Chromium is Debian's, found or installed by harness/provision/chromium.ts, driven headless by
// playwright-core.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { findOrInstallChromium } from '../harness/provision/chromium.ts';

const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--'));
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
if (target === undefined || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: node --import tsx ci/bench-report.ts RESULTS_DIR|report.html [--runs N]\n');
  process.exit(2);
}
const file = (await stat(target)).isDirectory() ? join(target, 'report.html') : target;
const html = await readFile(file, 'utf8');
const bytes = Buffer.byteLength(html);
const cells = html.match(/<details class="cell"/g)?.length ?? 0;
const entries = html.match(/<g class="entry /g)?.length ?? 0;
console.log(`report: ${file}`);
console.log(`size: ${bytes} bytes (${(bytes / 2 ** 20).toFixed(2)} MiB), ${cells} cells, ${entries} SVG map entries`);

const { executable, version } = await findOrInstallChromium();
const browser = await chromium.launch({ executablePath: executable, headless: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const load: number[] = [];
  const openAll: number[] = [];
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    load.push(Number(await page.evaluate('(() => { const n = performance.getEntriesByType("navigation")[0]; return n.loadEventEnd - n.startTime; })()')));
    // Unfold every cell and force a layout: the cost of drawing every map.
    openAll.push(Number(await page.evaluate('(() => { const t = performance.now(); for (const d of document.querySelectorAll("details.cell")) d.open = true; void document.body.offsetHeight; return performance.now() - t; })()')));
    await page.close();
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
  console.log(`chromium: ${version}, ${runs} fresh pages`);
  console.log(`load (navigation start → load event): ${fmt(load)}`);
  console.log(`open all cells and lay them out: ${fmt(openAll)}`);
} finally {
  await browser.close();
}
