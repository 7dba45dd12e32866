// The toolchain spellings of `e820 drift --from/--to`.

import { describe, expect, test } from 'vitest';
import { parseToolchainSpec, SPEC_GRAMMAR, ToolchainSpecError } from '../../harness/drift/spec.ts';
import { BASELINE_TOOLCHAIN, toolchainLabel } from '../../reference/toolchain.ts';

describe('parseToolchainSpec', () => {
  test('one component: only it changes, the rest is the baseline', () => {
    const s = parseToolchainSpec('qemu-5.2');
    expect(s.toolchain).toEqual({ ...BASELINE_TOOLCHAIN, qemu: '5.2' });
    expect(s.named).toEqual(['qemu']);
    expect(s.suite).toBeNull();
    expect(parseToolchainSpec('linux-7.2').toolchain).toEqual({ ...BASELINE_TOOLCHAIN, kernel: '7.2' });
    expect(parseToolchainSpec('kernel-5.10').toolchain).toEqual({ ...BASELINE_TOOLCHAIN, kernel: '5.10' });
    expect(parseToolchainSpec('seabios-1.17.0').toolchain).toEqual({ ...BASELINE_TOOLCHAIN, seabios: '1.17.0' });
  });

  test('several components joined by +', () => {
    expect(parseToolchainSpec('qemu-10.0+seabios-1.16.3').toolchain).toEqual({ qemu: '10.0', seabios: '1.16.3', kernel: '6.1' });
  });

  test('suite names: every component of the suite', () => {
    expect(parseToolchainSpec('bullseye').toolchain).toEqual({ qemu: '5.2', seabios: '1.14.0', kernel: '5.10' });
    expect(parseToolchainSpec('bookworm').toolchain).toEqual({ qemu: '7.2', seabios: '1.16.2', kernel: '6.1' });
    expect(parseToolchainSpec('trixie').toolchain).toEqual({ qemu: '10.0', seabios: '1.16.3', kernel: '6.12' });
    expect(parseToolchainSpec('sid').toolchain).toEqual({ qemu: '11.1', seabios: '1.17.0', kernel: '7.2' });
    expect(parseToolchainSpec('sid').suite).toBe('sid');
  });

  test('a suite, then components that replace its own', () => {
    expect(parseToolchainSpec('trixie+linux-6.1').toolchain).toEqual({ qemu: '10.0', seabios: '1.16.3', kernel: '6.1' });
  });

  test('the full label round-trips with toolchainLabel', () => {
    for (const t of [
      { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
      { qemu: '11.1', seabios: '1.14.0', kernel: '5.10' },
    ] as const) {
      expect(parseToolchainSpec(toolchainLabel(t)).toolchain).toEqual(t);
    }
  });

  const bad: Array<[string, string, RegExp]> = [
    ['qemu-9.0', 'qemu-9.0', /unknown qemu version "9.0".*5\.2, 7\.2, 10\.0, 11\.1/],
    ['qemu-10.0+seabios-1.15.0', 'seabios-1.15.0', /unknown seabios version "1.15.0"/],
    ['qemu-7.2+linux-4.19', 'linux-4.19', /unknown linux version "4.19"/],
    ['qemu-7.2+qemu-10.0', 'qemu-10.0', /names qemu a second time \(already qemu-7.2\)/],
    ['buster', 'buster', /neither a component .* nor a suite \(bullseye, bookworm, trixie, sid\)/],
    ['qemu-7.2+trixie', 'trixie', /a suite may only come first/],
    ['qemu-7.2++linux-6.1', '', /empty part \(position 2\)/],
    ['', '', /is empty/],
  ];
  test.each(bad)('%j is refused, naming the bad part', (text, part, message) => {
    let err: unknown;
    try {
      parseToolchainSpec(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ToolchainSpecError);
    const e = err as ToolchainSpecError;
    expect(e.part).toBe(part);
    expect(e.message).toContain(`${JSON.stringify(part)}`);
    expect(e.message).toMatch(message);
    expect(e.exitCode).toBe(2);
  });

  test('the grammar text documents every form', () => {
    for (const form of ['qemu-5.2', 'qemu-10.0+seabios-1.16.3', 'bullseye', 'trixie+linux-6.1', 'qemu-7.2+seabios-1.16.2+linux-6.1']) {
      expect(SPEC_GRAMMAR).toContain(form);
    }
  });
});
