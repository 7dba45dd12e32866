// The suite → versions table exists once (harness/provision/toolchain.ts SUITE_COMPONENTS):
// `e820 toolchain versions SUITE` prints it for scripts, and the nightly script reads it there.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { toolchainVersions } from '../../harness/cli/commands/toolchain.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { SUITE_COMPONENTS } from '../../harness/provision/toolchain.ts';

describe('e820 toolchain versions', () => {
  test("prints each suite's versions as flags", () => {
    expect(toolchainVersions('bullseye')).toEqual({ code: 0, stdout: '--qemu 5.2 --seabios 1.14.0 --kernel 5.10\n', stderr: '' });
    for (const [suite, c] of Object.entries(SUITE_COMPONENTS)) {
      expect(toolchainVersions(suite).stdout).toBe(`--qemu ${c.qemu} --seabios ${c.seabios} --kernel ${c.kernel}\n`);
    }
  });

  test('an unknown suite is exit 2, naming the known ones', () => {
    expect(toolchainVersions('buster')).toEqual({ code: 2, stdout: '', stderr: 'e820 toolchain versions: unknown suite "buster" (bullseye, bookworm, trixie, sid)\n' });
  });

  test('ci/nightly-shard.sh keeps no copy of the table', () => {
    const script = readFileSync(`${REPO_ROOT}/ci/nightly-shard.sh`, 'utf8');
    expect(script).toContain('npx e820 toolchain versions "$toolchain"');
    expect(script).not.toMatch(/--qemu \d|--seabios \d|--kernel \d/);
  });
});
