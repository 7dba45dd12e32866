// `e820 predict --batch FILE|-`: many command lines in one process. Reads JSON lines
//   {"argv": ["-M", "q35", "-m", "2G"], "qemu": "11.1", "seabios": "1.17.0", "kernel": "6.12"}
// (the versions optional: --qemu/--seabios/--kernel or the baseline fill them in; the kernel
// flavour --kernel-flavour's, else the default, as for a single `predict`) and writes one
// JSON line per input line, in order: the prediction exactly as `predict --json` prints it (one
// line instead of indented) with "kind": "boots", or {"kind": "refuses"|"not-modelled", …} with
// the reason, or {"kind": "bad-input", …} naming what is wrong with that line. Every output line
// starts with "line": the input line it answers (blank input lines are skipped, so the numbers say
// which is which). The host facts of KVM lines are resolved once.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { claimFor, type Claim } from '../../reference/claim.ts';
import { DEFAULT_KERNEL_FLAVOUR, toolchainOf, UnknownVersionError, type KernelFlavour, type Toolchain } from '../../reference/toolchain.ts';
import { resolveHostFacts, type HostFactsReport, type HostFactsSources, type HostOverrides } from '../host-facts.ts';
import { HarnessArgvError } from '../errors.ts';
import { userAccelerator } from '../qemu-argv.ts';
import { predictionJson } from './prediction-json.ts';

export interface BatchDefaults {
  qemu?: string;
  seabios?: string;
  kernel?: string;
  /** Absent: DEFAULT_KERNEL_FLAVOUR. */
  kernelFlavour?: KernelFlavour;
}

export interface BatchSummary {
  lines: number;
  counts: Record<Claim['kind'] | 'bad-input', number>;
}

/** One input line's output object. */
export function batchLine(text: string, lineNo: number, defaults: BatchDefaults, host: () => HostFactsReport): Record<string, unknown> {
  const bad = (error: string) => ({ line: lineNo, kind: 'bad-input', error });
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    return bad(`not JSON: ${(err as Error).message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return bad('expected a JSON object with an "argv" array');
  const { argv, qemu, seabios, kernel } = input as Record<string, unknown>;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) return bad('"argv" must be an array of strings');
  for (const [key, v] of Object.entries({ qemu, seabios, kernel })) {
    if (v !== undefined && typeof v !== 'string') return bad(`"${key}" must be a version string`);
  }
  let toolchain: Toolchain;
  try {
    const { kernelFlavour, ...versions } = defaults;
    toolchain = toolchainOf({
      ...versions,
      ...(qemu !== undefined ? { qemu: qemu as string } : {}),
      ...(seabios !== undefined ? { seabios: seabios as string } : {}),
      ...(kernel !== undefined ? { kernel: kernel as string } : {}),
    });
    // As withKernelFlavour (harness/user-toolchain-flags.ts): cloud is the field's absence.
    if ((kernelFlavour ?? DEFAULT_KERNEL_FLAVOUR) === 'minimal') toolchain = { ...toolchain, kernelFlavour: 'minimal' };
  } catch (err) {
    if (err instanceof UnknownVersionError) return bad(err.message);
    throw err;
  }
  const hostReport = choosesKvm(argv as string[]) ? host() : null;
  const claim = claimFor(argv as string[], toolchain, hostReport !== null ? { host: hostReport.facts } : {});
  switch (claim.kind) {
    case 'boots':
      return { line: lineNo, kind: 'boots', ...predictionJson(claim.prediction, hostReport) };
    case 'refuses':
      return { line: lineNo, kind: 'refuses', stage: claim.stage, qemuMessage: claim.qemuMessage, message: claim.message, toolchain };
    case 'not-modelled':
      return { line: lineNo, kind: 'not-modelled', option: claim.option, detail: claim.detail, message: claim.message, toolchain };
  }
}

/** Only a KVM guest takes the host's CPU facts; an argv the harness cannot walk is left to the model to refuse. */
function choosesKvm(argv: readonly string[]): boolean {
  try {
    return userAccelerator(argv) === 'kvm';
  } catch (err) {
    if (err instanceof HarnessArgvError) return false;
    throw err;
  }
}

/** Reads JSON lines from `input`, writes one JSON line each to `output`; returns the counts. */
export async function predictBatch(
  input: Readable,
  output: Writable,
  defaults: BatchDefaults,
  hostOverrides: HostOverrides = {},
  hostSources?: HostFactsSources,
): Promise<BatchSummary> {
  let hostReport: HostFactsReport | null = null;
  const host = () => (hostReport ??= resolveHostFacts(hostOverrides, hostSources));
  const summary: BatchSummary = { lines: 0, counts: { boots: 0, refuses: 0, 'not-modelled': 0, 'bad-input': 0 } };
  let lineNo = 0;
  // Answers are written per input chunk, not per line (one write per line was a tenth of the
  // time): the lines readline hands over in one go are answered, then flushed before it waits
  // for more input, so a caller that writes a line and waits for its answer still gets it.
  let pending = '';
  const flush = async (): Promise<void> => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    if (!output.write(chunk)) await new Promise((resolve) => output.once('drain', resolve));
  };
  let flushing: Promise<void> | null = null;
  // Refusals and not-modelled claims are errors inside the model; their stacks are never shown,
  // and capturing them cost as much as a prediction. Restored when the batch ends.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (text.trim() === '') continue;
      const out = batchLine(text, lineNo, defaults, host);
      summary.lines++;
      summary.counts[out.kind as keyof BatchSummary['counts']]++;
      pending += `${JSON.stringify(out)}\n`;
      if (pending.length >= FLUSH_BYTES) await flush();
      else flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        flushing = null;
        await flush();
      });
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  await flushing;
  await flush();
  return summary;
}

/** Output is written once this much has gathered, or when the input pauses. */
const FLUSH_BYTES = 1 << 16;

/** `-` is standard input; anything else a file path. */
export function batchInput(path: string): Readable {
  return path === '-' ? process.stdin : createReadStream(path);
}
