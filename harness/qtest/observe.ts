// What QEMU hands the firmware, read through qtest with no guest: the fw_cfg file directory,
// etc/e820, etc/reserved-memory-end, the legacy keys and the CMOS memory registers. Three batched
// round trips: (1) CMOS, the fixed keys, the directory's count and the legacy table; (2) the
// directory (by DMA when FW_CFG_ID says the machine has it: one reply instead of 64 per entry);
// (3) the files the comparison reads.

import type { E820Record } from '../../reference/e820.ts';
import { decodeE820Records } from '../parse/fwcfg.ts';
import {
  be32,
  cmosCommands,
  cmosValues,
  decodeFileDir,
  decodeLegacyE820,
  dmaReadBytes,
  dmaReadCommands,
  DMA_DIR_READ_BYTES,
  FW_CFG_FILE_BYTES,
  FW_CFG_KEY,
  FW_CFG_VERSION_DMA,
  le,
  LEGACY_E820_BYTES,
  portReadBytes,
  portReadCommands,
  type FwCfgFile,
} from './protocol.ts';
import { withQtest, type QtestIO, type QtestSessionOptions } from './session.ts';

/** Files whose contents are read (the rest are listed with their sizes only). */
export const FILES_READ = ['etc/e820', 'etc/reserved-memory-end'] as const;

export interface QtestObservation {
  /** The fw_cfg file directory in its order (FW_CFG_FILE_DIR). */
  files: FwCfgFile[];
  /** etc/e820 in file order; null when the directory has no etc/e820. */
  e820: E820Record[] | null;
  /** etc/reserved-memory-end (le64); null when absent. */
  reservedMemoryEnd: bigint | null;
  /** Key 0x8003, the legacy E820 table (reads as zero records where the key does not exist). */
  legacyE820: E820Record[] | null;
  /** CMOS register → value (protocol.ts CMOS_REGISTERS). */
  cmos: Map<number, number>;
  keys: {
    /** FW_CFG_ID (bit 1: DMA). */
    id: number;
    ramSize: bigint;
    nbCpus: number;
    maxCpus: number;
    /** The first le64 of FW_CFG_NUMA: the number of NUMA nodes. */
    numaNodes: bigint;
  };
  /** Whether the directory was read by DMA. */
  dma: boolean;
}

async function observeWith(io: QtestIO): Promise<QtestObservation> {
  const cmos = cmosCommands();
  const id = portReadCommands(FW_CFG_KEY.id, 4);
  const ram = portReadCommands(FW_CFG_KEY.ramSize, 8);
  const nb = portReadCommands(FW_CFG_KEY.nbCpus, 2);
  const max = portReadCommands(FW_CFG_KEY.maxCpus, 2);
  const numa = portReadCommands(FW_CFG_KEY.numa, 8);
  const legacy = portReadCommands(FW_CFG_KEY.legacyE820, LEGACY_E820_BYTES);
  const dirCount = portReadCommands(FW_CFG_KEY.fileDir, 4);
  const round1 = [cmos, id, ram, nb, max, numa, legacy, dirCount];
  const r1 = await io.exchange(round1.flat());
  const parts: string[][] = [];
  let at = 0;
  for (const c of round1) {
    parts.push(r1.slice(at, at + c.length));
    at += c.length;
  }
  const idValue = Number(le(portReadBytes(id, parts[1]!)));
  const count = be32(portReadBytes(dirCount, parts[7]!));
  const dma = (idValue & FW_CFG_VERSION_DMA) !== 0 && 4 + count * FW_CFG_FILE_BYTES <= DMA_DIR_READ_BYTES;

  let files: FwCfgFile[];
  if (dma) {
    const cmds = dmaReadCommands(FW_CFG_KEY.fileDir, 4 + count * FW_CFG_FILE_BYTES);
    const bytes = dmaReadBytes(cmds, await io.exchange(cmds), 4 + count * FW_CFG_FILE_BYTES);
    files = decodeFileDir(bytes.subarray(4), count);
  } else {
    const cmds = portReadCommands(FW_CFG_KEY.fileDir, 4 + count * FW_CFG_FILE_BYTES);
    files = decodeFileDir(portReadBytes(cmds, await io.exchange(cmds)).subarray(4), count);
  }

  const wanted = FILES_READ.map((name) => files.find((f) => f.name === name) ?? null);
  const reads = wanted.map((f) => (f === null ? [] : portReadCommands(f.select, f.size)));
  const r3 = reads.some((c) => c.length > 0) ? await io.exchange(reads.flat()) : [];
  const contents: Array<Uint8Array | null> = [];
  at = 0;
  for (const [i, c] of reads.entries()) {
    contents.push(wanted[i] === null ? null : portReadBytes(c, r3.slice(at, at + c.length)));
    at += c.length;
  }
  const [e820Bytes, rmeBytes] = contents;
  return {
    files,
    e820: e820Bytes ? decodeE820Records(e820Bytes) : null,
    reservedMemoryEnd: rmeBytes ? le(rmeBytes) : null,
    legacyE820: decodeLegacyE820(portReadBytes(legacy, parts[6]!)),
    cmos: cmosValues(cmos, parts[0]!),
    keys: {
      id: idValue,
      ramSize: le(portReadBytes(ram, parts[2]!)),
      nbCpus: Number(le(portReadBytes(nb, parts[3]!))),
      maxCpus: Number(le(portReadBytes(max, parts[4]!))),
      numaNodes: le(portReadBytes(numa, parts[5]!)),
    },
    dma,
  };
}

/** Starts QEMU (-S, qtest on stdio), reads the QEMU layer, kills it. */
export async function observeQemuLayer(opts: QtestSessionOptions): Promise<{ observation: QtestObservation; stderr: string; argv: string[]; wallMs: number }> {
  const r = await withQtest(opts, observeWith);
  return { observation: r.value, stderr: r.stderr, argv: r.argv, wallMs: r.wallMs };
}
