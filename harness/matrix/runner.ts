// Runs cells: predict (pure, cheap), capture (boots QEMU), compare. A bounded pool, one
// AbortSignal for the whole run: once it fires no new cell starts, running captures are
// aborted (capture's teardown kills QEMU), and every finished cell's result is kept.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { QemuRefusal } from '../../reference/stages.ts';
import { FIRMWARE_SCOPE_PREFIX, type CaptureScope } from '../capture.ts';
import { BOOT_DEADLINE_MS } from '../run-qemu.ts';
import type { KvmStatus } from '../kvm-probe.ts';
import { toolchainLabel, type Toolchain } from '../../reference/toolchain.ts';
import { compareReports } from './compare.ts';
import { scheduleOrder } from './cost.ts';
import { diffLines, renderDiff } from './diff.ts';
import type { MatrixDeps, ObservationLike } from './deps.ts';
import { cellArgv, type CellRun } from './schema.ts';
import type { Verdict } from './verdict.ts';
import { expectSummary } from './intent.ts';
import { recordMaps, type RecordedMaps } from '../report/cell-maps.ts';
import type { BootBinaries } from '../binaries.ts';

export interface CellResult {
  key: string;
  matrix: string;
  id: string;
  index: number;
  note: string | null;
  toolchain: Toolchain;
  toolchainLabel: string;
  /** User components: the profile the model used for each detected version, and why (null without them). */
  provenance: string[] | null;
  /** The cell's argv (QEMU args, plus -append when it has kernel args). */
  argv: string[];
  /** The declared intent: where it was declared and its changes; absent when the cell has none. */
  expect?: { file: string; changes: string[]; applied?: string[] };
  outcome: Verdict['outcome'] | 'not-run';
  verdict: Verdict | null;
  /** Component versions as the harness found them (qemu --version, SeaBIOS banner, uname -r). */
  versions: Record<string, unknown> | null;
  /** The full QEMU argv the harness ran (observation.meta.argv). */
  qemuArgv: readonly string[] | null;
  timings: { startedAt: string | null; predictMs: number; captureMs: number; totalMs: number; bootWallMs: number | null };
  logsDir: string | null;
  /** Harness warnings (e.g. the guest saw a different kernel command line). */
  warnings: string[];
  /** How much of the boot was observed, and why not all of it (null before the capture). */
  scope: { scope: CaptureScope; reason: string | null } | null;
  /** KVM cells: the probe's finding ('not-probed' when the deps offer no probe) and the host facts the prediction used. */
  kvm: { status: KvmStatus | 'not-probed'; reason: string; host: string | null } | null;
  /** Boots of this cell: 0 before the capture, 1, or 2 when a harness timeout was retried (RETRYABLE_ERRORS). */
  attempts: number;
  /** Why the cell was booted a second time (the first attempt's error); null when it was not. The outcome is the second attempt's. */
  retried: { reason: string; kind: string; message: string } | null;
  /**
   * What the machine did with the cell, once it was booted: QEMU started and the capture finished
   * ('booted'), QEMU refused to start ('qemu-refused', QemuLaunchError), or the boot failed some
   * other way ('boot-error': a timeout, a panic, a cut log), with that error's first line. Absent
   * when nothing was booted.
   */
  machine?: { outcome: 'booted' | 'qemu-refused' | 'boot-error'; detail: string | null };
  /** The maps the HTML report draws, model and machine (harness/report/cell-maps.ts); absent when nothing was compared. */
  maps?: RecordedMaps;
  /** sha256 and package of the QEMU binary, SeaBIOS image, kernel and initramfs the boot ran (harness/binaries.ts); absent when nothing booted. */
  binaries?: BootBinaries;
}

/**
 * Harness errors worth one more boot: a timeout can be the machine being busy rather than the
 * guest being stuck. Anything else (a refusal, a panic, a cut log) would only repeat itself.
 */
export const RETRYABLE_ERRORS: readonly string[] = ['BootTimeoutError'];
/** Boots of one cell at most: the first, and one retry after a RETRYABLE_ERRORS error. */
export const MAX_ATTEMPTS = 2;

export interface RunCellOptions {
  /**
   * 'auto' (default): full, unless the cell's kernel cannot run — the model says it never starts,
   * or the KVM probe says KVM here runs only the firmware — then firmware. 'full'/'firmware' force it
   * (a KVM cell still needs KVM to be available).
   */
  scope?: CaptureScope | 'auto';
  signal?: AbortSignal;
  /** Overall boot cap (--timeout); a cell's `timeout:` can only lengthen it. */
  timeoutMs?: number;
  /** Stall deadline: a boot that prints nothing new for this long is timed out (harness/run-qemu.ts BOOT_STALL_MS). */
  stallMs?: number;
  /** Root for kept logs; the cell's logs go to `<logsRoot>/<matrix>/<id…>`. */
  logsRoot?: string;
  onProgress?: (msg: string) => void;
}

function errorVerdict(kind: string, message: string): Verdict {
  return { outcome: 'error', error: { kind, message } };
}

function errorKind(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/**
 * The retry failed too: one error (the second attempt's kind) whose message names both
 * attempts, first line first, then each attempt's whole message.
 */
function bothAttempts(first: unknown, second: unknown): Error {
  const err = new Error(
    [
      `both attempts failed (a harness timeout is retried once): attempt 1: ${errorKind(first)}: ${firstLine(errorMessage(first))}; attempt 2: ${errorKind(second)}: ${firstLine(errorMessage(second))}`,
      '',
      '--- attempt 1 ---',
      errorMessage(first),
      '',
      '--- attempt 2 ---',
      errorMessage(second),
    ].join('\n'),
  );
  err.name = errorKind(second);
  const ctx = (second as { context?: unknown }).context;
  if (ctx !== undefined) Object.assign(err, { context: ctx });
  return err;
}

export function notRunResult(run: CellRun): CellResult {
  return {
    key: run.key,
    matrix: run.cell.matrix,
    id: run.cell.id,
    index: run.cell.index,
    note: run.cell.note,
    toolchain: run.toolchain,
    toolchainLabel: toolchainLabel(run.toolchain),
    provenance: run.provenance ? [...run.provenance] : null,
    argv: cellArgv(run.cell),
    ...(run.cell.expect !== undefined ? { expect: expectSummary(run.cell.expect) } : {}),
    outcome: 'not-run',
    verdict: null,
    versions: null,
    qemuArgv: null,
    timings: { startedAt: null, predictMs: 0, captureMs: 0, totalMs: 0, bootWallMs: null },
    logsDir: null,
    warnings: [],
    scope: null,
    kvm: null,
    attempts: 0,
    retried: null,
  };
}

export async function runCell(run: CellRun, deps: MatrixDeps, options: RunCellOptions = {}): Promise<CellResult> {
  const result = notRunResult(run);
  const t0 = performance.now();
  result.timings.startedAt = new Date().toISOString();
  const finish = (verdict: Verdict, obs?: ObservationLike): CellResult => {
    result.verdict = verdict;
    result.outcome = verdict.outcome;
    result.timings.totalMs = Math.round(performance.now() - t0);
    if (obs?.meta) {
      const m = obs.meta;
      result.versions = { qemu: m.qemuVersion ?? null, seabios: m.seabiosBanner ?? null, seabiosImage: m.seabiosImage ?? null, kernel: m.kernelRelease ?? null, accel: m.accel ?? null };
      result.warnings = [...(m.warnings ?? [])];
      result.qemuArgv = obs.meta.argv ?? null;
      result.timings.bootWallMs = typeof obs.meta.wallMs === 'number' ? obs.meta.wallMs : null;
    }
    return result;
  };

  let config;
  try {
    config = deps.parseArgs(result.argv, run.toolchain.qemu);
  } catch (err) {
    // A cell the command-line parser rejects is a broken cell, not a conformance failure.
    return finish(errorVerdict(`BadCell/${errorKind(err)}`, `${run.cell.matrix}.yaml cell ${run.cell.index} (id ${JSON.stringify(run.cell.id)}): ${errorMessage(err)}`));
  }

  let prediction;
  let refusal: string | null = null;
  /** The model's reason, when it declines the cell and the deps boot such cells anyway (MatrixDeps.bootNotModelled). */
  let notModelled: string | null = null;
  const tp = performance.now();
  try {
    // A declared intent goes into the prediction: the build passes only by doing exactly that.
    prediction = run.cell.expect !== undefined ? deps.predict(config, run.toolchain, { intent: run.cell.expect.intent }) : deps.predict(config, run.toolchain);
    if (result.expect !== undefined && prediction.applied !== undefined) result.expect.applied = [...prediction.applied];
  } catch (err) {
    if (err instanceof QemuRefusal || errorKind(err) === 'QemuRefusal') refusal = (err as { qemuMessage?: string }).qemuMessage ?? errorMessage(err);
    else if (deps.bootNotModelled === true && errorKind(err) === 'UnsupportedOptionError') notModelled = errorMessage(err);
    else return finish(errorVerdict(`Model/${errorKind(err)}`, errorMessage(err)));
  }
  result.timings.predictMs = Math.round(performance.now() - tp);

  if (options.signal?.aborted) return finish(errorVerdict('Aborted', 'the run was interrupted before this cell booted'));

  // How much of the boot to observe. A firmware scope excludes the kernel layer, with the reason
  // in every result (never a silent pass for what was not compared).
  const forced = options.scope ?? 'auto';
  let scope: CaptureScope = forced === 'firmware' ? 'firmware' : 'full';
  let scopeReason: string | null = forced === 'firmware' ? 'asked for (--scope firmware)' : null;
  if (forced === 'auto' && prediction?.kernelStarts === false) {
    scope = 'firmware';
    const why = (prediction.unpredicted ?? []).join('; ');
    scopeReason = `the model does not claim a running guest kernel on this configuration${why ? ` (${why})` : ''}`;
  }
  if (config.accel === 'kvm' && deps.kvmProbe) {
    let probe;
    try {
      probe = await deps.kvmProbe(run.toolchain, { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      if (options.signal?.aborted) return finish(errorVerdict('Aborted', `the run was interrupted during the KVM probe (${errorMessage(err)})`));
      return finish(errorVerdict(`KvmProbe/${errorKind(err)}`, `the KVM probe boot failed, so this KVM cell cannot run: ${errorMessage(err)}`));
    }
    result.kvm = { status: probe.status, reason: probe.reason, host: prediction?.host ?? null };
    if (probe.status === 'unavailable') {
      return finish(errorVerdict('KvmUnavailable', `KVM is unavailable on this machine, and this cell needs -accel kvm: ${probe.reason}`));
    }
    if (probe.status === 'firmware-only' && forced === 'auto' && scope === 'full') {
      scope = 'firmware';
      scopeReason = `KVM probe: firmware-only — ${probe.reason}`;
    }
  } else if (config.accel === 'kvm') {
    result.kvm = { status: 'not-probed', reason: 'the harness offers no KVM probe: captured like any cell', host: prediction?.host ?? null };
  }
  result.scope = { scope, reason: scopeReason };

  const logsDir = options.logsRoot ? join(options.logsRoot, run.cell.matrix, run.key.slice(run.cell.matrix.length + 1)) : undefined;
  result.logsDir = logsDir ?? null;
  // A cell's own `timeout:` can only lengthen the overall deadline in force (--timeout, else the
  // harness's BOOT_DEADLINE_MS), never shorten it; it is also the cell's cost hint (cost.ts).
  const cellTimeoutMs = run.cell.timeoutSeconds !== null ? run.cell.timeoutSeconds * 1000 : undefined;
  const timeoutMs = cellTimeoutMs !== undefined ? Math.max(cellTimeoutMs, options.timeoutMs ?? BOOT_DEADLINE_MS) : options.timeoutMs;
  const tc = performance.now();
  const captureOnce = (attempt: number): Promise<ObservationLike> => {
    result.attempts = attempt;
    return deps.capture(config, run.toolchain, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(logsDir ? { keepLogsDir: logsDir } : {}),
      qemuArgs: result.argv,
      // A retry keeps its own logs next to the first attempt's.
      label: attempt === 1 ? run.cell.id : `${run.cell.id}.attempt${attempt}`,
      ...(scope === 'firmware' ? { scope, scopeReason: scopeReason ?? 'asked for' } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
    });
  };
  let observation: ObservationLike;
  try {
    try {
      observation = await captureOnce(1);
    } catch (first) {
      // One retry after a harness timeout (a busy machine), said in the result; never a second. A
      // cell the model does not model is booted once: only whether QEMU boots it is learnt.
      if (options.signal?.aborted || !RETRYABLE_ERRORS.includes(errorKind(first)) || MAX_ATTEMPTS < 2 || notModelled !== null) throw first;
      result.retried = { reason: `attempt 1 failed with ${errorKind(first)}: ${firstLine(errorMessage(first))}`, kind: errorKind(first), message: errorMessage(first) };
      options.onProgress?.(`retrying once: ${result.retried.reason}`);
      try {
        observation = await captureOnce(2);
      } catch (second) {
        throw bothAttempts(first, second);
      }
    }
  } catch (err) {
    result.timings.captureMs = Math.round(performance.now() - tc);
    if (!options.signal?.aborted) result.machine = { outcome: errorKind(err) === 'QemuLaunchError' ? 'qemu-refused' : 'boot-error', detail: `${errorKind(err)}: ${firstLine(errorMessage(err))}` };
    // Not modelled: the verdict stays the model's; `machine` says what QEMU did.
    if (notModelled !== null && !options.signal?.aborted) return finish(errorVerdict('Model/UnsupportedOptionError', notModelled));
    if (refusal !== null && errorKind(err) === 'QemuLaunchError') {
      // Both refuse: conformance holds when QEMU printed exactly what the model says it prints.
      const expected = refusalLines(refusal);
      const observed = qemuErrorLines((err as { context?: { stderr?: string } }).context?.stderr ?? errorMessage(err));
      if (expected.join('\n') === observed.join('\n')) {
        return finish({ outcome: 'pass', fields: [], counts: { compared: observed.length, excludedByRule: 0, excludedNotPredicted: 0, notPredicted: [], unobserved: [], excluded: [] } });
      }
      return finish(refusalFail(expected, observed, 'both refuse, with different messages'));
    }
    if (options.signal?.aborted) return finish(errorVerdict('Aborted', `the run was interrupted during the boot (${errorMessage(err)})`));
    return finish(errorVerdict(errorKind(err), errorMessage(err)));
  }
  result.timings.captureMs = Math.round(performance.now() - tc);
  result.machine = { outcome: 'booted', detail: null };
  if (notModelled !== null) return finish(errorVerdict('Model/UnsupportedOptionError', notModelled), observation);
  if (refusal !== null) return finish(refusalFail(refusalLines(refusal), ['(QEMU started and the guest booted)'], 'the model says QEMU refuses this configuration; the machine booted it'), observation);
  result.maps = recordMaps(prediction!.report, observation.report);
  return finish(
    compareReports({
      expected: prediction!.report,
      observed: observation.report,
      unobserved: observation.unobserved,
      excluded: [
        ...(scope === 'firmware' ? [{ layer: 'kernel' as const, reason: `${FIRMWARE_SCOPE_PREFIX}: ${scopeReason ?? 'asked for'}` }] : []),
        // The model says this image prints nothing on the debug port: predicted, listed as excluded.
        ...(prediction?.firmwareUnobservable ? [{ layer: 'firmware' as const, reason: prediction.firmwareUnobservable }] : []),
      ],
      isE820IomemLine: deps.isE820IomemLine,
      ...(run.cell.expect !== undefined ? { declared: run.cell.expect.intent } : {}),
    }),
    observation,
  );
}

/** The model's refusal as QEMU prints it: message, then hint lines. */
export function refusalLines(message: string): string[] {
  return message.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
}

/** QEMU's stderr without the `qemu-system-x86_64: ` prefix, warnings and our own SIGTERM note. */
export function qemuErrorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trimEnd().replace(/^\S*qemu-system-x86_64: /, ''))
    .filter((l) => l !== '' && !NOT_AN_ERROR.some((re) => re.test(l)));
}

/**
 * stderr lines that are not QEMU's refusal: warnings, also with the option's location in front
 * (`-numa node,mem=1G: warning: …`), QEMU 5.2's machine deprecation notice (error_report, no
 * `warning:`), and our own SIGTERM note.
 */
const NOT_AN_ERROR: readonly RegExp[] = [/^(?:\S.*?: )?warning: /, /^Machine type '[^']*' is deprecated: /, /^terminating on signal/];

function refusalFail(expected: string[], observed: string[], summary: string): Verdict {
  return {
    outcome: 'fail',
    first: {
      layer: 'qemu',
      field: 'qemu.refusal',
      summary: `qemu.refusal: ${summary}`,
      diff: renderDiff(diffLines(expected, observed), { expected: 'expected (model)   qemu.refusal', observed: 'observed (machine) qemu.refusal' }),
    },
    fields: [],
    counts: { compared: 0, excludedByRule: 0, excludedNotPredicted: 0, notPredicted: [], unobserved: [], excluded: [] },
  };
}

export interface RunMatrixOptions {
  /** Concurrent boots; default: number of cores. */
  jobs?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  stallMs?: number;
  /** Start order, as indices of `runs`; default: scheduleOrder (longest expected boot first). */
  order?: readonly number[];
  logsRoot?: string;
  onStart?: (run: CellRun) => void;
  onDone?: (result: CellResult) => void;
  onProgress?: (run: CellRun, msg: string) => void;
}

export interface RunSummary {
  results: CellResult[];
  interrupted: boolean;
  wallMs: number;
  jobs: number;
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

export async function runMatrix(runs: readonly CellRun[], deps: MatrixDeps, options: RunMatrixOptions = {}): Promise<RunSummary> {
  const jobs = Math.max(1, Math.floor(options.jobs ?? defaultJobs()));
  const results: CellResult[] = runs.map(notRunResult);
  // Heavy cells start first (harness/matrix/cost.ts); results stay in the matrix's order.
  const order = options.order ?? scheduleOrder(runs);
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < order.length && !options.signal?.aborted) {
      const i = order[next++]!;
      const run = runs[i]!;
      options.onStart?.(run);
      const r = await runCell(run, deps, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
        ...(options.logsRoot ? { logsRoot: options.logsRoot } : {}),
        ...(options.onProgress ? { onProgress: (m: string) => options.onProgress!(run, m) } : {}),
      }).catch((err: unknown): CellResult => {
        // runCell catches everything it expects; this is a bug guard so one cell cannot sink the run.
        const failed = notRunResult(run);
        failed.outcome = 'error';
        failed.verdict = errorVerdict(`Internal/${errorKind(err)}`, errorMessage(err));
        return failed;
      });
      results[i] = r;
      options.onDone?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, runs.length)) }, worker));
  return { results, interrupted: options.signal?.aborted ?? false, wallMs: Math.round(performance.now() - t0), jobs };
}

/** A FIFO limiter: at most `n` tasks run at once (vitest's per-cell tests share one). */
export function createLimiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const release = (): void => {
    active--;
    queue.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}
