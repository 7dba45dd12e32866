// Global setup/teardown for the fault-injection suite: the ledger file, and the totals printed
// at the end of `npm test` (they must all be zero but the probe count).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { LedgerLine } from './ledger.ts';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'e820-fault-ledger-'));
  const file = join(dir, 'ledger.jsonl');
  project.provide('faultLedger', file);
  return () => {
    let lines: LedgerLine[] = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerLine);
    } catch {
      // no probe ran (a filtered run)
    }
    rmSync(dir, { recursive: true, force: true });
    if (lines.length === 0) return;
    const failed = lines.filter((l) => l.failed).length;
    const sum = (k: 'orphans' | 'tempDirsLeft' | 'resultsLost') => lines.reduce((s, l) => s + l[k], 0);
    process.stdout.write(
      `\nfault injection: ${lines.length} probes${failed > 0 ? ` (${failed} FAILED)` : ''}, ${sum('orphans')} orphans left, ${sum('tempDirsLeft')} temp dirs left, ${sum('resultsLost')} results lost\n`,
    );
  };
}
