// One configuration's QEMU layer checked without a guest: parse, run the model's QEMU stage,
// read QEMU through qtest, compare. Refusals are judged as `e820 check` judges them
// (harness/matrix/judge.ts): both refuse and QEMU prints exactly the model's words, or fail.

import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { refusalText } from '../../reference/claim.ts';
import { guestConsoleIndex } from '../../reference/guest.ts';
import { qemuProfile } from '../../reference/profiles/qemu.ts';
import { qemuStage, type HostFacts } from '../../reference/qemu/index.ts';
import type { Handoff } from '../../reference/stages.ts';
import { toolchainLabel, type Toolchain } from '../../reference/toolchain.ts';
import { QemuLaunchError } from '../errors.ts';
import { hostFacts } from '../host-facts.ts';
import { diffLines, renderDiff } from '../matrix/diff.ts';
import { claimCell, qemuErrorLines, refusalLines } from '../matrix/judge.ts';
import { planQtestArgv } from '../qemu-argv.ts';
import { compareQtest, type QtestVerdict } from './compare.ts';
import { observeQemuLayer, type QtestObservation } from './observe.ts';

/** What a qtest run needs of a provisioned toolchain (harness/capture.ts ProvisionedToolchain). */
export interface QtestTools {
  qemu: { binary: string; env?: Record<string, string> };
  seabiosDir?: string;
}

export type QtestOutcome =
  | { outcome: 'pass' | 'fail'; kind: 'compared'; verdict: QtestVerdict }
  /** Both refuse; `same` when QEMU printed the model's words exactly. */
  | { outcome: 'pass' | 'fail'; kind: 'refusal'; expected: string[]; observed: string[]; diff?: string }
  /** The model says QEMU refuses; QEMU started. */
  | { outcome: 'fail'; kind: 'refusal-not-seen'; expected: string[] }
  /** The model makes no claim (UnsupportedOptionError): counted, not an error. */
  | { outcome: 'not-modelled'; kind: 'not-modelled'; reason: string }
  /** The argv is not a configuration (parser error) or the harness failed. */
  | { outcome: 'error'; kind: 'error'; error: { kind: string; message: string } };

export interface QtestCellResult {
  argv: readonly string[];
  toolchain: Toolchain;
  toolchainLabel: string;
  result: QtestOutcome;
  observation: QtestObservation | null;
  qemuArgv: string[] | null;
  wallMs: number;
}

export interface QtestCheckOptions {
  signal?: AbortSignal;
  deadlineMs?: number;
  /** KVM configurations: the host facts (default: this machine's, harness/host-facts.ts). */
  host?: HostFacts;
}

const errorName = (e: unknown): string => (e instanceof Error ? e.name : 'Error');
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function checkQemuLayer(argv: readonly string[], toolchain: Toolchain, tools: QtestTools, options: QtestCheckOptions = {}): Promise<QtestCellResult> {
  const t0 = performance.now();
  const base = { argv, toolchain, toolchainLabel: toolchainLabel(toolchain) };
  const done = (result: QtestOutcome, observation: QtestObservation | null = null, qemuArgv: string[] | null = null): QtestCellResult => ({
    ...base,
    result,
    observation,
    qemuArgv,
    wallMs: Math.round(performance.now() - t0),
  });
  let handoff: Handoff | null = null;
  let refusal: string | null = null;
  // A refusal the command-line parser finds (QEMU exits while reading options) is judged like
  // one of the QEMU stage, as explore judges it (harness/matrix/judge.ts). The QEMU stage alone
  // is the model here, through the same claims as a whole prediction.
  const { claim, config } = claimCell(argv, toolchain, {
    parseArgs: (a, qemuVersion) => parseQemuArgs(a, { qemuVersion }),
    predict: (c) => {
      const host = c.accel === 'kvm' ? (options.host ?? hostFacts().facts) : undefined;
      handoff = qemuStage(c, qemuProfile(toolchain.qemu), host !== undefined ? { host } : {});
      return { report: {} };
    },
  });
  if (claim.kind === 'refuses') refusal = refusalText(claim);
  else if (claim.kind === 'not-modelled') return done({ outcome: 'not-modelled', kind: 'not-modelled', reason: claim.message });
  else if (claim.kind === 'model-error') return done({ outcome: 'error', kind: 'error', error: { kind: `Model/${claim.label}`, message: claim.message } });
  let plan;
  try {
    plan = planQtestArgv({
      userArgs: argv,
      audioNone: qemuProfile(toolchain.qemu).harnessAudioNone,
      ...(config !== null ? { accel: config.accel, consoleIndex: guestConsoleIndex(config) } : {}),
      ...(tools.seabiosDir !== undefined ? { firmwareDir: tools.seabiosDir } : {}),
    });
  } catch (e) {
    return done({ outcome: 'error', kind: 'error', error: { kind: errorName(e), message: errorText(e) } });
  }
  const qemuArgv = [tools.qemu.binary, ...plan.args];
  try {
    const r = await observeQemuLayer({
      qemu: tools.qemu.binary,
      args: plan.args,
      ...(tools.qemu.env ? { env: tools.qemu.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
    });
    if (refusal !== null) return done({ outcome: 'fail', kind: 'refusal-not-seen', expected: refusalLines(refusal) }, r.observation, qemuArgv);
    const verdict = compareQtest(handoff!, r.observation);
    return done({ outcome: verdict.outcome, kind: 'compared', verdict }, r.observation, qemuArgv);
  } catch (e) {
    if (e instanceof QemuLaunchError && refusal !== null) {
      const expected = refusalLines(refusal);
      const observed = qemuErrorLines(e.context.stderr);
      const same = expected.join('\n') === observed.join('\n');
      return done(
        {
          outcome: same ? 'pass' : 'fail',
          kind: 'refusal',
          expected,
          observed,
          ...(same ? {} : { diff: renderDiff(diffLines(expected, observed), { expected: 'expected (model)   qemu.refusal', observed: 'observed (qtest)   qemu.refusal' }) }),
        },
        null,
        qemuArgv,
      );
    }
    return done({ outcome: 'error', kind: 'error', error: { kind: errorName(e), message: errorText(e) } }, null, qemuArgv);
  }
}

/** The readable verdict the CLI and the tests print. */
export function formatQtestResult(r: QtestCellResult): string {
  const head = `${r.argv.join(' ')}  [${r.toolchainLabel}] (qemu layer via qtest)`;
  const x = r.result;
  switch (x.kind) {
    case 'compared': {
      const v = x.verdict;
      const lines = [head, v.outcome === 'pass' ? 'PASS' : `FAIL at ${v.first.field}`];
      if (v.outcome === 'fail') lines.push('', v.first.diff ?? '', '');
      lines.push(`compared ${v.compared} observed lines in ${v.fields.length} fields (${v.fields.map((f) => `${f.field} ${f.observed.length}`).join(', ')})`);
      for (const e of v.excluded) lines.push(`excluded: ${e}`);
      const later = v.fields.filter((f) => !f.same).slice(1).map((f) => f.field);
      if (later.length > 0) lines.push(`later fields also differ: ${later.join(', ')}`);
      lines.push(`time: ${r.wallMs} ms`);
      return lines.join('\n');
    }
    case 'refusal':
      return [head, x.outcome === 'pass' ? `PASS (both refuse: ${x.observed.join(' / ')})` : `FAIL at qemu.refusal — both refuse, with different messages\n\n${x.diff ?? ''}`].join('\n');
    case 'refusal-not-seen':
      return [head, `FAIL at qemu.refusal — the model says QEMU refuses (${x.expected.join(' / ')}); QEMU started`].join('\n');
    case 'not-modelled':
      return [head, `NOT MODELLED: ${x.reason}`].join('\n');
    case 'error':
      return [head, `ERROR (${x.error.kind}): ${x.error.message}`].join('\n');
  }
}
