// The qtest line protocol and the fw_cfg / CMOS reads spoken through it. Pure: commands out,
// reply lines in, typed values back; no I/O.
//
// Protocol (QEMU docs/devel/qtest.rst, system/qtest.c qtest_process_command): one command per
// line, one reply line per command, in order: `OK`, `OK 0x…` (a read), `FAIL …` / `ERR …`.
// `IRQ raise|lower N` lines are asynchronous and come only after `irq_intercept_*`, which is
// never sent. Reads: `inb|inw|inl PORT` → `OK 0x%02x|%04x|%08x`; `read ADDR SIZE` → `OK 0x` and
// the bytes in hex; `write ADDR SIZE 0xHEX` writes guest memory.
//
// fw_cfg on x86 (QEMU hw/nvram/fw_cfg.c, include/standard-headers/linux/qemu_fw_cfg.h): a 16-bit
// selector at I/O port 0x510, an 8-bit data port at 0x511 that reads the selected item byte by
// byte (zeros past its end or for a key that does not exist), and the DMA interface at 0x514
// (big-endian 64-bit descriptor address; writing the low half at 0x518 starts the transfer).

import { type E820Record } from '../../reference/e820.ts';
import { decodeE820Records, FWCFG_E820_RECORD_BYTES } from '../parse/fwcfg.ts';

export const FW_CFG_PORT_SEL = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
export const FW_CFG_PORT_DMA = 0x514;
export const CMOS_PORT_INDEX = 0x70;
export const CMOS_PORT_DATA = 0x71;

/** fw_cfg selector keys (qemu_fw_cfg.h; FW_CFG_E820_TABLE is FW_CFG_ARCH_LOCAL + 3, hw/i386/fw_cfg.h). */
export const FW_CFG_KEY = {
  signature: 0x00,
  id: 0x01,
  ramSize: 0x03,
  nbCpus: 0x05,
  numa: 0x0d,
  maxCpus: 0x0f,
  fileDir: 0x19,
  legacyE820: 0x8003,
} as const;

/** FW_CFG_ID bit 1 (FW_CFG_VERSION_DMA): the DMA interface exists. */
export const FW_CFG_VERSION_DMA = 0x2;
/** FW_CFG_DMA_CTL_* bits of the descriptor's control word. */
const DMA_CTL_ERROR = 0x01;
const DMA_CTL_READ = 0x02;
const DMA_CTL_SELECT = 0x08;

/** A directory entry: be32 size, be16 select, be16 reserved, char name[56] (FWCfgFile). */
export const FW_CFG_FILE_BYTES = 64;
const FW_CFG_NAME_BYTES = 56;
/** The legacy E820 table: le32 count, then E820_NR_ENTRIES (16) packed 20-byte records (QEMU ≤ 7.1 hw/i386/e820_memory_layout.h). */
export const LEGACY_E820_SLOTS = 16;

/**
 * Guest-physical scratch addresses for DMA (descriptor, then the buffer). Below 640 KiB, so RAM
 * on every machine the model runs; writing there changes nothing, as no CPU ever runs (-S).
 */
export const DMA_DESCRIPTOR_ADDR = 0x1000n;
export const DMA_BUFFER_ADDR = 0x2000n;
/** The largest directory a DMA read fetches at once (x-file-slots is 0x10 or 0x20 up to 11.1: 4 + 32 × 64 bytes). */
export const DMA_DIR_READ_BYTES = 4096;

/** CMOS registers the QEMU stage writes (hw/i386/pc.c pc_cmos_init), in the order they are read. */
export const CMOS_REGISTERS = [0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d, 0x5f] as const;

export class QtestProtocolError extends Error {
  constructor(
    readonly command: string,
    readonly reply: string,
    detail: string,
  ) {
    super(`qtest: ${detail} (command ${JSON.stringify(command)}, reply ${JSON.stringify(reply)}): the QEMU binary does not speak the qtest protocol as expected; run it by hand with -qtest stdio and type the command`);
    this.name = 'QtestProtocolError';
  }
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** The value of an `OK 0x…` reply. */
export function replyValue(command: string, reply: string): bigint {
  const m = /^OK 0x([0-9a-fA-F]+)$/.exec(reply.trim());
  if (m === null) throw new QtestProtocolError(command, reply, 'expected "OK 0x…"');
  return BigInt(`0x${m[1]}`);
}

/** An `OK` reply (writes). */
export function expectOk(command: string, reply: string): void {
  if (reply.trim() !== 'OK') throw new QtestProtocolError(command, reply, 'expected "OK"');
}

/** The bytes of a `read ADDR SIZE` reply (`OK 0x` then two hex digits per byte). */
export function replyBytes(command: string, reply: string, size: number): Uint8Array {
  const m = /^OK 0x([0-9a-fA-F]*)$/.exec(reply.trim());
  if (m === null || m[1]!.length !== size * 2) throw new QtestProtocolError(command, reply, `expected "OK 0x" and ${size} bytes in hex`);
  return Uint8Array.from(Buffer.from(m[1]!, 'hex'));
}

/** Commands that select `key` and read `n` bytes through the data port: one `inb` per byte. */
export function portReadCommands(key: number, n: number): string[] {
  return [`outw ${hex(FW_CFG_PORT_SEL)} ${hex(key)}`, ...Array.from({ length: n }, () => `inb ${hex(FW_CFG_PORT_DATA)}`)];
}

/** The bytes read by portReadCommands, from its replies (same order). */
export function portReadBytes(commands: readonly string[], replies: readonly string[]): Uint8Array {
  expectOk(commands[0]!, replies[0]!);
  return Uint8Array.from(commands.slice(1).map((c, i) => Number(replyValue(c, replies[i + 1]!))));
}

const bswap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

/**
 * A DMA read of `n` bytes of `key` into DMA_BUFFER_ADDR, then the descriptor and the buffer read
 * back: FWCfgDmaAccess is be32 control, be32 length, be64 address (hw/nvram/fw_cfg.c).
 */
export function dmaReadCommands(key: number, n: number): string[] {
  const desc = Buffer.alloc(16);
  desc.writeUInt32BE(((key << 16) | DMA_CTL_SELECT | DMA_CTL_READ) >>> 0, 0);
  desc.writeUInt32BE(n, 4);
  desc.writeBigUInt64BE(DMA_BUFFER_ADDR, 8);
  return [
    `write ${hex(DMA_DESCRIPTOR_ADDR)} 16 0x${desc.toString('hex')}`,
    // The DMA port is DEVICE_BIG_ENDIAN and qtest's outl stores the value little-endian, so the
    // halves go byte-swapped, as SeaBIOS writes them (src/fw/paravirt.c: outl(cpu_to_be32(…))).
    `outl ${hex(FW_CFG_PORT_DMA)} ${hex(bswap32(Number(DMA_DESCRIPTOR_ADDR >> 32n)))}`,
    `outl ${hex(FW_CFG_PORT_DMA + 4)} ${hex(bswap32(Number(DMA_DESCRIPTOR_ADDR & 0xffffffffn)))}`,
    `read ${hex(DMA_DESCRIPTOR_ADDR)} 4`,
    `read ${hex(DMA_BUFFER_ADDR)} ${n}`,
  ];
}

/** The bytes of a dmaReadCommands transfer; QEMU clears the control word when done, sets bit 0 on error. */
export function dmaReadBytes(commands: readonly string[], replies: readonly string[], n: number): Uint8Array {
  for (let i = 0; i < 3; i++) expectOk(commands[i]!, replies[i]!);
  const control = replyValue(commands[3]!, replies[3]!);
  if (control !== 0n) {
    throw new QtestProtocolError(commands[2]!, replies[3]!, control & BigInt(DMA_CTL_ERROR) ? 'fw_cfg DMA reported an error' : 'fw_cfg DMA did not complete');
  }
  return replyBytes(commands[4]!, replies[4]!, n);
}

/** CMOS reads: index, then data, per register. */
export function cmosCommands(): string[] {
  return CMOS_REGISTERS.flatMap((r) => [`outb ${hex(CMOS_PORT_INDEX)} ${hex(r)}`, `inb ${hex(CMOS_PORT_DATA)}`]);
}

export function cmosValues(commands: readonly string[], replies: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  CMOS_REGISTERS.forEach((r, i) => {
    expectOk(commands[2 * i]!, replies[2 * i]!);
    out.set(r, Number(replyValue(commands[2 * i + 1]!, replies[2 * i + 1]!)));
  });
  return out;
}

export interface FwCfgFile {
  name: string;
  size: number;
  select: number;
}

export const be32 = (b: Uint8Array, at = 0): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const be16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
export function le(b: Uint8Array, at = 0, n = b.length - at): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return v;
}

/** Directory entries (`count` of them) from their bytes (after the be32 count). */
export function decodeFileDir(entries: Uint8Array, count: number): FwCfgFile[] {
  const out: FwCfgFile[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * FW_CFG_FILE_BYTES;
    const raw = entries.subarray(at + 8, at + 8 + FW_CFG_NAME_BYTES);
    const nul = raw.indexOf(0);
    out.push({ size: be32(entries, at), select: be16(entries, at + 4), name: Buffer.from(nul < 0 ? raw : raw.subarray(0, nul)).toString('latin1') });
  }
  return out;
}

/** The legacy 0x8003 table: le32 count, then packed records; null for a count beyond its slots (not that table). */
export function decodeLegacyE820(bytes: Uint8Array): E820Record[] | null {
  const count = Number(le(bytes, 0, 4));
  if (count > LEGACY_E820_SLOTS) return null;
  return decodeE820Records(bytes.subarray(4, 4 + count * FWCFG_E820_RECORD_BYTES));
}

export const LEGACY_E820_BYTES = 4 + LEGACY_E820_SLOTS * FWCFG_E820_RECORD_BYTES;
