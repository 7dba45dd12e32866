import { describe, expect, it } from 'vitest';
import { parseBoot, parseFirmwareBoot } from '../../harness/parse/boot.ts';
import { LogParseError } from '../../harness/parse/errors.ts';
import { PC1G_BIOS_E820, PC1G_EDITS, PC1G_IOMEM, PC1G_SEABIOS, serialLog } from './samples.ts';

describe('parseBoot', () => {
  it('fills every layer of the report from a complete boot', () => {
    const b = parseBoot({ serial: serialLog(), firmwareLog: PC1G_SEABIOS });
    expect(b.uname).toBe('6.1.0-50-cloud-amd64');
    expect(b.cmdline).toBe('console=ttyS0 panic=-1');
    expect(b.unobserved).toEqual([]);
    expect(b.report.qemu?.e820).toEqual([
      { start: '0xfd00000000', length: '0x300000000', type: 2 },
      { start: '0x0', length: '0x40000000', type: 1 },
    ]);
    expect(b.report.firmware?.zoneHighReturned).toBe(16646144);
    expect(b.report.firmware?.e820?.[3]).toEqual({ start: '0x100000', end: '0x3ffe0000', type: 1 });
    expect(b.report.kernel?.biosE820).toEqual(PC1G_BIOS_E820);
    expect(b.report.kernel?.e820Edits).toEqual(PC1G_EDITS);
    expect(b.report.kernel?.memmap).toHaveLength(7);
    expect(b.report.kernel?.iomem).toEqual(PC1G_IOMEM.split('\n'));
    expect(b.iomemCounts).toEqual({ compared: 8, excluded: 10 });
    expect(b.warnings).toEqual([]);
    // The JSON shape survives serialisation (no bigint left in the report).
    expect(JSON.parse(JSON.stringify(b.report))).toEqual(b.report);
  });

  it('reports an unavailable fw_cfg and a silent BIOS as unobserved, never as empty', () => {
    const b = parseBoot({ serial: serialLog({ 'fwcfg-e820': 'unavailable: no fw_cfg ACPI device (machine type pc-1.0)' }), firmwareLog: '' });
    expect(b.report.qemu).toBeUndefined();
    expect(b.report.firmware).toBeUndefined();
    expect(b.unobserved).toEqual([
      { layer: 'qemu', field: 'e820', reason: 'guest could not read fw_cfg etc/e820: no fw_cfg ACPI device (machine type pc-1.0)' },
      { layer: 'firmware', field: 'e820', reason: expect.stringMatching(/prints nothing on port 0x402/) },
      { layer: 'firmware', field: 'zoneHighReturned', reason: expect.stringMatching(/prints nothing on port 0x402/) },
    ]);
    expect(b.report.kernel?.biosE820).toHaveLength(7);
  });

  it('a SeaBIOS log without a dump leaves firmware.e820 unobserved with the reason', () => {
    const b = parseBoot({ serial: serialLog(), firmwareLog: 'SeaBIOS (version 1.16.2)\nRunning on QEMU (i440fx)\n' });
    expect(b.report.firmware).toBeUndefined();
    expect(b.unobserved.map((u) => `${u.layer}.${u.field}`)).toEqual(['firmware.e820', 'firmware.zoneHighReturned']);
    expect(b.unobserved[0]?.reason).toMatch(/no "e820 map has N items:" dump in the SeaBIOS log \(2 lines\)/);
  });

  it('throws on a failed guest command and on a multi-line uname', () => {
    expect(() => parseBoot({ serial: serialLog().replace('END dmesg rc=0', 'END dmesg rc=127'), firmwareLog: PC1G_SEABIOS })).toThrow(LogParseError);
    expect(() => parseBoot({ serial: serialLog({ uname: '6.1\nextra' }), firmwareLog: PC1G_SEABIOS })).toThrow(/section "uname" must hold exactly one line, it holds 2/);
  });

  it('plain dmesg (without -r) is named as such, not stripped as console noise', () => {
    const plain = '[    0.000000] Linux version 6.1\n[    0.000000] BIOS-provided physical RAM map:';
    expect(() => parseBoot({ serial: serialLog({ dmesg: plain }), firmwareLog: PC1G_SEABIOS })).toThrow(/line 11: not a "<level>\[time\] text" dmesg record.*dmesg -r/);
  });

  it('random bytes anywhere in the serial log give a parse or a LogParseError, nothing else', () => {
    const base = serialLog();
    let seed = 777;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let errors = 0;
    for (let k = 0; k < 300; k++) {
      const at = Math.floor(rand() * base.length);
      const junk = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => String.fromCharCode(Math.floor(rand() * 256))).join('');
      try {
        parseBoot({ serial: base.slice(0, at) + junk + base.slice(at), firmwareLog: PC1G_SEABIOS });
      } catch (e) {
        expect(e).toBeInstanceOf(LogParseError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(200);
  });

  it('bad data inside a section names the serial line', () => {
    const serial = serialLog({ memmap: '0 0x0 0x9fbff System RAM\n2 0x9fc00 0x9ffff Reserved' });
    const lineNo = serial.split('\r\n').indexOf('2 0x9fc00 0x9ffff Reserved') + 1;
    expect(() => parseBoot({ serial, firmwareLog: PC1G_SEABIOS })).toThrow(new RegExp(`serial log, line ${lineNo}: memmap entry 2 where entry 1`));
  });
});

describe('parseFirmwareBoot (capture scope firmware)', () => {
  it('reads the firmware layer as a full boot does; qemu and kernel are unobserved with the reason', () => {
    const why = 'capture scope firmware: asked for (--scope firmware)';
    const f = parseFirmwareBoot({ firmwareLog: PC1G_SEABIOS, reason: why });
    const full = parseBoot({ serial: serialLog(), firmwareLog: PC1G_SEABIOS });
    expect(f.report).toEqual({ firmware: full.report.firmware });
    expect(f.unobserved.map((u) => `${u.layer}.${u.field}`)).toEqual(['qemu.e820', 'kernel.biosE820', 'kernel.e820Edits', 'kernel.memmap', 'kernel.iomem']);
    expect(f.unobserved[0]!.reason).toMatch(/^capture scope firmware: no guest ran to read fw_cfg etc\/e820; SeaBIOS's \d+ qemu\/e820 line\(s\) need not be the whole file$/);
    expect(f.unobserved.slice(1).every((u) => u.reason === why)).toBe(true);
  });

  it('a silent BIOS leaves nothing observed, each field saying why', () => {
    const f = parseFirmwareBoot({ firmwareLog: '', reason: 'capture scope firmware: x' });
    expect(f.report).toEqual({});
    expect(f.unobserved.filter((u) => u.layer === 'firmware').map((u) => u.reason)).toEqual([
      expect.stringMatching(/SeaBIOS debug log is empty/),
      expect.stringMatching(/SeaBIOS debug log is empty/),
    ]);
  });
});

