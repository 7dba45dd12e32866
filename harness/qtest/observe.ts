// What QEMU hands the firmware, read through qtest with no guest: the fw_cfg file directory,
// etc/e820, etc/reserved-memory-end, the legacy keys and the CMOS memory registers. Three batched
// round trips: (1) CMOS, FW_CFG_ID and the directory's count; (2) the fixed keys, the legacy
// table and the directory; (3) the files the comparison reads. (2) and (3) go by fw_cfg DMA when
// FW_CFG_ID says the machine has it: ~75 commands a configuration instead of ~500 one-byte `inb`s,
// each a line QEMU parses and answers and this process reads (docs/qemu-layer.md).

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

/** Splits one batch's replies into each command group's share, in order. */
function split(groups: readonly (readonly string[])[], replies: readonly string[]): string[][] {
  const out: string[][] = [];
  let at = 0;
  for (const g of groups) {
    out.push(replies.slice(at, at + g.length));
    at += g.length;
  }
  return out;
}

/** Reads of `n` bytes of `key`: by DMA (5 commands) or through the data port (1 + n). */
function readCommands(dma: boolean, key: number, n: number): { commands: string[]; bytes: (replies: readonly string[]) => Uint8Array } {
  if (dma) {
    const commands = dmaReadCommands(key, n);
    return { commands, bytes: (r) => dmaReadBytes(commands, r, n) };
  }
  const commands = portReadCommands(key, n);
  return { commands, bytes: (r) => portReadBytes(commands, r) };
}

/** Reads the QEMU layer through `io` (exported for the fake fw_cfg of suites/harness/qtest-observe.test.ts). */
export async function observeWith(io: QtestIO): Promise<QtestObservation> {
  // (1) CMOS, FW_CFG_ID and the directory's count, through the ports.
  const cmos = cmosCommands();
  const id = portReadCommands(FW_CFG_KEY.id, 4);
  const dirCount = portReadCommands(FW_CFG_KEY.fileDir, 4);
  const [cmosReplies, idReplies, countReplies] = split([cmos, id, dirCount], await io.exchange([...cmos, ...id, ...dirCount]));
  const idValue = Number(le(portReadBytes(id, idReplies!)));
  const count = be32(portReadBytes(dirCount, countReplies!));
  const dirBytes = 4 + count * FW_CFG_FILE_BYTES;
  // (2) the fixed keys, the legacy table and the directory: by DMA where FW_CFG_ID says the
  // machine has it (5 commands a read instead of one `inb` per byte), else through the port.
  const dma = (idValue & FW_CFG_VERSION_DMA) !== 0 && dirBytes <= DMA_DIR_READ_BYTES;
  const reads = [
    readCommands(dma, FW_CFG_KEY.ramSize, 8),
    readCommands(dma, FW_CFG_KEY.nbCpus, 2),
    readCommands(dma, FW_CFG_KEY.maxCpus, 2),
    readCommands(dma, FW_CFG_KEY.numa, 8),
    readCommands(dma, FW_CFG_KEY.legacyE820, LEGACY_E820_BYTES),
    readCommands(dma, FW_CFG_KEY.fileDir, dirBytes),
  ];
  const r2 = split(
    reads.map((r) => r.commands),
    await io.exchange(reads.flatMap((r) => r.commands)),
  );
  const [ram, nb, max, numa, legacy, dir] = reads.map((r, i) => r.bytes(r2[i]!));
  const files = decodeFileDir(dir!.subarray(4), count);

  // (3) the files the comparison reads, the same way.
  const wanted = FILES_READ.map((name) => files.find((f) => f.name === name) ?? null);
  const fileReads = wanted.map((f) => (f === null ? null : readCommands(dma, f.select, f.size)));
  const groups = fileReads.map((r) => r?.commands ?? []);
  const r3 = groups.some((c) => c.length > 0) ? split(groups, await io.exchange(groups.flat())) : groups.map(() => []);
  const [e820Bytes, rmeBytes] = fileReads.map((r, i) => (r === null ? null : r.bytes(r3[i]!)));
  return {
    files,
    e820: e820Bytes ? decodeE820Records(e820Bytes) : null,
    reservedMemoryEnd: rmeBytes ? le(rmeBytes) : null,
    legacyE820: decodeLegacyE820(legacy!),
    cmos: cmosValues(cmos, cmosReplies!),
    keys: {
      id: idValue,
      ramSize: le(ram!),
      nbCpus: Number(le(nb!)),
      maxCpus: Number(le(max!)),
      numaNodes: le(numa!),
    },
    dma,
  };
}

/** Starts QEMU (-S, qtest on stdio), reads the QEMU layer, kills it. */
export async function observeQemuLayer(opts: QtestSessionOptions): Promise<{ observation: QtestObservation; stderr: string; argv: string[]; wallMs: number }> {
  const r = await withQtest(opts, observeWith);
  return { observation: r.value, stderr: r.stderr, argv: r.argv, wallMs: r.wallMs };
}
