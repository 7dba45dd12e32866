import { describe, expect, it } from 'vitest';

import { elfLinkage } from '../../harness/provision/elf.ts';
import { cString, FW_CFG_E820_PATH, GUEST_PATHS, INIT_COMPILE_FLAGS, initConfigHeader, readInitSource, sectionFunctionSuffix } from '../../guests/init.ts';
import { compileInit } from '../../guests/initramfs.ts';
import { MARKER_PREFIX, SECTIONS, UNAVAILABLE_PREFIX } from '../../guests/markers.ts';

const withModule = initConfigHeader({ hasFwCfgModule: true });
const withoutModule = initConfigHeader({ hasFwCfgModule: false });
const define = (header: string, name: string) => new RegExp(`^#define ${name} (.*)$`, 'm').exec(header)?.[1];

describe('initConfigHeader', () => {
  it('gives the program the markers and paths of markers.ts and init.ts', () => {
    expect(define(withModule, 'E820_MARKER_PREFIX')).toBe(JSON.stringify(MARKER_PREFIX));
    expect(define(withModule, 'E820_UNAVAILABLE_PREFIX')).toBe(JSON.stringify(UNAVAILABLE_PREFIX));
    expect(define(withModule, 'E820_FW_CFG_E820_PATH')).toBe(JSON.stringify(FW_CFG_E820_PATH));
  });

  it('names the module only when the initramfs carries it', () => {
    expect(define(withModule, 'E820_FW_CFG_MODULE_PATH')).toBe(JSON.stringify(GUEST_PATHS.fwCfgModule));
    expect(define(withoutModule, 'E820_FW_CFG_MODULE_PATH')).toBeUndefined();
  });

  it('lists every section of markers.ts in order, each with the function init.c defines for it', async () => {
    const listed = [...(define(withModule, 'E820_SECTIONS\\(S\\)') ?? '').matchAll(/S\("([^"]+)", (\w+)\)/g)].map((m) => [m[1], m[2]]);
    expect(listed).toEqual(SECTIONS.map((s) => [s, sectionFunctionSuffix(s)]));
    const source = await readInitSource();
    for (const s of SECTIONS) expect(source, s).toMatch(new RegExp(`^static int section_${sectionFunctionSuffix(s)}\\(void\\)`, 'm'));
  });

  it('spells quotes and backslashes as C escapes, and refuses a string it cannot spell as a plain C literal', () => {
    expect(cString('a"b\\c')).toBe('"a\\"b\\\\c"');
    for (const bad of ['line\nbreak', 'tab\there', 'é']) expect(() => cString(bad), JSON.stringify(bad)).toThrow(/is not printable ASCII/);
  });
});

describe('compileInit', () => {
  // The host's gcc; provisioning installs it where it is missing (as the kernel build does).
  it.each([
    ['with the fw_cfg module', withModule],
    ['without it', withoutModule],
  ])('builds a small static executable %s, with no warning', async (_name, header) => {
    const said: string[] = [];
    const binary = await compileInit(await readInitSource(), header, { onProgress: (m) => said.push(m) });
    expect(elfLinkage(binary)).toBe('static');
    expect(binary.length).toBeLessThan(64 * 1024);
    expect(said.filter((m) => /warning/.test(m))).toEqual([]);
  }, 10 * 60_000);

  it('says what gcc said when the source does not compile', async () => {
    const err = await compileInit('this is not C', withModule).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/compiling the guest's \/init \(guests\/init\.c\) failed: gcc exited 1: .*error/s);
  });

  it('compiles without libc or start files, so the guest needs nothing but /init', () => {
    for (const f of ['-static', '-nostdlib', '-ffreestanding']) expect(INIT_COMPILE_FLAGS).toContain(f);
  });
});
