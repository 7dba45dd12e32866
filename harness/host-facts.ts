// The facts about the KVM host the model cannot read from a command line (reference/qemu/
// HostFacts): under KVM the guest CPU takes the host's CPUID vendor (every named model, and
// host/max), and `host-phys-bits=on` (the default of -cpu host/max since QEMU 6.0) takes the
// host's physical address width. QEMU reads both with the CPUID instruction
// (target/i386/host-cpu.c host_cpu_instance_init / host_cpu_phys_bits: leaf 0 vendor, leaf
// 0x80000008 EAX[7:0]); this module reads what Linux reports of the same: /proc/cpuinfo
// `vendor_id` and `address sizes: N bits physical`.
//
// Hazard: Linux may report fewer physical bits than CPUID (AMD SME/SEV and Intel TME-MK take
// key bits off). When /dev/cpu/0/cpuid is readable (root, cpuid module) its leaf 0x80000008 is
// what QEMU sees, and it wins over /proc/cpuinfo, with a note saying so.
//
// The parsers are pure; readHostFacts() is the one reader, memoised per process.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { HostFacts } from '../reference/qemu/index.ts';

export type { HostFacts };

export const CPUINFO_PATH = '/proc/cpuinfo';
export const CPUID_DEVICE = '/dev/cpu/0/cpuid';

/** The vendors the model knows (reference/qemu/ HostFacts['cpuVendor']). */
export const HOST_VENDORS = ['AuthenticAMD', 'GenuineIntel', 'HygonGenuine'] as const;

/** QEMU's phys-bits range for a 64-bit CPU (TARGET_PHYS_ADDR_SPACE_BITS = 52; < 32 is refused). */
export const PHYS_BITS_MIN = 32;
export const PHYS_BITS_MAX = 52;

/** CPUID leaf with the physical address width in EAX[7:0]. */
const CPUID_ADDRESS_SIZES_LEAF = 0x80000008;

export class HostFactsError extends Error {
  constructor(
    message: string,
    /** What to do about it. */
    readonly hint = 'pass --host-vendor and --host-phys-bits to predict for a host by hand',
  ) {
    super(`${message}\nwhat to do: ${hint}`);
    this.name = 'HostFactsError';
  }
}

/** What the host facts are and where each came from. */
export interface HostFactsReport {
  facts: HostFacts;
  /** `vendor: /proc/cpuinfo line 2`, `physBits: --host-phys-bits`, … */
  sources: { vendor: string; physBits: string };
  /** The CPU has the `hypervisor` flag: this machine is itself a guest, so its KVM is nested. Null when not read. */
  nested: boolean | null;
  notes: string[];
}

/** Overrides from the command line (`--host-vendor`, `--host-phys-bits`), as typed. */
export interface HostOverrides {
  vendor?: string;
  physBits?: string | number;
  /** `--host-la57 on|off`: whether the host CPU has LA57 (read from /proc/cpuinfo flags otherwise). */
  la57?: string | boolean;
}

export interface CpuinfoFacts {
  vendor: { value: string; line: number } | null;
  physBits: { value: number; line: number } | null;
  hypervisor: boolean | null;
  /** `flags` has `la57` (the host kernel clears it when it runs 4-level paging; KVM reads raw CPUID). */
  la57: boolean | null;
}

/**
 * /proc/cpuinfo → the first processor's vendor_id, `address sizes` and whether `flags` has
 * `hypervisor`. Pure. A field that is absent is null; a field that is present but malformed is
 * an error naming its line.
 */
export function parseCpuinfo(text: string, source = CPUINFO_PATH): CpuinfoFacts {
  const out: CpuinfoFacts = { vendor: null, physBits: null, hypervisor: null, la57: null };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    // Only the first processor block: the fields repeat per CPU.
    if (line.trim() === '' && (out.vendor !== null || out.physBits !== null)) break;
    const m = /^([^:]+?)\s*:\s?(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.trim();
    const value = m[2]!.trim();
    if (key === 'vendor_id' && out.vendor === null) {
      if (value === '') throw new HostFactsError(`${source} line ${i + 1}: empty vendor_id`);
      out.vendor = { value, line: i + 1 };
    } else if (key === 'address sizes' && out.physBits === null) {
      const a = /^(\d+) bits physical\b/.exec(value);
      if (!a) throw new HostFactsError(`${source} line ${i + 1}: cannot read "${line.trim()}" (expected "address sizes : N bits physical, M bits virtual")`);
      out.physBits = { value: Number(a[1]), line: i + 1 };
    } else if (key === 'flags' && out.hypervisor === null) {
      const flags = value.split(/\s+/);
      out.hypervisor = flags.includes('hypervisor');
      out.la57 = flags.includes('la57');
    }
  }
  return out;
}

/** `--host-la57`: on/off (also yes/no, true/false). */
export function parseLa57(v: string | boolean, what = '--host-la57'): boolean {
  if (typeof v === 'boolean') return v;
  if (['on', 'yes', 'true'].includes(v.toLowerCase())) return true;
  if (['off', 'no', 'false'].includes(v.toLowerCase())) return false;
  throw new HostFactsError(`${what} ${JSON.stringify(v)}: expected on or off`);
}

/** `AuthenticAMD`, or the short spellings amd / intel / hygon (any case). */
export function parseVendor(text: string, what = '--host-vendor'): HostFacts['cpuVendor'] {
  const t = text.trim();
  const short: Record<string, HostFacts['cpuVendor']> = { amd: 'AuthenticAMD', intel: 'GenuineIntel', hygon: 'HygonGenuine' };
  const hit = HOST_VENDORS.find((v) => v.toLowerCase() === t.toLowerCase()) ?? short[t.toLowerCase()];
  if (hit === undefined) {
    throw new HostFactsError(
      `${what} ${JSON.stringify(text)}: not a CPU vendor the model knows (${HOST_VENDORS.join(', ')}; or amd, intel, hygon)`,
      'the model only distinguishes AMD (HyperTransport hole) from the others; pass --host-vendor with one of these',
    );
  }
  return hit;
}

export function parsePhysBits(text: string | number, what = '--host-phys-bits'): number {
  const n = typeof text === 'number' ? text : /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < PHYS_BITS_MIN || n > PHYS_BITS_MAX) {
    throw new HostFactsError(`${what} ${JSON.stringify(String(text))}: expected a whole number of physical address bits from ${PHYS_BITS_MIN} to ${PHYS_BITS_MAX}`, `pass e.g. ${what} 48`);
  }
  return n;
}

/** Physical address bits from CPUID leaf 0x80000008 read through the cpuid device; null if unreadable. */
export function readCpuidPhysBits(device = CPUID_DEVICE): number | null {
  let fd: number;
  try {
    fd = openSync(device, 'r');
  } catch {
    return null; // no cpuid module, or not root: /proc/cpuinfo alone will do
  }
  try {
    const max = Buffer.alloc(16);
    // The device's file offset is the leaf (msr(4)/cpuid(4)).
    if (readSync(fd, max, 0, 16, 0x80000000) !== 16) return null;
    if (max.readUInt32LE(0) < CPUID_ADDRESS_SIZES_LEAF) return null;
    const leaf = Buffer.alloc(16);
    if (readSync(fd, leaf, 0, 16, CPUID_ADDRESS_SIZES_LEAF) !== 16) return null;
    return leaf.readUInt32LE(0) & 0xff;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export interface HostFactsSources {
  /** Reads /proc/cpuinfo (throws when it cannot). */
  readCpuinfo(): string;
  /** CPUID 0x80000008 EAX[7:0], or null when the cpuid device cannot be read. */
  cpuidPhysBits(): number | null;
}

export const localHostSources: HostFactsSources = {
  readCpuinfo: () => readFileSync(CPUINFO_PATH, 'utf8'),
  cpuidPhysBits: () => readCpuidPhysBits(),
};

/**
 * The host facts for a KVM prediction: the overrides where given, the machine's own otherwise.
 * Both overrides given: nothing is read (a prediction for another host).
 */
export function resolveHostFacts(overrides: HostOverrides = {}, sources: HostFactsSources = localHostSources): HostFactsReport {
  const notes: string[] = [];
  const vendorOverride = overrides.vendor !== undefined ? parseVendor(overrides.vendor) : undefined;
  const bitsOverride = overrides.physBits !== undefined ? parsePhysBits(overrides.physBits) : undefined;
  const la57Override = overrides.la57 !== undefined ? parseLa57(overrides.la57) : undefined;
  const la57Of = (read: boolean | null): { la57?: boolean } => {
    const v = la57Override ?? read;
    return v === null || v === undefined ? {} : { la57: v };
  };
  if (vendorOverride !== undefined && bitsOverride !== undefined) {
    return { facts: { cpuVendor: vendorOverride, physBits: bitsOverride, ...la57Of(null) }, sources: { vendor: '--host-vendor', physBits: '--host-phys-bits' }, nested: null, notes };
  }

  let text: string;
  try {
    text = sources.readCpuinfo();
  } catch (err) {
    throw new HostFactsError(`cannot read ${CPUINFO_PATH} for the KVM host's CPU vendor and physical address bits: ${(err as Error).message}`);
  }
  const info = parseCpuinfo(text);

  let vendor: HostFacts['cpuVendor'];
  let vendorSource: string;
  if (vendorOverride !== undefined) {
    vendor = vendorOverride;
    vendorSource = '--host-vendor';
  } else {
    if (info.vendor === null) throw new HostFactsError(`${CPUINFO_PATH} has no vendor_id line: cannot tell the KVM host's CPU vendor`);
    vendor = parseVendor(info.vendor.value, `${CPUINFO_PATH} line ${info.vendor.line}: vendor_id`);
    vendorSource = `${CPUINFO_PATH} line ${info.vendor.line}`;
  }

  let physBits: number;
  let bitsSource: string;
  if (bitsOverride !== undefined) {
    physBits = bitsOverride;
    bitsSource = '--host-phys-bits';
  } else {
    const cpuid = sources.cpuidPhysBits();
    if (info.physBits === null && cpuid === null) {
      throw new HostFactsError(`${CPUINFO_PATH} has no "address sizes" line and ${CPUID_DEVICE} cannot be read: cannot tell the KVM host's physical address bits`);
    }
    if (cpuid !== null) {
      physBits = parsePhysBits(cpuid, `${CPUID_DEVICE} leaf 0x80000008`);
      bitsSource = `${CPUID_DEVICE} leaf 0x80000008 (what QEMU reads)`;
      if (info.physBits !== null && info.physBits.value !== cpuid) {
        notes.push(`${CPUINFO_PATH} says ${info.physBits.value} physical address bits, CPUID says ${cpuid}: Linux reserves bits for memory encryption; QEMU uses CPUID's`);
      }
    } else {
      physBits = parsePhysBits(info.physBits!.value, `${CPUINFO_PATH} line ${info.physBits!.line}: address sizes`);
      bitsSource = `${CPUINFO_PATH} line ${info.physBits!.line}`;
    }
  }
  const facts: HostFacts = { cpuVendor: vendor, physBits, ...la57Of(info.la57) };
  return { facts, sources: { vendor: vendorSource, physBits: bitsSource }, nested: info.hypervisor, notes };
}

let memo: HostFactsReport | null = null;

/** This machine's host facts, read once per process (overrides are applied on top, never memoised). */
export function hostFacts(overrides: HostOverrides = {}): HostFactsReport {
  if (overrides.vendor !== undefined || overrides.physBits !== undefined || overrides.la57 !== undefined) return resolveHostFacts(overrides);
  memo ??= resolveHostFacts();
  return memo;
}

/** One line for people: `AuthenticAMD, 48 physical address bits (vendor: /proc/cpuinfo line 2; …)`. */
export function describeHostFacts(r: HostFactsReport): string {
  const src = r.sources.vendor === r.sources.physBits ? r.sources.vendor : `vendor: ${r.sources.vendor}; phys-bits: ${r.sources.physBits}`;
  return `${r.facts.cpuVendor}, ${r.facts.physBits} physical address bits (${src})`;
}
