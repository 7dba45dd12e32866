// E820_JOBS for the booting suites: the same rule as `--jobs` (harness/cli/options.ts parseJobs).

import { parseJobs } from '../harness/cli/options.ts';

export function jobsFromEnv(text: string): number {
  try {
    return parseJobs(text);
  } catch {
    throw new Error(`E820_JOBS=${JSON.stringify(text)}: expected a whole number ≥ 1 (concurrent boots)`);
  }
}
