// Runs cells: the model's claim (pure, cheap), the boot (capture) when the claim is one a boot
// can judge, and the verdict from judge(claim, outcome) (harness/matrix/judge.ts). A bounded
// pool, one AbortSignal for the whole run: once it fires no new cell starts, running captures are
// aborted (capture's teardown kills QEMU), and every finished cell's result is kept.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FIRMWARE_SCOPE_PREFIX, type CaptureScope } from '../capture.ts';
import { BOOT_DEADLINE_MS } from '../run-qemu.ts';
import type { KvmProbeResult, KvmStatus } from '../kvm-probe.ts';
import type { Host } from '../host/types.ts';
import { isThisMachine } from '../host/local.ts';
import { describeHostFacts } from '../host-facts.ts';
import { toolchainLabel, type Toolchain } from '../../reference/toolchain.ts';
import { scheduleOrder } from './cost.ts';
import type { CaptureOptions, MatrixDeps } from './deps.ts';
import { claimCell, errorVerdict, judge, type CellClaimKind, type HarnessOutcome, type JudgeContext } from './judge.ts';
import type { CellRun } from './schema.ts';
import { cellArgv } from './cell-argv.ts';
import type { Verdict } from './verdict.ts';
import { expectSummary } from './expect-summary.ts';
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
  /**
   * KVM cells: the probe's finding ('not-probed' when the deps offer no probe) and the host facts
   * the prediction used; `on`: the machine whose probe it is (a Host label), when the run has
   * several machines or another one (e820 run --host).
   */
  kvm: { status: KvmStatus | 'not-probed'; reason: string; host: string | null; on?: string } | null;
  /** The machine the cell booted on (a Host label: `local`, `ssh://…`), when the deps say where boots go. */
  ranOn?: string;
  /** Boots of this cell: 0 before the capture, 1, or 2 when a harness timeout was retried (MAX_ATTEMPTS). */
  attempts: number;
  /** Why the cell was booted a second time (the first attempt's error); null when it was not. The outcome is the second attempt's. */
  retried: { reason: string; kind: string; message: string } | null;
  /**
   * What the machine did with the cell, once it was booted: QEMU started and the capture finished
   * ('booted'), QEMU refused to start ('qemu-refused', a HarnessOutcome 'refused'), or the boot failed some
   * other way ('boot-error': a timeout, a panic, a cut log), with that error's first line. Absent
   * when nothing was booted.
   */
  machine?: { outcome: 'booted' | 'qemu-refused' | 'boot-error'; detail: string | null };
  /** What the model claimed (harness/matrix/judge.ts CellClaim); absent before the model was asked. */
  claim?: CellClaimKind;
  /** The maps the HTML report draws, model and machine (harness/report/cell-maps.ts); absent when nothing was compared. */
  maps?: RecordedMaps;
  /** sha256 and package of the QEMU binary, SeaBIOS image, kernel and initramfs the boot ran (harness/binaries.ts); absent when nothing booted. */
  binaries?: BootBinaries;
}

/**
 * Boots of one cell at most: the first, and one retry after a harness timeout (a BootTimeoutError:
 * the machine may be busy rather than the guest stuck; anything else — a refusal, a panic, a cut
 * log — would only repeat itself; harness/capture.ts CaptureOutcome `retryable`).
 */
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
  /**
   * KVM probes of this run, per host and toolchain (runMatrix keeps one per run): every KVM cell
   * of the run asks each host once.
   */
  kvmProbes?: Map<string, Promise<KvmProbeResult>>;
}

/** Best first: a KVM cell goes to the hosts whose KVM takes it furthest. */
const KVM_RANK: Record<KvmStatus, number> = { full: 2, 'firmware-only': 1, unavailable: 0 };

/** This machine (`null`: the deps' one machine) says nothing in a reason; another machine is named. */
const onHost = (host: Host | null): string => (host === null || isThisMachine(host) ? '' : ` on ${host.label}`);

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/**
 * The retry failed too: the second attempt's outcome, its message naming both attempts, first
 * line first, then each attempt's whole message.
 */
function bothAttempts(first: Extract<HarnessOutcome, { kind: 'harness-error' }>, second: Extract<HarnessOutcome, { kind: 'refused' | 'harness-error' }>): HarnessOutcome {
  const message = [
    `both attempts failed (a harness timeout is retried once): attempt 1: ${first.label}: ${firstLine(first.message)}; attempt 2: ${second.label}: ${firstLine(second.message)}`,
    '',
    '--- attempt 1 ---',
    first.message,
    '',
    '--- attempt 2 ---',
    second.message,
  ].join('\n');
  return { ...second, message };
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

  const tp = performance.now();
  // A declared intent goes into the prediction: the build passes only by doing exactly that.
  const claimed = claimCell(result.argv, run.toolchain, deps, run.cell.expect !== undefined ? { intent: run.cell.expect.intent } : undefined);
  // A KVM cell that boots on another machine is claimed again for that machine's CPU (below).
  let claim = claimed.claim;
  const parsed = claimed.config;
  result.timings.predictMs = Math.round(performance.now() - tp);
  result.claim = claim.kind;
  const prediction = claim.kind === 'boots' ? claim.prediction : undefined;
  if (result.expect !== undefined && prediction?.applied !== undefined) result.expect.applied = [...prediction.applied];
  const judgeOptionClaims = deps.judgeOptionClaims === true;
  const ctx: JudgeContext = {
    cell: `${run.cell.matrix}.yaml cell ${run.cell.index} (id ${JSON.stringify(run.cell.id)})`,
    judgeOptionClaims,
    compare: { isE820IomemLine: deps.isE820IomemLine, ...(run.cell.expect !== undefined ? { declared: run.cell.expect.intent } : {}) },
  };
  const finish = (outcome: HarnessOutcome): CellResult => {
    const verdict = judge(claim, outcome, ctx);
    result.verdict = verdict;
    result.outcome = verdict.outcome;
    result.timings.totalMs = Math.round(performance.now() - t0);
    const obs = outcome.kind === 'booted' ? outcome.observation : undefined;
    if (obs?.meta) {
      const m = obs.meta;
      result.versions = { qemu: m.qemuVersion ?? null, seabios: m.seabiosBanner ?? null, seabiosImage: m.seabiosImage ?? null, kernel: m.kernelRelease ?? null, accel: m.accel ?? null };
      result.warnings = [...(m.warnings ?? [])];
      result.qemuArgv = obs.meta.argv ?? null;
      result.timings.bootWallMs = typeof obs.meta.wallMs === 'number' ? obs.meta.wallMs : null;
    }
    return result;
  };

  // Which claims are booted: a boot, a refusal during machine init (QEMU must refuse with the
  // model's words), and — for explore — a refusal while reading options and a cell the model does
  // not model (whether QEMU boots it is what the model's share is measured against), unless the
  // harness owns the option it names.
  const booted =
    claim.kind === 'boots' ||
    (claim.kind === 'refuses' && (claim.stage === 'machine' || judgeOptionClaims)) ||
    (claim.kind === 'not-modelled' && deps.bootNotModelled === true && !claim.harnessOwned && (claim.stage === 'machine' || judgeOptionClaims));
  if (!booted) return finish({ kind: 'not-booted' });
  // A configuration refused while reading options has none: the machine defaults stand in (TCG,
  // no -bios), which is all capture reads from a config it is given the argv with.
  const config = parsed ?? deps.parseArgs([], run.toolchain.qemu);

  if (options.signal?.aborted) return finish({ kind: 'aborted', message: 'the run was interrupted before this cell booted', refused: null });

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
  // Where the boot may go, and what it learns there: set for KVM cells from each host's probe.
  let placedOn: Host | null = null;
  const placement: Pick<CaptureOptions, 'accept' | 'onHost'> = {
    onHost: (h) => {
      placedOn = h;
      result.ranOn = h.label;
    },
  };
  if (config.accel === 'kvm' && deps.kvmProbe) {
    // KVM is a property of each machine: the probe runs on every host of the run (once per run,
    // host and toolchain), and the cell goes only to the hosts where KVM takes it furthest; its
    // scope follows from theirs. `null`: the deps' one machine (no hosts listed).
    const hosts: Array<Host | null> = deps.hosts !== undefined && deps.hosts.length > 0 ? [...deps.hosts] : [null];
    const ask = (h: Host | null): Promise<KvmProbeResult> => {
      const key = `${h?.label ?? ''}\u0000${JSON.stringify(run.toolchain)}`;
      let p = options.kvmProbes?.get(key);
      if (p === undefined) {
        p = deps.kvmProbe!(run.toolchain, { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}), ...(h !== null ? { host: h } : {}) });
        // A failed or interrupted probe is not an answer: the next cell asks again.
        p.catch(() => options.kvmProbes?.delete(key));
        options.kvmProbes?.set(key, p);
      }
      return p;
    };
    // Each host's probe on its own: a host whose probe failed (unreachable, broken) is left out of
    // this cell, named with its error; the cell fails only when every probe failed.
    const settled = await Promise.allSettled(hosts.map(async (h) => ({ host: h, label: h?.label ?? 'local', probe: await ask(h) })));
    const probes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ label: hosts[i]?.label ?? 'local', err: s.reason as unknown }] : []));
    if (failed.length > 0 && options.signal?.aborted) {
      return finish({ kind: 'aborted', message: `the run was interrupted during the KVM probe (${errorMessage(failed[0]!.err)})`, refused: null });
    }
    if (probes.length === 0) {
      const err = failed[0]!.err;
      const label = err instanceof Error ? err.name : 'Error';
      const why = failed.length === 1 ? errorMessage(err) : failed.map((f) => `${f.label}: ${errorMessage(f.err)}`).join('; ');
      return finish({ kind: 'harness-error', label: `KvmProbe/${label}`, message: `the KVM probe boot failed${failed.length > 1 ? ' on every host of this run' : ''}, so this KVM cell cannot run: ${why}`, duringBoot: false, retryable: false });
    }
    const leftOut = failed.length > 0 ? ` (left out, their KVM probe failed: ${failed.map((f) => `${f.label}: ${firstLine(errorMessage(f.err))}`).join('; ')})` : '';
    const best = Math.max(...probes.map((p) => KVM_RANK[p.probe.status]));
    const chosen = probes.filter((p) => KVM_RANK[p.probe.status] === best);
    const several = hosts.length > 1;
    const named = several || probes.some((p) => onHost(p.host) !== '');
    const kvmOf = (p: (typeof probes)[number]): NonNullable<CellResult['kvm']> => ({ status: p.probe.status, reason: `${p.probe.reason}${leftOut}`, host: prediction?.host ?? null, ...(named ? { on: p.label } : {}) });
    result.kvm = kvmOf(chosen[0]!);
    // Each host's own words; one host's reason as it always was.
    const reasons = (ps: typeof probes): string => (ps.length === 1 ? ps[0]!.probe.reason : ps.map((p) => `${p.label}: ${p.probe.reason}`).join('; '));
    if (chosen[0]!.probe.status === 'unavailable') {
      const where = probes.length > 1 ? (failed.length > 0 ? ' on every host whose probe answered' : ' on every host of this run') : onHost(chosen[0]!.host) || ' on this machine';
      return finish({ kind: 'harness-error', label: 'KvmUnavailable', message: `KVM is unavailable${where}, and this cell needs -accel kvm: ${reasons(chosen)}${leftOut}`, duringBoot: false, retryable: false });
    }
    if (chosen[0]!.probe.status === 'firmware-only' && forced === 'auto' && scope === 'full') {
      scope = 'firmware';
      const where = chosen.length === 1 ? onHost(chosen[0]!.host) : ` on ${chosen.length === hosts.length ? 'every host of this run' : chosen.map((p) => p.label).join(', ')}`;
      scopeReason = `KVM probe${where}: firmware-only — ${reasons(chosen)}${leftOut}`;
    }
    if (chosen.length < hosts.length) {
      // Never a host that would run the cell with less than the best host can.
      const ok = new Set(chosen.map((p) => p.host));
      placement.accept = (h) => ok.has(h);
    }
    placement.onHost = (h) => {
      placedOn = h;
      result.ranOn = h.label;
      const mine = probes.find((p) => p.host === h);
      if (mine !== undefined) result.kvm = kvmOf(mine);
    };
  } else if (config.accel === 'kvm') {
    result.kvm = { status: 'not-probed', reason: 'the harness offers no KVM probe: captured like any cell', host: prediction?.host ?? null };
  }
  // Nothing left to compare: the kernel layer is out of scope (and with it the QEMU layer, which
  // the guest kernel reads from fw_cfg), and the model says this firmware prints nothing. Such a
  // cell is not claimed, with both reasons, instead of booted into a deadline; explore still boots
  // it (bootNotModelled), to learn whether QEMU starts it.
  if (scope === 'firmware' && prediction?.firmwareUnobservable) {
    const option = config.bios ?? 'the firmware image';
    const detail = `nothing this harness observes: ${prediction.firmwareUnobservable}; and the kernel layer is out of scope (${scopeReason ?? 'asked for'})`;
    claim = { kind: 'not-modelled', stage: 'machine', option, detail, message: `${option}: ${detail}`, harnessOwned: false, label: 'NothingObservable' };
    result.claim = claim.kind;
    if (deps.bootNotModelled !== true) return finish({ kind: 'not-booted' });
  }
  result.scope = { scope, reason: scopeReason };
  ctx.compare = {
    ...ctx.compare,
    excluded: [
      ...(scope === 'firmware' ? [{ layer: 'kernel' as const, reason: `${FIRMWARE_SCOPE_PREFIX}: ${scopeReason ?? 'asked for'}` }] : []),
      // The model says this image prints nothing on the debug port: predicted, listed as excluded.
      ...(prediction?.firmwareUnobservable ? [{ layer: 'firmware' as const, reason: prediction.firmwareUnobservable }] : []),
    ],
  };

  const logsDir = options.logsRoot ? join(options.logsRoot, run.cell.matrix, run.key.slice(run.cell.matrix.length + 1)) : undefined;
  result.logsDir = logsDir ?? null;
  // A cell's own `timeout:` can only lengthen the overall deadline in force (--timeout, else the
  // harness's BOOT_DEADLINE_MS), never shorten it; it is also the cell's cost hint (cost.ts).
  const cellTimeoutMs = run.cell.timeoutSeconds !== null ? run.cell.timeoutSeconds * 1000 : undefined;
  const timeoutMs = cellTimeoutMs !== undefined ? Math.max(cellTimeoutMs, options.timeoutMs ?? BOOT_DEADLINE_MS) : options.timeoutMs;
  const tc = performance.now();
  const bootOnce = async (attempt: number): Promise<HarnessOutcome> => {
    result.attempts = attempt;
    const outcome = await deps.capture(config, run.toolchain, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(logsDir ? { keepLogsDir: logsDir } : {}),
      qemuArgs: result.argv,
      ...placement,
      // A retry keeps its own logs next to the first attempt's.
      label: attempt === 1 ? run.cell.id : `${run.cell.id}.attempt${attempt}`,
      ...(scope === 'firmware' ? { scope, scopeReason: scopeReason ?? 'asked for' } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
    });
    return outcome.kind === 'harness-error' ? { ...outcome, duringBoot: true } : outcome;
  };
  let outcome = await bootOnce(1);
  // One retry after a harness timeout (a busy machine), said in the result; never a second. A
  // cell the model does not model is booted once: only whether QEMU boots it is learnt.
  if (outcome.kind === 'harness-error' && outcome.retryable && !options.signal?.aborted && MAX_ATTEMPTS >= 2 && claim.kind !== 'not-modelled') {
    const first = outcome;
    result.retried = { reason: `attempt 1 failed with ${first.label}: ${firstLine(first.message)}`, kind: first.label, message: first.message };
    options.onProgress?.(`retrying once: ${result.retried.reason}`);
    const second = await bootOnce(2);
    outcome = second.kind === 'refused' || second.kind === 'harness-error' ? bothAttempts(first, second) : second;
  }
  result.timings.captureMs = Math.round(performance.now() - tc);
  // A KVM guest takes its host's CPU vendor and address width: a cell that booted on another
  // machine is judged against the model's claim for that machine's CPU, never this one's.
  const on = placedOn as Host | null;
  if (config.accel === 'kvm' && on !== null && !isThisMachine(on) && deps.hostFacts !== undefined && outcome.kind !== 'aborted') {
    try {
      const facts = await deps.hostFacts(on);
      claim = claimCell(result.argv, run.toolchain, deps, { host: facts.facts, ...(run.cell.expect !== undefined ? { intent: run.cell.expect.intent } : {}) }).claim;
      result.claim = claim.kind;
      if (result.kvm !== null) result.kvm.host = `${on.label}: ${describeHostFacts(facts)}`;
    } catch (err) {
      outcome = { kind: 'harness-error', label: 'HostFacts', message: `the KVM host facts of ${on.label} could not be read, so this cell cannot be judged for its CPU: ${errorMessage(err)}`, duringBoot: false, retryable: false };
    }
  }
  if (outcome.kind === 'booted') {
    result.machine = { outcome: 'booted', detail: null };
    if (claim.kind === 'boots') result.maps = recordMaps(claim.prediction.report, outcome.observation.report);
  } else if (outcome.kind === 'aborted') {
    outcome = { ...outcome, message: `the run was interrupted during the boot (${outcome.message})` };
  } else if (outcome.kind === 'refused' || outcome.kind === 'harness-error') {
    if (options.signal?.aborted) {
      outcome = { kind: 'aborted', message: `the run was interrupted during the boot (${outcome.message})`, refused: outcome.kind === 'refused' ? outcome.lines : null };
    } else {
      result.machine = { outcome: outcome.kind === 'refused' ? 'qemu-refused' : 'boot-error', detail: `${outcome.label}: ${firstLine(outcome.message)}` };
    }
  }
  return finish(outcome);
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
  const kvmProbes = new Map<string, Promise<KvmProbeResult>>();
  const worker = async (): Promise<void> => {
    while (next < order.length && !options.signal?.aborted) {
      const i = order[next++]!;
      const run = runs[i]!;
      options.onStart?.(run);
      const r = await runCell(run, deps, {
        kvmProbes,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
        ...(options.logsRoot ? { logsRoot: options.logsRoot } : {}),
        ...(options.onProgress ? { onProgress: (m: string) => options.onProgress!(run, m) } : {}),
      }).catch((err: unknown): CellResult => {
        // runCell catches everything it expects; this is a bug guard so one cell cannot sink the run.
        const failed = notRunResult(run);
        failed.outcome = 'error';
        failed.verdict = errorVerdict(`Internal/${err instanceof Error ? err.name : 'Error'}`, errorMessage(err));
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
