// The fault-injection suite's ledger. Every probe (a signal, a hostile input, a damaged cache,
// two processes at once…) is a vitest test registered through faultProbe(); it reports what it
// left behind, the probe fails unless every count is zero, and the suite's global teardown
// (suites/faults/global-teardown.ts) prints the totals of the whole run: probes, orphans left,
// temp dirs left, results lost.

import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, inject, test } from 'vitest';
import { isAlive } from '../harness/helpers.ts';

export interface ProbeDamage {
  /** Processes (QEMUs, node) still alive after the probe ended and its teardown ran. */
  orphans: number;
  /** Temp dirs or files the tool made and did not remove. */
  tempDirsLeft: number;
  /** Cell results that finished but are missing from what the tool wrote. */
  resultsLost: number;
}

export interface LedgerLine extends ProbeDamage {
  probe: string;
  /** The probe threw (its behaviour checks failed) before it could report what it left. */
  failed: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The ledger file made by the global setup: one JSON line per probe, read back by its teardown. */
    faultLedger: string;
  }
}

export function appendToLedger(line: LedgerLine): void {
  appendFileSync(inject('faultLedger'), `${JSON.stringify(line)}\n`);
}

/**
 * A fault probe: runs `body`, which returns what it left behind (missing counts are zero),
 * records it in the ledger and asserts that nothing was left. `body` makes its own checks of
 * behaviour with expect(); the damage counts are the suite-wide figures.
 */
export function faultProbe(name: string, body: () => Promise<Partial<ProbeDamage> | void>, timeoutMs = 60_000): void {
  test(
    name,
    async () => {
      let got: Partial<ProbeDamage> = {};
      let failed = true;
      try {
        got = (await body()) ?? {};
        failed = false;
      } finally {
        // A probe that threw is in the totals too (as failed), so they never read clean after a failure.
        appendToLedger({ probe: name, orphans: got.orphans ?? 0, tempDirsLeft: got.tempDirsLeft ?? 0, resultsLost: got.resultsLost ?? 0, failed });
      }
      expect({ orphans: got.orphans ?? 0, tempDirsLeft: got.tempDirsLeft ?? 0, resultsLost: got.resultsLost ?? 0 }).toEqual({ orphans: 0, tempDirsLeft: 0, resultsLost: 0 });
    },
    timeoutMs,
  );
}

/** How many of these pids are still alive (not zombies). */
export function countAlive(pids: readonly number[]): number {
  return pids.filter(isAlive).length;
}

/** A private TMPDIR for one probe: everything the tool leaves in it is counted as left behind. */
export function probeTmpdir(label: string): string {
  return mkdtempSync(join(tmpdir(), `e820-fault-${label}-`));
}

/** Entries left in a probe's TMPDIR. */
export function entriesLeft(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}
