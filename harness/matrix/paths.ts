// Where matrix files and prediction snapshots live in the checkout.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MATRIX_ROOT = join(REPO_ROOT, 'suites', 'matrix');
export const SNAPSHOT_ROOT = join(REPO_ROOT, 'suites', 'snapshots');
export const DEFAULT_MATRIX = 'baseline';

/** `baseline` → suites/matrix/baseline.yaml; an existing path is taken as is. */
export function matrixPath(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return resolve(nameOrPath);
  const named = join(MATRIX_ROOT, nameOrPath.endsWith('.yaml') ? nameOrPath : `${nameOrPath}.yaml`);
  if (existsSync(named)) return named;
  throw Object.assign(new Error(`no matrix ${JSON.stringify(nameOrPath)}: not a file, and no ${named}`), { exitCode: 2 });
}
