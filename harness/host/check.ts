// `e820 host check`: the kernel layer of a real Linux machine (this one, or one over SSH).
//
// The kernel's E820 code does not care who wrote the firmware map: given the map the kernel
// received, its command line and its version, the model's linux stage (reference/linux-stage.ts)
// predicts the `BIOS-e820:` dump, the edit lines, /sys/firmware/memmap and the E820-derived
// lines of /proc/iomem. The map comes from /sys/firmware/memmap, which the kernel fills from
// e820_table_firmware: the firmware's map after sanitising and before the kernel's own edits
// (arch/x86/kernel/e820.c e820__memory_setup → firmware_map_add_early, drivers/firmware/memmap.c).
// Only facts the kernel itself started from are inputs — the map, the command line, the
// release, the CPU's address width and LA57, the ACPI MCFG table, the kernel's configuration —
// never a line the comparison then judges.

import { gunzipSync } from 'node:zlib';
import type { E820Range } from '../../reference/e820.ts';
import { linuxStage } from '../../reference/linux-stage.ts';
import { kernelProfileForRelease, type KernelProfile } from '../../reference/profiles/kernel.ts';
import type { LayerReport } from '../../reference/report.ts';
import { tableOnlyFirmwareMap, type FirmwareMap, type KernelView, type Platform } from '../../reference/stages.ts';
import type { KernelVersion } from '../../reference/toolchain.ts';
import { compareReports, type Unobserved } from '../matrix/compare.ts';
import { isE820IomemLine } from '../matrix/deps.ts';
import type { Verdict } from '../matrix/verdict.ts';
import { parseDmesg, selectE820Lines } from '../parse/dmesg.ts';
import { parseIomem } from '../parse/iomem.ts';
import { chooseProfile, type ProfileChoice } from '../user-toolchain/index.ts';
import type { Host } from './types.ts';

/** How long reading one file or running dmesg may take on the host (milliseconds). */
const READ_TIMEOUT_MS = 30_000;

export interface KernelConfigFacts {
  /** Where it was read (`/proc/config.gz`, `/boot/config-<release>`), or null when neither exists. */
  source: string | null;
  /** CONFIG_HIBERNATION: without it register_nosave_region() is an empty inline (include/linux/suspend.h). */
  hibernation: boolean | null;
}

/** What `host check` read from the machine. Each field the model judges carries why it is absent. */
export interface HostFacts {
  host: string;
  /** /proc/sys/kernel/osrelease. */
  release: string;
  /** /proc/cmdline. */
  cmdline: string;
  /** /sys/firmware/memmap/N in index order: the prediction's input. */
  memmap: Array<{ start: string; end: string; type: string }> | null;
  /** `dmesg -r`. */
  dmesg: string | null;
  iomem: string | null;
  unobserved: Unobserved[];
  cpu: { vendor: string; physBits: number; la57: boolean; bmi1Bmi2: boolean };
  /** /sys/bus/pci/devices holds devices. */
  pci: boolean;
  /** The ECAM window of the ACPI MCFG table (segment 0), inclusive end; null without one (or unreadable). */
  mmconfig: { start: bigint; end: bigint } | null;
  config: KernelConfigFacts;
  warnings: string[];
}

async function text(host: Host, path: string): Promise<string | null> {
  try {
    return (await host.readFile(path)).toString('utf8');
  } catch {
    return null;
  }
}

/** ACPI MCFG (PCI Firmware Spec 3.0 §4.1.2): 44-byte header, then 16-byte allocations (base u64, segment u16, start bus u8, end bus u8). */
export function mcfgWindow(table: Uint8Array): { start: bigint; end: bigint } | null {
  const b = Buffer.from(table);
  if (b.length < 44 + 16 || b.toString('latin1', 0, 4) !== 'MCFG') return null;
  for (let off = 44; off + 16 <= b.length; off += 16) {
    const base = b.readBigUInt64LE(off);
    const segment = b.readUInt16LE(off + 8);
    const startBus = BigInt(b[off + 10]!);
    const endBus = BigInt(b[off + 11]!);
    // pci_mmconfig_add() (arch/x86/pci/mmconfig-shared.c): the window covers the bus range.
    if (segment === 0) return { start: base + (startBus << 20n), end: base + ((endBus + 1n) << 20n) - 1n };
  }
  return null;
}

function configFacts(textOf: string, source: string): KernelConfigFacts {
  const has = (opt: string) => new RegExp(`^${opt}=y$`, 'm').test(textOf);
  return { source, hibernation: has('CONFIG_HIBERNATION') };
}

async function readConfig(host: Host, release: string): Promise<KernelConfigFacts> {
  try {
    const gz = await host.readFile('/proc/config.gz');
    return configFacts(gunzipSync(gz).toString('utf8'), '/proc/config.gz');
  } catch {
    // no IKCONFIG_PROC; Debian installs the configuration beside the kernel
  }
  const boot = await text(host, `/boot/config-${release}`);
  if (boot !== null) return configFacts(boot, `/boot/config-${release}`);
  return { source: null, hibernation: null };
}

/** Reads everything `host check` needs; what cannot be read is named with the right that is missing. */
export async function readHostFacts(host: Host): Promise<HostFacts> {
  const unobserved: Unobserved[] = [];
  const warnings: string[] = [];
  const release = (await text(host, '/proc/sys/kernel/osrelease'))?.trim();
  if (release === undefined) throw new Error(`${host.label}: /proc/sys/kernel/osrelease is unreadable: is this a Linux machine with /proc mounted?`);
  const cmdline = ((await text(host, '/proc/cmdline')) ?? '').replace(/\n$/, '');

  let memmap: HostFacts['memmap'] = null;
  try {
    const names = (await host.readDir('/sys/firmware/memmap')).map((e) => e.name).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
    memmap = [];
    for (const n of names) {
      const read = async (f: string) => ((await text(host, `/sys/firmware/memmap/${n}/${f}`)) ?? '').trim();
      memmap.push({ start: await read('start'), end: await read('end'), type: await read('type') });
    }
    if (memmap.length === 0) memmap = null;
  } catch {
    memmap = null;
  }
  if (memmap === null) unobserved.push({ layer: 'kernel', field: 'memmap', reason: '/sys/firmware/memmap does not exist or is empty (a kernel without CONFIG_FIRMWARE_MEMMAP): the firmware map, the prediction\'s input, is unknown' });

  let dmesg: string | null = null;
  // --force-prefix (util-linux 2.37+): every line of a multi-line record gets its `<L>[time]`,
  // as the parser requires (harness/parse/dmesg.ts); an older dmesg is asked without it.
  let d = await host.exec(['dmesg', '-r', '--force-prefix'], { timeoutMs: READ_TIMEOUT_MS, env: { LC_ALL: 'C' } });
  if (d.exitCode !== 0 && /unrecognized option|invalid option/.test(d.stderr)) d = await host.exec(['dmesg', '-r'], { timeoutMs: READ_TIMEOUT_MS, env: { LC_ALL: 'C' } });
  if (d.exitCode === 0 && d.stdout !== '') dmesg = d.stdout;
  else {
    const restrict = (await text(host, '/proc/sys/kernel/dmesg_restrict'))?.trim();
    const why =
      restrict === '1'
        ? 'reading the kernel log needs CAP_SYSLOG (root) because kernel.dmesg_restrict = 1: run as root, or sysctl kernel.dmesg_restrict=0'
        : `dmesg -r failed (exit ${d.exitCode ?? d.signal}): ${d.stderr.trim().slice(0, 200) || 'no output'}`;
    for (const field of ['biosE820', 'e820Edits']) unobserved.push({ layer: 'kernel', field, reason: why });
  }

  let iomem = await text(host, '/proc/iomem');
  if (iomem === null) unobserved.push({ layer: 'kernel', field: 'iomem', reason: '/proc/iomem is unreadable' });
  else if (/^\s*0+-0+ : /m.test(iomem) && !/^\s*0*[1-9a-f][0-9a-f]*-/m.test(iomem)) {
    iomem = null;
    unobserved.push({ layer: 'kernel', field: 'iomem', reason: '/proc/iomem shows every range as 00000000-00000000: real addresses need CAP_SYS_ADMIN (root)' });
  }

  const cpuinfo = (await text(host, '/proc/cpuinfo')) ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(cpuinfo)?.[1] ?? '';
  const flags = new Set(field('flags').split(/\s+/));
  const physBits = Number(/(\d+) bits physical/.exec(field('address sizes'))?.[1] ?? NaN);
  if (!Number.isInteger(physBits)) throw new Error(`${host.label}: /proc/cpuinfo has no "address sizes: N bits physical" line: is this an x86 machine?`);
  const cpu = { vendor: field('vendor_id'), physBits, la57: flags.has('la57'), bmi1Bmi2: flags.has('bmi1') && flags.has('bmi2') };

  let pci = false;
  try {
    pci = (await host.readDir('/sys/bus/pci/devices')).length > 0;
  } catch {
    pci = false;
  }
  let mmconfig: HostFacts['mmconfig'] = null;
  try {
    mmconfig = mcfgWindow(await host.readFile('/sys/firmware/acpi/tables/MCFG'));
  } catch {
    if (pci) warnings.push('no readable ACPI MCFG table (/sys/firmware/acpi/tables/MCFG needs root): the ECAM window is unknown to the prediction');
  }
  const config = await readConfig(host, release);
  if (config.source === null) warnings.push(`no kernel configuration (/proc/config.gz, /boot/config-${release}): predicted as Debian's (CONFIG_HIBERNATION=y)`);
  return { host: host.label, release, cmdline, memmap, dmesg, iomem, unobserved, cpu, pci, mmconfig, config, warnings };
}

/** The kernel's resource names back to E820 types (the profile's resourceName, inverted). */
function typeOfName(name: string, profile: KernelProfile): number {
  for (const [t, n] of Object.entries(profile.resourceName)) if (n === name) return Number(t);
  throw new Error(`/sys/firmware/memmap names a type the model does not know: ${JSON.stringify(name)} (known: ${Object.values(profile.resourceName).join(', ')})`);
}

export function firmwareMapOf(memmap: NonNullable<HostFacts['memmap']>, profile: KernelProfile): FirmwareMap {
  const entries: E820Range[] = memmap.map((m) => ({ start: BigInt(m.start), end: BigInt(m.end) + 1n, type: typeOfName(m.type, profile) }));
  // A real machine's firmware is not SeaBIOS: its table only; its INT 12h answer is not read here.
  return tableOnlyFirmwareMap(entries, { baseMemKiB: 0, provenance: '/sys/firmware/memmap' });
}

/**
 * The platform as far as the linux stage needs it. The PCI host bridge windows come from the
 * DSDT's _CRS (AML the model does not evaluate): none are assumed, so an E820 range that a
 * window would contain is predicted at top level (see the caveat in HostCheck.caveats).
 */
export function platformOf(facts: HostFacts): Platform {
  return {
    chipset: 'q35', // not read by the linux stage; a real machine's chipset is its own
    accel: 'kvm',
    physBits: facts.cpu.physBits,
    cpuVendor: facts.cpu.vendor,
    cpuModel: 'host',
    longMode: true,
    extendedLeaves: true,
    bmi1Bmi2: facts.cpu.bmi1Bmi2,
    la57: facts.cpu.la57,
    pci: facts.pci,
    pciWindows: [],
    mmconfig: facts.mmconfig,
    hotplugRam: [],
  };
}

/** `6.18.44-fc-v1272` → `6.18.44`; the series `6.18`. */
export function releaseVersion(release: string): string | null {
  return /^(\d+\.\d+(?:\.\d+)?)/.exec(release)?.[1] ?? null;
}

export interface HostCheck {
  facts: HostFacts;
  profile: ProfileChoice;
  prediction: KernelView;
  expected: LayerReport;
  observed: LayerReport;
  verdict: Verdict;
  /** What the comparison cannot know about a real machine, said next to the verdict. */
  caveats: string[];
}

export function predictHost(facts: HostFacts, choice: ProfileChoice): { view: KernelView; profile: KernelProfile } {
  if (facts.memmap === null) throw new Error('internal: no firmware map to predict from');
  const base = kernelProfileForRelease(choice.profile as KernelVersion, choice.how === 'exact' ? facts.release : undefined);
  // Build options the kernel reports in its configuration, applied over the series' profile.
  const profile: KernelProfile = facts.config.hibernation === false ? { ...base, hibernation: false } : base;
  return { view: linuxStage(firmwareMapOf(facts.memmap, profile), platformOf(facts), facts.cmdline, profile), profile };
}

export function checkHost(facts: HostFacts, opts: { profileKernel?: string } = {}): HostCheck {
  const detected = releaseVersion(facts.release);
  const profile = chooseProfile('kernel', detected, opts.profileKernel);
  const observed: LayerReport = {};
  const kernel: NonNullable<LayerReport['kernel']> = {};
  const warnings = [...facts.warnings];
  if (facts.dmesg !== null) {
    const sel = selectE820Lines(parseDmesg(facts.dmesg, 'host'));
    if (sel.biosE820.length === 0) {
      const reason = 'the kernel log holds no BIOS-e820 line: the ring buffer wrapped since boot (log_buf_len=) or the map came another way';
      for (const field of ['biosE820', 'e820Edits']) facts.unobserved.push({ layer: 'kernel', field, reason });
    } else {
      kernel.biosE820 = sel.biosE820;
      kernel.e820Edits = sel.e820Edits;
    }
    for (const u of sel.unclassified) warnings.push(`kernel log line mentions e820 but matches no rule in reference/kernel-lines.ts: ${JSON.stringify(u.text)}`);
  }
  if (facts.memmap !== null) kernel.memmap = facts.memmap;
  if (facts.iomem !== null) kernel.iomem = parseIomem(facts.iomem, 'host').map((n) => n.line);
  if (Object.keys(kernel).length > 0) observed.kernel = kernel;

  let prediction: KernelView = { biosE820: [], unpredictable: ['biosE820, e820Edits, memmap, iomem: no firmware map to predict from'] };
  const expected: LayerReport = {};
  if (facts.memmap !== null) {
    prediction = predictHost(facts, profile).view;
    expected.kernel = {
      biosE820: [...prediction.biosE820],
      ...(prediction.e820Edits ? { e820Edits: [...prediction.e820Edits] } : {}),
      ...(prediction.memmap ? { memmap: prediction.memmap.map((m) => ({ ...m })) } : {}),
      ...(prediction.iomem ? { iomem: [...prediction.iomem] } : {}),
    };
  }
  const notQemu = 'a real machine: its firmware is its own, not QEMU and SeaBIOS; host check judges the kernel layer';
  const verdict = compareReports({
    expected,
    observed,
    unobserved: facts.unobserved,
    excluded: [
      { layer: 'qemu', reason: notQemu },
      { layer: 'firmware', reason: notQemu },
    ],
    isE820IomemLine,
  });
  // A field the model leaves out says why in its own words (the stage's `unpredictable`), not
  // the matrix's generic "not predicted for this configuration".
  for (const f of verdict.fields ?? []) {
    if (f.status !== 'not-predicted') continue;
    const short = f.field.replace(/^kernel\./, '');
    const why = (prediction.unpredictable ?? []).find((u) => u.split(':')[0]!.split(',').map((x) => x.trim()).includes(short));
    if (why !== undefined) f.reason = `the model leaves it out here: ${why.slice(why.indexOf(':') + 1).trim()}`;
  }
  const caveats = [
    'kernel.memmap is the prediction\'s input (the firmware map the kernel kept): its agreement checks only that sanitising it changes nothing',
    'PCI host bridge windows (ACPI _CRS) are not known to the model for a real machine: E820 ranges are predicted outside any window',
    ...(prediction.unpredictable ?? []).map((u) => `not predicted: ${u}`),
    ...warnings,
  ];
  facts.warnings = warnings;
  return { facts, profile, prediction, expected, observed, verdict, caveats };
}

