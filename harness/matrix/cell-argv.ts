// The argv a cell stands for, apart from harness/matrix/schema.ts (the matrix parser: yaml, zod)
// so that the runner, which `e820 check` loads for its one ad-hoc cell, does not load the parser.

import type { Cell } from './schema.ts';

/** The argv the cell stands for: its QEMU args plus `-append` when the cell has kernel args. */
export function cellArgv(cell: Cell): string[] {
  return cell.append !== null ? [...cell.qemu, '-append', cell.append] : [...cell.qemu];
}
