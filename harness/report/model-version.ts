// Which model produced a results.json: the checkout's git commit, and whether reference/ had
// uncommitted changes. Merging shards refuses results of different models (harness/report/merge.ts).
// null outside a git checkout (an unpacked tarball): then nothing can be said, and merge says so.

import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../matrix/paths.ts';

export interface ModelVersion {
  commit: string | null;
  /** reference/ differs from the commit (the predictions may not be the commit's). */
  dirty: boolean;
}

/** git answers in milliseconds; a hung git (a locked repository on NFS) must not hold a run. */
const GIT_TIMEOUT_MS = 5_000;

let cached: ModelVersion | null | undefined;

function git(args: string[]): string {
  return execFileSync('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

export function modelVersion(): ModelVersion | null {
  if (cached !== undefined) return cached;
  try {
    const commit = git(['rev-parse', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'reference']) !== '';
    cached = /^[0-9a-f]{40}$/.test(commit) ? { commit, dirty } : null;
  } catch {
    cached = null;
  }
  return cached;
}
