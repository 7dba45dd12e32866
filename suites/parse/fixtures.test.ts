// The parsers on real boots the harness captured (suites/fixtures/boots/<name>/, each with a
// README saying how it was made). Besides parsing cleanly, every boot must satisfy the
// cross-layer facts that hold for any SeaBIOS boot (docs/model/linux.md#sanitising-the-table, #sysfirmwarememmap; docs/model/seabios.md#the-e820-list-add-and-remove).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBoot } from '../../harness/parse/boot.ts';

import { PC1G_BIOS_E820 } from './samples.ts';
import { biosE820Ranges, MEMMAP_TYPE } from '../kernel-e820-text.ts';

// E820_FIXTURE_BOOTS points the same checks at boots kept elsewhere (e.g. `e820 capture --keep-logs`).
const BOOTS = process.env['E820_FIXTURE_BOOTS'] ?? join(dirname(fileURLToPath(import.meta.url)), '../fixtures/boots');
const boots = existsSync(BOOTS) ? readdirSync(BOOTS).filter((d) => existsSync(join(BOOTS, d, 'serial.log'))).sort() : [];

function read(name: string, file: string): string {
  const p = join(BOOTS, name, file);
  // latin1 keeps every byte as one character, so noise is seen as noise, not re-encoded.
  return existsSync(p) ? readFileSync(p, 'latin1') : '';
}

describe('real boots in suites/fixtures/boots', () => {
  it('the checked-in fixtures are present', () => {
    expect(boots, 'suites/fixtures/boots is empty: the fixture logs are tracked in git (see .gitignore)').toContain('pc-1G');
  });

  describe.each(boots)('%s', (name) => {
    const serial = read(name, 'serial.log');
    const firmwareLog = read(name, 'seabios.log');

    it('parses without errors or unexplained e820 lines', () => {
      const b = parseBoot({ serial, firmwareLog });
      expect(b.warnings.filter((w) => /matches no rule/.test(w))).toEqual([]);
      expect(b.report.kernel?.biosE820?.length).toBeGreaterThan(0);
      expect(b.iomemCounts?.compared).toBeGreaterThan(0);
    });

    it('a cut copy and a copy with NULs in /proc/iomem fail with the line named', () => {
      const cut = serial.slice(0, Math.floor(serial.length / 2));
      const lastLine = cut.split('\n').length;
      expect(() => parseBoot({ serial: cut, firmwareLog })).toThrow(new RegExp(`serial log, line ${lastLine}: `));
      const lines = serial.split('\n');
      const at = lines.findIndex((l) => l.startsWith('==E820== BEGIN iomem')) + 2;
      lines[at] = `\u0000\u0000${lines[at]}`;
      expect(() => parseBoot({ serial: lines.join('\n'), firmwareLog })).toThrow(new RegExp(`serial log, line ${at + 1}: a NUL byte at column 1`));
    });

    it('/sys/firmware/memmap equals the BIOS-e820 dump', () => {
      const b = parseBoot({ serial, firmwareLog });
      const expected = biosE820Ranges(b.report.kernel?.biosE820 ?? []).map((r) => ({
        start: `0x${r.start.toString(16)}`,
        end: `0x${r.last.toString(16)}`,
        type: MEMMAP_TYPE[r.type] ?? `?${r.type}`,
      }));
      expect(b.report.kernel?.memmap).toEqual(expected);
    });

    it('the SeaBIOS dump is what the kernel printed as BIOS-e820', () => {
      const b = parseBoot({ serial, firmwareLog });
      const fw = b.report.firmware?.e820;
      // Every checked-in boot kept its SeaBIOS log; a boot pointed at by E820_FIXTURE_BOOTS must too.
      expect(fw, `${name}: no SeaBIOS e820 dump in seabios.log`).toBeDefined();
      const kernel = biosE820Ranges(b.report.kernel?.biosE820 ?? []);
      expect((fw ?? []).map((e) => [e.start, `0x${(BigInt(e.end) - 1n).toString(16)}`])).toEqual(kernel.map((r) => [`0x${r.start.toString(16)}`, `0x${r.last.toString(16)}`]));
    });

    it('every RAM record SeaBIOS logged from etc/e820 is in the fw_cfg file the guest read', () => {
      const b = parseBoot({ serial, firmwareLog });
      const qemu = b.report.qemu?.e820;
      expect(b.seabios.qemuE820.length, `${name}: SeaBIOS logged no etc/e820 record`).toBeGreaterThan(0);
      if (qemu === undefined) {
        // Only a guest whose fw_cfg has no ACPI node (pc-1.x, ACPI off) may lack it, and it must say so.
        expect(b.unobserved.find((u) => u.layer === 'qemu')?.reason, `${name}: fw_cfg etc/e820 missing without a reason`).toMatch(/found no fw_cfg device/);
      } else {
        for (const l of b.seabios.qemuE820) {
          expect(qemu).toContainEqual({ start: `0x${l.start.toString(16)}`, length: `0x${l.length.toString(16)}`, type: l.kind === 'RAM' ? 1 : 2 });
        }
      }
    });
  });
});

describe('pc-1G (QEMU 7.2, SeaBIOS 1.16.2, -M pc -m 1G, TCG)', () => {
  it('has the 7-entry map of the worked example (docs/model/seabios.md#a-worked-example-pc-with-1-gib) at every layer', () => {
    const serial = read('pc-1G', 'serial.log');
    const firmwareLog = read('pc-1G', 'seabios.log');
    const b = parseBoot({ serial, firmwareLog });
    expect(b.report.qemu?.e820).toEqual([
      { start: '0xfd00000000', length: '0x300000000', type: 2 },
      { start: '0x0', length: '0x40000000', type: 1 },
    ]);
    // Written out, not parsed from PC1G_SEABIOS_DUMP: the parser under test must not make its own expected value.
    expect(b.report.firmware?.e820).toEqual([
      { start: '0x0', end: '0x9fc00', type: 1 },
      { start: '0x9fc00', end: '0xa0000', type: 2 },
      { start: '0xf0000', end: '0x100000', type: 2 },
      { start: '0x100000', end: '0x3ffe0000', type: 1 },
      { start: '0x3ffe0000', end: '0x40000000', type: 2 },
      { start: '0xfffc0000', end: '0x100000000', type: 2 },
      { start: '0xfd00000000', end: '0x10000000000', type: 2 },
    ]);
    expect(b.uname).toBe('6.1.0-56-cloud-amd64');
    expect(b.report.kernel?.biosE820).toEqual(PC1G_BIOS_E820);
    expect(b.report.kernel?.memmap).toHaveLength(7);
  });
});
