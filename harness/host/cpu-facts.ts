// The host facts a KVM prediction takes (CPU vendor, physical address bits, LA57;
// harness/host-facts.ts), read on a given machine through the Host: its /proc/cpuinfo, and on
// this machine the cpuid device too (another host's is not read: /proc/cpuinfo's width stands).
// The command line's --host-vendor/--host-phys-bits/--host-la57 win over what is read.

import { CPUINFO_PATH, HostFactsError, readCpuidPhysBits, resolveHostFacts, type HostFactsReport, type HostOverrides } from '../host-facts.ts';
import { isThisMachine } from './local.ts';
import type { Host } from './types.ts';

export async function hostFactsOn(host: Host, overrides: HostOverrides = {}): Promise<HostFactsReport> {
  let cpuinfo: string | null = null;
  let unreadable: string | null = null;
  try {
    cpuinfo = (await host.readFile(CPUINFO_PATH)).toString('utf8');
  } catch (e) {
    unreadable = `${host.label}: cannot read ${CPUINFO_PATH}: ${(e as Error).message}`;
  }
  return resolveHostFacts(overrides, {
    // Read only when an override does not stand in for it.
    readCpuinfo: () => {
      if (cpuinfo === null) throw new HostFactsError(unreadable ?? `${host.label}: cannot read ${CPUINFO_PATH}`);
      return cpuinfo;
    },
    cpuidPhysBits: () => (isThisMachine(host) ? readCpuidPhysBits() : null),
  });
}
