// The drift both suites/report/drift-html.test.ts and browser.test.ts draw: two cells, bullseye → bookworm.
import { modelDeps } from '../../harness/cli/commands/drift.ts';
import { driftCells } from '../../harness/drift/drift.ts';
import { parseToolchainSpec } from '../../harness/drift/spec.ts';
import { parseMatrix } from '../../harness/matrix/schema.ts';
import { driftSides, renderDriftHtml } from '../../harness/report/drift-html.ts';

const MATRIX = `cells:
  - id: pc-1G
    qemu: -M pc -m 1G
  - id: q35-2G
    qemu: -M q35 -m 2G
`;

/**
 * QEMU 5.2 → 7.2: 7.1 added the AMD HyperTransport hole reservation at 0xfd00000000
 * (docs/versions.md).
 */
export function bullseyeToBookworm() {
  const cells = parseMatrix(MATRIX, 'drift.yaml');
  const from = parseToolchainSpec('bullseye');
  const to = parseToolchainSpec('bookworm');
  const report = driftCells(cells, { spec: from.text, toolchain: from.toolchain }, { spec: to.text, toolchain: to.toolchain }, modelDeps);
  const sides = driftSides(report, modelDeps);
  return { report, sides, html: renderDriftHtml(report, sides) };
}
