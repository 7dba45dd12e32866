// The CPU topology after -smp is applied (hw/core/machine-smp.c; 5.2: vl.c smp_parse), and the
// APIC ID limit the firmware tables are sized by.

import type { MachineConfig } from '../config.ts';
import { MACHINE_COMPAT, machineVersionAtMost, type MachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, type ResolvedTopology } from '../stages.ts';

/**
 * hw/core/machine-smp.c machine_parse_smp_config(), or 5.2's hw/i386/pc.c pc_smp_parse()
 * (QemuProfile.smpParse); the refusals are worded by the profile (QemuProfile.messages).
 */
export function resolveTopology(config: MachineConfig, machine: MachineVersion, profile: QemuProfile, board: { diesSupported: boolean } = { diesSupported: true }): ResolvedTopology {
  if (profile.smpParse === 'pc_smp_parse') return pcSmpParse52(config, profile, board);
  const given = smpGiven(config);
  // The machine class's smp_props.dies_supported (pc and q35 have it, microvm not): checked before
  // anything is derived. Null where 5.2's generic smp_parse() takes and ignores dies.
  const refusesDies = profile.messages.smpDiesUnsupported;
  if (!board.diesSupported && refusesDies !== null && given.dies > 1) throw new QemuRefusal(refusesDies);
  let { cpus, sockets, cores, threads, maxcpus } = given;
  const { dies } = given;
  if (cpus === 0 && maxcpus === 0) {
    sockets = sockets || 1;
    cores = cores || 1;
    threads = threads || 1;
  } else {
    maxcpus = maxcpus || cpus;
    if (machineVersionAtMost(machine, MACHINE_COMPAT.smpPreferSocketsUpTo)) {
      if (sockets === 0) {
        cores = cores || 1;
        threads = threads || 1;
        sockets = Math.floor(maxcpus / (dies * cores * threads));
      } else if (cores === 0) {
        threads = threads || 1;
        cores = Math.floor(maxcpus / (sockets * dies * threads));
      }
    } else if (cores === 0) {
      sockets = sockets || 1;
      threads = threads || 1;
      cores = Math.floor(maxcpus / (sockets * dies * threads));
    } else if (sockets === 0) {
      threads = threads || 1;
      sockets = Math.floor(maxcpus / (dies * cores * threads));
    }
    if (threads === 0) threads = Math.floor(maxcpus / (sockets * dies * cores));
  }
  maxcpus = maxcpus || sockets * dies * cores * threads;
  cpus = cpus || maxcpus;
  const hierarchy = profile.messages.cpuHierarchy({ sockets, ...printedLevels(board, dies), cores, threads });
  if (sockets * dies * cores * threads !== maxcpus) throw new QemuRefusal(profile.messages.smpProductMismatch(hierarchy, maxcpus));
  if (maxcpus < cpus) throw new QemuRefusal(profile.messages.smpMaxcpusBelowCpus(hierarchy, maxcpus, cpus));
  return { cpus, sockets, dies, cores, threads, maxcpus };
}

/** The -smp values as both parsers start from: 0 where not given (dies: 1). */
/** The levels between sockets and cores that the machine's -smp refusals print (CpuHierarchy). */
function printedLevels(board: { diesSupported: boolean }, dies: number): { dies: number | null; modules: number | null } {
  return board.diesSupported ? { dies, modules: 1 } : { dies: null, modules: null };
}

function smpGiven(config: MachineConfig): { cpus: number; sockets: number; dies: number; cores: number; threads: number; maxcpus: number } {
  const s = config.smp;
  return { cpus: s.cpus ?? 0, sockets: s.sockets ?? 0, dies: s.dies ?? 1, cores: s.cores ?? 0, threads: s.threads ?? 0, maxcpus: s.maxcpus ?? 0 };
}

/**
 * hw/i386/pc.c pc_smp_parse() @ v5.2.0: sockets preferred; cores/threads derived from cpus (at least
 * 1), sockets from maxcpus; without cpus, cpus is the product. Its three refusals in order.
 */
function pcSmpParse52(config: MachineConfig, profile: QemuProfile, board: { diesSupported: boolean }): ResolvedTopology {
  const s = config.smp;
  const given = smpGiven(config);
  let { cpus, sockets, cores, threads } = given;
  const { dies } = given;
  const hierarchy = (): string => profile.messages.cpuHierarchy({ sockets, ...printedLevels(board, dies), cores, threads });
  if (cpus === 0 || sockets === 0) {
    cores = cores || 1;
    threads = threads || 1;
    if (cpus === 0) {
      sockets = sockets || 1;
      cpus = cores * threads * dies * sockets;
    } else {
      sockets = Math.floor((s.maxcpus ?? cpus) / (cores * threads * dies));
    }
  } else if (cores === 0) {
    threads = threads || 1;
    cores = Math.floor(cpus / (sockets * dies * threads)) || 1;
  } else if (threads === 0) {
    threads = Math.floor(cpus / (cores * dies * sockets)) || 1;
  } else if (sockets * dies * cores * threads < cpus) {
    throw new QemuRefusal(profile.messages.smpProductBelowCpus(hierarchy(), cpus));
  }
  const maxcpus = s.maxcpus ?? cpus;
  if (maxcpus < cpus) throw new QemuRefusal(profile.messages.smpMaxcpusBelowCpus(hierarchy(), maxcpus, cpus));
  if (sockets * dies * cores * threads !== maxcpus) throw new QemuRefusal(profile.messages.smpProductMismatch(hierarchy(), maxcpus));
  return { cpus, sockets, dies, cores, threads, maxcpus };
}

/** x86_apicid_from_cpu_idx() for the last possible CPU, + 1 (hw/i386/x86.c apic_id_limit). */
export function apicIdLimit(t: ResolvedTopology): number {
  const bits = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));
  const tw = bits(t.threads);
  const cw = bits(t.cores);
  const dw = bits(t.dies);
  const i = t.maxcpus - 1;
  const thread = i % t.threads;
  const core = Math.floor(i / t.threads) % t.cores;
  const die = Math.floor(i / (t.threads * t.cores)) % t.dies;
  const socket = Math.floor(i / (t.threads * t.cores * t.dies));
  return ((socket << (dw + cw + tw)) | (die << (cw + tw)) | (core << tw) | thread) + 1;
}
