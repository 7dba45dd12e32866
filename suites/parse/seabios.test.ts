import { describe, expect, it } from 'vitest';
import { parseSeabiosLog, seabiosQemuRecords } from '../../harness/parse/seabios.ts';
import { PC1G_SEABIOS, PC1G_SEABIOS_DUMP } from './samples.ts';

describe('parseSeabiosLog', () => {
  it('reads the worked example of docs/model/seabios.md#a-worked-example-pc-with-1-gib (CRLF)', () => {
    const log = parseSeabiosLog(PC1G_SEABIOS);
    expect(log.version).toBe('1.16.2-debian-1.16.2-1');
    expect(log.zoneHighReturned).toBe(16646144);
    expect(seabiosQemuRecords(log)).toEqual([{ start: 0n, length: 0x40000000n, type: 1 }]);
    expect(log.dumpCount).toBe(1);
    expect(log.dump?.line).toBe(10);
    expect(log.dump?.entries).toEqual([
      { start: 0n, end: 0x9fc00n, type: 1 },
      { start: 0x9fc00n, end: 0xa0000n, type: 2 },
      { start: 0xf0000n, end: 0x100000n, type: 2 },
      { start: 0x100000n, end: 0x3ffe0000n, type: 1 },
      { start: 0x3ffe0000n, end: 0x40000000n, type: 2 },
      { start: 0xfffc0000n, end: 0x100000000n, type: 2 },
      { start: 0xfd00000000n, end: 0x10000000000n, type: 2 },
    ]);
    expect(log.warnings).toEqual([]);
  });

  it('reads the 1.16.3+ reserved lines and the CMOS path line', () => {
    const log = parseSeabiosLog('qemu/e820: addr 0x000000fd00000000 len 0x0000000300000000 [reserved]\nqemu/e820: fw_cfg file etc/e820 not found\n');
    expect(log.qemuE820[0]?.kind).toBe('reserved');
    expect(log.etcE820NotFound).toBe(true);
    expect(log.dump).toBeNull();
  });

  it('takes the last dump after a reset, and says so', () => {
    const second = PC1G_SEABIOS.replace('Returned 16646144', 'Returned 131072');
    const log = parseSeabiosLog(PC1G_SEABIOS + second);
    expect(log.dumpCount).toBe(2);
    expect(log.zoneHighReturned).toBe(131072);
    expect(log.dump?.line).toBe(30);
    expect(log.qemuE820).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/more than one e820 dump \(lines 10 and 30\)/);
  });

  it('an empty log (bios.bin without debug output) parses to nothing', () => {
    const log = parseSeabiosLog('');
    expect(log).toMatchObject({ lineCount: 0, dump: null, zoneHighReturned: null, version: null });
  });

  it('rejects a wrong entry count, naming the line', () => {
    const fewer = PC1G_SEABIOS_DUMP.replace('has 7 items', 'has 8 items') + '\nenter handle_19:';
    expect(() => parseSeabiosLog(fewer)).toThrow(/line 9: dump announced at line 1 has 8 items but entry 7 is not a dump line/);
    const more = PC1G_SEABIOS_DUMP.replace('has 7 items', 'has 6 items');
    expect(() => parseSeabiosLog(more)).toThrow(/line 8: dump announced at line 1 has 6 items but more entry lines follow/);
    const cut = PC1G_SEABIOS_DUMP.split('\n').slice(0, 4).join('\n');
    expect(() => parseSeabiosLog(cut)).toThrow(/line 1: dump announces 7 items but the log ends after 3/);
  });

  it('rejects garbled lines of the kinds it reads', () => {
    expect(() => parseSeabiosLog(PC1G_SEABIOS_DUMP.replace('  3: 0000000000100000', '  3: 00000000001000\u00000'))).toThrow(/line 5: .*entry 3 is not a dump line.*\\u0000/);
    expect(() => parseSeabiosLog(PC1G_SEABIOS_DUMP.replace('= 2 RESERVED', '= 2 RAM'))).toThrow(/line 3: type 2 printed with name RAM/);
    expect(() => parseSeabiosLog('qemu/e820: addr 0x00 len 0x00 [RAM]')).toThrow(/line 1: unrecognised qemu\/e820 line/);
    expect(() => parseSeabiosLog('x\nReturned lots bytes of ZoneHigh')).toThrow(/line 2: malformed "Returned N bytes/);
  });

  it('warns about binary noise on lines it does not read', () => {
    const log = parseSeabiosLog(`\u0000\u0001\n${PC1G_SEABIOS}`);
    expect(log.warnings[0]).toMatch(/line 1: a NUL byte/);
    expect(log.dump?.entries).toHaveLength(7);
  });
});
