// `e820 host check`: the kernel layer of a real machine predicted from the map it kept.
// Canned facts for the model's side, and this machine itself (a real x86 Linux) for the whole path.

import { describe, expect, it } from 'vitest';
import { checkHost, firmwareMapOf, mcfgWindow, readHostFacts, releaseVersion, type HostFacts } from '../../harness/host/check.ts';
import { localHost } from '../../harness/host/local.ts';
import { kernelProfile } from '../../reference/profiles/kernel.ts';

const MEMMAP = [
  { start: '0x0', end: '0x9fbff', type: 'System RAM' },
  { start: '0x9fc00', end: '0xfffff', type: 'Reserved' },
  { start: '0x100000', end: '0xbfffffff', type: 'System RAM' },
  { start: '0x100000000', end: '0x13fffffff', type: 'System RAM' },
];

const DMESG = [
  '<6>[    0.000000] Linux version 6.1.0-test',
  '<6>[    0.000000] BIOS-provided physical RAM map:',
  '<6>[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
  '<6>[    0.000000] BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved',
  '<6>[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable',
  '<6>[    0.000000] BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] usable',
].join('\n');

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    host: 'canned',
    release: '6.1.0-test',
    cmdline: 'console=ttyS0',
    memmap: MEMMAP,
    dmesg: DMESG,
    iomem: null,
    unobserved: [{ layer: 'kernel', field: 'iomem', reason: 'not read (test)' }],
    cpu: { vendor: 'GenuineIntel', physBits: 46, la57: false, bmi1Bmi2: true },
    pci: true,
    mmconfig: null,
    config: { source: '/proc/config.gz', hibernation: true },
    warnings: [],
    ...over,
  };
}

describe('host check, canned facts', () => {
  it('predicts BIOS-e820 from the kept map; a kernel without CONFIG_HIBERNATION prints no nosave line', () => {
    const withHib = checkHost(facts());
    expect(withHib.verdict.fields?.find((f) => f.field === 'kernel.biosE820')?.status).toBe('match');
    expect(withHib.prediction.e820Edits?.some((l) => l.startsWith('PM: hibernation: Registered nosave memory'))).toBe(true);
    const without = checkHost(facts({ config: { source: '/proc/config.gz', hibernation: false } }));
    expect(without.prediction.e820Edits?.length).toBeGreaterThan(3);
    expect(without.prediction.e820Edits?.some((l) => l.includes('nosave'))).toBe(false);
  });

  it("a field the model leaves out carries the stage's reason", () => {
    const memmap = [...MEMMAP.slice(0, 3), { start: '0xeec00000', end: '0xfebfffff', type: 'Reserved' }, MEMMAP[3]!];
    const c = checkHost(facts({ memmap, dmesg: null, unobserved: [] }));
    const edits = c.verdict.fields?.find((f) => f.field === 'kernel.e820Edits');
    expect(edits?.status).toBe('not-predicted');
    expect(edits?.reason).toMatch(/^the model leaves it out here: .*eec00000-febfffff meets/);
  });

  it('a changed dump line is a difference at kernel.biosE820', () => {
    const c = checkHost(facts({ dmesg: DMESG.replace('0x000000013fffffff] usable', '0x000000013fffffff] reserved') }));
    expect(c.verdict.outcome).toBe('fail');
    expect(c.verdict.outcome === 'fail' && c.verdict.first.field).toBe('kernel.biosE820');
  });

  it('a newer kernel is predicted with the nearest earlier profile, marked extrapolated', () => {
    const c = checkHost(facts({ release: '6.18.44-fc-v1272' }));
    expect(c.profile).toMatchObject({ profile: '6.12', how: 'extrapolated' });
    expect(releaseVersion('6.18.44-fc-v1272')).toBe('6.18.44');
  });

  it('an unreadable kernel log is unobserved with the right that is missing, never a pass on memmap alone', () => {
    const reason = 'reading the kernel log needs CAP_SYSLOG (root) because kernel.dmesg_restrict = 1';
    const c = checkHost(
      facts({
        dmesg: null,
        unobserved: [
          { layer: 'kernel', field: 'biosE820', reason },
          { layer: 'kernel', field: 'e820Edits', reason },
          { layer: 'kernel', field: 'iomem', reason: 'x' },
        ],
      }),
    );
    expect(c.verdict.outcome).toBe('error');
    expect(JSON.stringify(c.verdict)).toContain('CAP_SYSLOG');
  });

  it('a memmap type the model does not know is refused by name', () => {
    expect(() => firmwareMapOf([{ start: '0x0', end: '0xfff', type: 'Mystery' }], kernelProfile('6.1'))).toThrow(/"Mystery"/);
  });

  it('reads the ECAM window of segment 0 from an MCFG table', () => {
    const t = Buffer.alloc(44 + 16);
    t.write('MCFG', 0, 'latin1');
    t.writeBigUInt64LE(0xb0000000n, 44);
    t.writeUInt16LE(0, 52);
    t[54] = 0;
    t[55] = 0xff;
    expect(mcfgWindow(t)).toEqual({ start: 0xb0000000n, end: 0xbfffffffn });
    expect(mcfgWindow(Buffer.from('APIC'))).toBeNull();
  });
});

describe('host check on this machine', () => {
  it('reads its facts and agrees on the BIOS-e820 dump it printed (when the log is readable)', async () => {
    const c = checkHost(await readHostFacts(localHost));
    const bios = c.verdict.fields?.find((f) => f.field === 'kernel.biosE820');
    expect(bios).toBeDefined();
    if (c.facts.dmesg !== null && c.facts.memmap !== null && c.observed.kernel?.biosE820 !== undefined) expect(bios!.status).toBe('match');
    else expect(bios!.status).toBe('unobserved');
    for (const f of c.verdict.fields ?? []) if (f.layer !== 'kernel') expect(f.status).toBe('excluded');
  });
});
