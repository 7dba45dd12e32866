// What harness/qtest/observe.ts reads, against a fake fw_cfg and CMOS that answer the qtest line
// protocol (QEMU docs/devel/qtest.rst) as QEMU's hw/nvram/fw_cfg.c does: the selector and data
// ports, and the DMA interface (a big-endian FWCfgDmaAccess in guest memory, started by the write
// of its address's low half). The same machine read with and without FW_CFG_VERSION_DMA must give
// the same observation; with DMA it takes a fraction of the commands. And the environment the
// QEMU process gets (harness/qtest/session.ts qtestEnv).

import { describe, expect, test } from 'vitest';
import { observeWith } from '../../harness/qtest/observe.ts';
import { FW_CFG_KEY, LEGACY_E820_BYTES } from '../../harness/qtest/protocol.ts';
import { QTEST_GLIBC_TUNABLES, qtestEnv, type QtestIO } from '../../harness/qtest/session.ts';

const le = (v: bigint, n: number): number[] => Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
const be = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => (v >>> (8 * (n - 1 - i))) & 0xff);
const e820 = (start: bigint, length: bigint, type: number): number[] => [...le(start, 8), ...le(length, 8), ...le(BigInt(type), 4)];

/** A q35 -m 3G-like fw_cfg: RAM below 2 GiB and above 4 GiB, a reserved-memory-end, other files. */
function machine(dma: boolean): { items: Map<number, number[]>; cmos: Map<number, number> } {
  const files: Array<[string, number[]]> = [
    ['bootorder', []],
    ['etc/acpi/tables', Array(64).fill(7)],
    ['etc/e820', [...e820(0n, 0x80000000n, 1), ...e820(0x100000000n, 0x40000000n, 1), ...e820(0xb0000000n, 0x10000000n, 2)]],
    ['etc/reserved-memory-end', le(0x180000000n, 8)],
    ['etc/smbios/smbios-tables', Array(300).fill(1)],
  ];
  const items = new Map<number, number[]>();
  items.set(FW_CFG_KEY.signature, [...'QEMU'].map((c) => c.charCodeAt(0)));
  items.set(FW_CFG_KEY.id, le(dma ? 3n : 1n, 4));
  items.set(FW_CFG_KEY.ramSize, le(0xc0000000n, 8));
  items.set(FW_CFG_KEY.nbCpus, le(2n, 2));
  items.set(FW_CFG_KEY.maxCpus, le(4n, 2));
  items.set(FW_CFG_KEY.numa, le(1n, 8));
  // The legacy table: two records of its 16 slots (QEMU ≤ 7.1).
  items.set(FW_CFG_KEY.legacyE820, [...le(2n, 4), ...e820(0xfeffc000n, 0x4000n, 2), ...e820(0n, 0n, 0)]);
  const dir: number[] = [...be(files.length, 4)];
  files.forEach(([name, data], i) => {
    const select = 0x20 + i;
    items.set(select, data);
    const n = [...name].map((c) => c.charCodeAt(0));
    dir.push(...be(data.length, 4), ...be(select, 2), 0, 0, ...n, ...Array(56 - n.length).fill(0));
  });
  items.set(FW_CFG_KEY.fileDir, dir);
  const cmos = new Map<number, number>([
    [0x15, 0x80], [0x16, 0x02], [0x17, 0x00], [0x18, 0xfc], [0x30, 0x00], [0x31, 0xfc],
    [0x34, 0x00], [0x35, 0x7f], [0x5b, 0x00], [0x5c, 0x00], [0x5d, 0x01], [0x5f, 0x01],
  ]);
  return { items, cmos };
}

const bswap32 = (v: number): number => Buffer.from(be(v, 4).reverse()).readUInt32BE(0);

/** The qtest server over the fake machine; counts the commands it answered. */
function fakeQemu(dma: boolean): QtestIO & { commands: number } {
  const { items, cmos } = machine(dma);
  const memory = new Map<number, number>();
  let selected: number[] = [];
  let offset = 0;
  let cmosIndex = 0;
  let dmaHigh = 0;
  const select = (key: number): void => {
    selected = items.get(key) ?? [];
    offset = 0;
  };
  const answer = (line: string): string => {
    const [op, a, b, c] = line.split(' ');
    const addr = Number(a);
    switch (op) {
      case 'outw':
        if (addr !== 0x510) return 'FAIL';
        select(Number(b));
        return 'OK';
      case 'inb':
        if (addr === 0x511) return `OK 0x${(selected[offset++] ?? 0).toString(16).padStart(2, '0')}`;
        if (addr === 0x71) return `OK 0x${(cmos.get(cmosIndex) ?? 0).toString(16).padStart(2, '0')}`;
        return 'FAIL';
      case 'outb':
        if (addr !== 0x70) return 'FAIL';
        cmosIndex = Number(b);
        return 'OK';
      case 'write': {
        const bytes = Buffer.from(c!.slice(2), 'hex');
        bytes.forEach((x, i) => memory.set(addr + i, x));
        return 'OK';
      }
      case 'read': {
        const n = Number(b);
        return `OK 0x${Buffer.from(Array.from({ length: n }, (_, i) => memory.get(addr + i) ?? 0)).toString('hex')}`;
      }
      case 'outl': {
        if (!dma) return 'OK'; // no DMA port on this machine: the write goes nowhere
        // The DMA port is big-endian: qtest's outl stores the value little-endian.
        if (addr === 0x514) dmaHigh = bswap32(Number(b));
        else if (addr === 0x518) {
          const at = dmaHigh * 2 ** 32 + bswap32(Number(b));
          const desc = Buffer.from(Array.from({ length: 16 }, (_, i) => memory.get(at + i) ?? 0));
          const control = desc.readUInt32BE(0);
          const length = desc.readUInt32BE(4);
          const target = Number(desc.readBigUInt64BE(8));
          if (control & 0x08) select(control >>> 16);
          if (control & 0x02) for (let i = 0; i < length; i++) memory.set(target + i, selected[offset++] ?? 0);
          for (let i = 0; i < 4; i++) memory.set(at + i, 0); // done: the control word cleared
        } else return 'FAIL';
        return 'OK';
      }
      default:
        return `ERR unknown command ${op}`;
    }
  };
  const io = {
    commands: 0,
    async exchange(commands: readonly string[]) {
      io.commands += commands.length;
      return commands.map(answer);
    },
  };
  return io;
}

describe('observeWith over a fake fw_cfg', () => {
  test('the same observation through the ports and by DMA; DMA in far fewer commands', async () => {
    const ports = fakeQemu(false);
    const dma = fakeQemu(true);
    const viaPorts = await observeWith(ports);
    const viaDma = await observeWith(dma);
    expect(viaPorts.dma).toBe(false);
    expect(viaDma.dma).toBe(true);
    expect({ ...viaDma, dma: null, keys: { ...viaDma.keys, id: 0 } }).toEqual({ ...viaPorts, dma: null, keys: { ...viaPorts.keys, id: 0 } });
    expect(viaDma.e820).toEqual([
      { start: 0n, length: 0x80000000n, type: 1 },
      { start: 0x100000000n, length: 0x40000000n, type: 1 },
      { start: 0xb0000000n, length: 0x10000000n, type: 2 },
    ]);
    expect(viaDma.reservedMemoryEnd).toBe(0x180000000n);
    expect(viaDma.legacyE820).toEqual([
      { start: 0xfeffc000n, length: 0x4000n, type: 2 },
      { start: 0n, length: 0n, type: 0 },
    ]);
    expect(viaDma.keys).toEqual({ id: 3, ramSize: 0xc0000000n, nbCpus: 2, maxCpus: 4, numaNodes: 1n });
    expect(viaDma.files.map((f) => `${f.name} ${f.size} ${f.select}`)).toContain('etc/smbios/smbios-tables 300 36');
    expect(viaDma.cmos.get(0x35)).toBe(0x7f);
    // Ports: one inb per byte of the legacy table, the directory and the files.
    expect(ports.commands).toBeGreaterThan(LEGACY_E820_BYTES + 5 * 64);
    expect(dma.commands).toBeLessThan(80);
  });
});

describe('qtestEnv', () => {
  test("adds the malloc tunables over this process's environment and the toolchain's", () => {
    const env = qtestEnv({ QEMU_MODULE_DIR: '/m' }, { PATH: '/bin' });
    expect(env).toEqual({ PATH: '/bin', QEMU_MODULE_DIR: '/m', GLIBC_TUNABLES: QTEST_GLIBC_TUNABLES });
  });
  test("the user's own GLIBC_TUNABLES come after, so they win", () => {
    expect(qtestEnv(undefined, { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES).toBe(`${QTEST_GLIBC_TUNABLES}:glibc.malloc.hugetlb=0`);
  });
});
