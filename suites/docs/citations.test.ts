// Citations stay inside the repository: a comment or doc may cite an upstream source or a page of
// docs/ (docs/model/ says what the model relies on), never a note that only some developers have.
// Fails on: a path into the shared notes outside the checkout, a `linux.md` / `seabios.md` /
// `qemu.md` / `design.md` / `findings.md` that does not resolve to a file in the repository, an
// explore finding cited by the old "finding Mn" form (docs/model/explore-findings.md#mn is the
// form), a section number that names no document (the numbering of those notes), a
// docs/model/…#anchor whose heading does not exist, and a project file docs/model/ names that is
// not there any more.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url));

/** Where sources, docs and YAML live; generated output, dependencies and results are not read. */
const SCAN = ['reference', 'harness', 'suites', 'ci', 'guests', 'examples', 'docs', 'bin', 'README.md'];
const SKIP_DIRS = new Set(['node_modules', 'build', 'results', '.git']);
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|sh|md|ya?ml|py)$/;

function files(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = join(ROOT, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs)) if (!SKIP_DIRS.has(name)) walk(join(rel, name));
    } else if (TEXT.test(rel) && rel !== SELF) out.push(rel);
  };
  for (const r of SCAN) walk(r);
  return out.sort();
}

/** GitHub's heading anchors: lower case, punctuation other than `-` and `_` dropped, spaces → `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(mdPath: string): Set<string> {
  const text = readFileSync(join(ROOT, mdPath), 'utf8');
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) out.add(slug(m[1]!));
  return out;
}

interface Hit {
  file: string;
  line: number;
  text: string;
  why: string;
}

const OUTSIDE = /(?:\.\.\/shared\b|\/work\/shared\b|\bshared\/(?:reference|design|style|seeds)\b)/;
const NOTE_NAME = /([\w./-]*?)\b((?:linux|seabios|qemu|design|findings?)\.md)\b/g;
const FINDING_FORM = /\bfindings?\s+M\d+/i;
/** A section number that names no document: `(§4.7)`, or a comment line starting with one. A spec named in front (`PCI Firmware Spec 3.0 §4.1.2`) is fine. */
const SECTION_SIGN = /(?:\(\s*|^\s*(?:\/\/|\*|#)\s*)§\s?\d/;
/** `docs/model/page.md#anchor` from anywhere. */
const MODEL_ANCHOR = /\bdocs\/model\/([\w-]+\.md)#([\w-]+)/g;
/** Inside docs/model/: `](page.md#anchor)` and `](#anchor)`. */
const LOCAL_ANCHOR = /\]\(([\w-]+\.md)?#([\w-]+)\)/g;
/** Inside docs/model/: a file of the project named in backticks (`reference/qemu/layout.ts`), which must exist. */
const PROJECT_PATH = /`((?:reference|harness|suites|docs|ci|guests|bin|examples)\/[\w./-]+)`/g;

const anchorCache = new Map<string, Set<string>>();

/** What is wrong with one line of `file` (a path from the repository root), as reasons. */
function problems(file: string, text: string): string[] {
  const why: string[] = [];
  if (OUTSIDE.test(text)) why.push('cites a path outside the repository');
  for (const m of text.matchAll(NOTE_NAME)) {
    const cited = `${m[1] ?? ''}${m[2]!}`;
    const candidates = [join(dirname(file), cited), cited.replace(/^\.?\//, '')];
    if (!candidates.some((c) => existsSync(join(ROOT, c)))) why.push(`cites ${cited}, which is not in the repository`);
  }
  if (FINDING_FORM.test(text)) why.push('cites an explore finding as "finding Mn": use docs/model/explore-findings.md#mn');
  if (SECTION_SIGN.test(text)) why.push('cites a numbered section (§) of a note outside the repository: cite docs/model/<page>.md#<anchor>');
  const anchored = [...text.matchAll(MODEL_ANCHOR)].map((m) => ({ target: join('docs/model', m[1]!), anchor: m[2]! }));
  if (file.startsWith('docs/model/')) {
    for (const m of text.matchAll(PROJECT_PATH)) if (!existsSync(join(ROOT, m[1]!))) why.push(`names ${m[1]}, which does not exist (moved? update the page)`);
    for (const m of text.matchAll(LOCAL_ANCHOR)) anchored.push({ target: m[1] === undefined ? file : join(dirname(file), m[1]), anchor: m[2]! });
  }
  for (const { target, anchor } of anchored) {
    if (!existsSync(join(ROOT, target))) {
      why.push(`cites ${target}, which does not exist`);
      continue;
    }
    let anchors = anchorCache.get(target);
    if (anchors === undefined) anchorCache.set(target, (anchors = anchorsOf(target)));
    if (!anchors.has(anchor)) why.push(`cites ${target}#${anchor}: no such heading`);
  }
  return why;
}

function scan(): Hit[] {
  const hits: Hit[] = [];
  for (const file of files()) {
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        for (const why of problems(file, text)) hits.push({ file, line: i + 1, text: text.trim().slice(0, 160), why });
      });
  }
  return hits;
}

describe('citations stay inside the repository', () => {
  it('reads the tree it guards', () => {
    const f = files();
    expect(f).toContain('reference/predict.ts');
    expect(f).toContain('docs/model/README.md');
    expect(f.length).toBeGreaterThan(200);
  });

  it.each([
    ['Sanitising the table', 'sanitising-the-table'],
    ['last_pfn and max_arch_pfn', 'last_pfn-and-max_arch_pfn'],
    ['64-bit BARs above 4 GiB', '64-bit-bars-above-4-gib'],
    ['/proc/iomem', 'prociomem'],
    ['mem= and memmap=', 'mem-and-memmap'],
    ['M14', 'm14'],
  ])('slugs the heading %j as GitHub does: #%s', (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });

  // The detectors themselves, on lines written for the purpose (so the scan below can fail). The
  // outside paths are assembled here so that this file does not itself name them.
  const NOTES_BESIDE_CHECKOUT = ['..', 'shared'].join('/');
  const NOTES_ON_THIS_MACHINE = ['', 'work', 'shared'].join('/');
  it.each([
    ['reference/x.ts', '// e820__update_table() (linux.md §4.2)'],
    ['reference/x.ts', `// see ${NOTES_BESIDE_CHECKOUT}/reference/seabios.md`],
    ['harness/x.ts', `// facts: ${NOTES_ON_THIS_MACHINE}/design.md`],
    ['harness/x.ts', '// left out (findings M14)'],
    ['harness/x.ts', '// as explore finding M8 showed'],
    ['reference/x.ts', '/** nosave regions (§7.2). */'],
    ['reference/x.ts', '// docs/model/linux.md#no-such-section'],
    ['reference/x.ts', '// docs/model/nowhere.md#anything'],
    ['docs/model/qemu.md', 'as [seabios.md](seabios.md#no-such-section) says'],
    ['docs/model/qemu.md', 'the stage (`reference/qemu-stage.ts`) follows'],
  ])('flags %s: %s', (file, line) => {
    expect(problems(file, line)).not.toEqual([]);
  });

  it.each([
    ['harness/provision/seabios-image.ts', "readFile(join(dpkgInfo, 'seabios.md5sums'))"],
    ['harness/host/check.ts', '/** ACPI MCFG (PCI Firmware Spec 3.0 §4.1.2): 44-byte header */'],
    ['reference/x.ts', '// (docs/model/linux.md#sanitising-the-table; arch/x86/kernel/e820.c)'],
    ['reference/x.ts', '// explore M2: -numa node,mem= (docs/model/explore-findings.md#m2)'],
    ['docs/model/README.md', '| [qemu.md](qemu.md) | … |'],
    ['docs/model/qemu.md', 'see [the AMD hole](#the-amd-hypertransport-hole)'],
    ['docs/model/qemu.md', 'the stage (`reference/qemu/stage.ts`) follows'],
  ])('lets %s: %s through', (file, line) => {
    expect(problems(file, line)).toEqual([]);
  });

  it('no file cites a note outside the repository, an old finding label or a missing docs/model anchor', () => {
    const hits = scan().map((h) => `${h.file}:${h.line}: ${h.why}\n    ${h.text}`);
    expect(hits).toEqual([]);
  });
});
