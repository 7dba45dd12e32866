// Coverage of real command lines: a report, not a test. `npm run coverage:argv [FILE]`.
// FILE is a JSON array or JSON lines of objects {argv: string[], qemu|qemuVersion?, seabios?,
// kernel?, file?}; without FILE it reads DEFAULT_FILE when present: libvirt's qemuxml2argv test
// command lines as a sibling directory of the checkout may hold them (not part of this repository).
// Every command line is claimed by the model exactly as given (reference/claim.ts) and counted:
// predicted, refused as QEMU itself would refuse, or not modelled, with the reasons ranked.
// KVM lines are predicted for this machine's CPU (harness/host-facts.ts).
// `--peel` also ranks every reason, not just the first: the offending option (or machine
// property) is taken out and the line claimed again until it is predicted or refused by QEMU.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimFor, type Claim } from '../reference/claim.ts';
import { qemuOptionNames } from '../reference/profiles/qemu-options.ts';
import { toolchainOf, type Toolchain } from '../reference/toolchain.ts';
import { resolveHostFacts } from '../harness/host-facts.ts';

const DEFAULT_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'argv-probe', 'argv-x86_64.json');

interface ArgvLine {
  argv: string[];
  qemu?: string;
  qemuVersion?: string;
  seabios?: string;
  kernel?: string;
  file?: string;
}

function readLines(path: string): ArgvLine[] {
  const text = readFileSync(path, 'utf8');
  const parsed: unknown = text.trimStart().startsWith('[') ? JSON.parse(text) : text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array or JSON lines`);
  return parsed.map((v, i) => {
    const line = v as ArgvLine;
    if (!Array.isArray(line.argv) || !line.argv.every((a) => typeof a === 'string')) throw new Error(`${path}: entry ${i + 1} has no argv array of strings`);
    return line;
  });
}

/** The reason a claim is ranked under: the option, and the detail up to its first colon. */
function reasonOf(c: Exclude<Claim, { kind: 'boots' }>): string {
  if (c.kind === 'refuses') return c.qemuMessage.replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N');
  // -device/-object/-numa/-global details start with the argument: keep its first item (driver,
  // qom-type, DRIVER.PROP) and the reason after it.
  const colon = c.detail.indexOf(': ');
  const withArg = colon > 0 && ['-device', '-object', '-numa', '-global'].includes(c.option);
  const subject = withArg ? ` ${(c.detail.slice(0, colon).split(',')[0] ?? '').split('=')[0]}` : '';
  const detail = withArg ? c.detail.slice(colon + 2) : c.detail;
  return `${c.option.split(' ')[0]}${subject}: ${detail.length > 140 ? `${detail.slice(0, 140)}…` : detail}`;
}

/** argv without the part a not-modelled claim names, or null when it cannot be found. */
function peel(argv: readonly string[], c: Extract<Claim, { kind: 'not-modelled' }>, toolchain: Toolchain): string[] | null {
  const [opt, prop] = c.option.split(' ');
  const at = argv.findIndex((a, i) => a === opt && (prop === undefined || (argv[i + 1] ?? '').includes(prop)) && (prop !== undefined || !c.detail.includes(': ') || c.detail.startsWith(`${argv[i + 1] ?? ''}:`)));
  const i = at >= 0 ? at : argv.indexOf(opt ?? '');
  if (i < 0) return null;
  const out = [...argv];
  if (prop !== undefined && prop.endsWith('=')) {
    out[i + 1] = (out[i + 1] ?? '').split(',').filter((kv) => !kv.startsWith(prop)).join(',');
    return out;
  }
  out.splice(i, qemuOptionNames(toolchain.qemu).withArg.has((opt ?? '').replace(/^--?/, '')) ? 2 : 1);
  return out;
}

const args = process.argv.slice(2);
const peeling = args.includes('--peel');
const path = resolve(args.find((a) => a !== '--peel') ?? DEFAULT_FILE);
if (!existsSync(path)) {
  console.error(`coverage:argv: ${path} does not exist; give a file of command lines: npm run coverage:argv -- FILE`);
  process.exit(2);
}
const lines = readLines(path);
const host = resolveHostFacts().facts;
const counts = { boots: 0, refuses: 0, 'not-modelled': 0 };
const reasons = new Map<string, { count: number; example: string }>();
const allReasons = new Map<string, number>();
const start = performance.now();
for (const [i, line] of lines.entries()) {
  const toolchain = toolchainOf({ qemu: line.qemu ?? line.qemuVersion ?? '7.2', ...(line.seabios ? { seabios: line.seabios } : {}), ...(line.kernel ? { kernel: line.kernel } : {}) });
  const claim = claimFor(line.argv, toolchain, { host });
  counts[claim.kind]++;
  if (claim.kind === 'boots') continue;
  const key = `${claim.kind === 'refuses' ? 'QEMU refuses' : 'not modelled'}  ${reasonOf(claim)}`;
  const r = reasons.get(key) ?? { count: 0, example: line.file ?? `line ${i + 1}` };
  r.count++;
  reasons.set(key, r);
  let next: Claim = claim;
  let argv: string[] | null = line.argv;
  while (peeling && next.kind === 'not-modelled' && argv !== null) {
    const k = reasonOf(next);
    allReasons.set(k, (allReasons.get(k) ?? 0) + 1);
    const peeled = peel(argv, next, toolchain);
    argv = peeled !== null && peeled.join('\0') !== argv.join('\0') ? peeled : null;
    if (argv !== null) next = claimFor(argv, toolchain, { host });
  }
}
const seconds = (performance.now() - start) / 1000;
const pct = (n: number) => `${((100 * n) / lines.length).toFixed(1)} %`;
console.log(`${lines.length} command lines from ${path}`);
console.log(`  predicted:                 ${counts.boots} (${pct(counts.boots)})`);
console.log(`  refused as QEMU would:     ${counts.refuses} (${pct(counts.refuses)})`);
console.log(`  not modelled:              ${counts['not-modelled']} (${pct(counts['not-modelled'])})`);
console.log(`  predicted or QEMU refusal: ${pct(counts.boots + counts.refuses)}`);
console.log(`  ${(lines.length / seconds).toFixed(0)} command lines/s (${seconds.toFixed(2)} s)`);
console.log('\nreasons, ranked (first reason per command line):');
for (const [key, r] of [...reasons].sort((a, b) => b[1].count - a[1].count)) console.log(`${String(r.count).padStart(5)}  ${key}  (e.g. ${r.example})`);
if (peeling) {
  console.log('\nevery not-modelled reason, by peeling (a line counts once per reason):');
  for (const [key, n] of [...allReasons].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(5)}  ${key}`);
}
