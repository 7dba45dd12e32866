// The printer: the canonical argv of a MachineConfig. parseQemuArgs(toQemuArgs(c)) equals c, and
// toQemuArgs(parseQemuArgs(a)) is a fixed point after one round (suites/reference/cmdline.test.ts).

import type { MachineConfig, NumaNode } from '../config.ts';
import { formatQemuSize } from '../qemu-size.ts';
import { joinQemuOpts } from './qemu-opts.ts';

/** A -numa node's argument as printed by toQemuArgs (canonical, not as typed). */
export function numaOptArg(n: NumaNode): string {
  const pairs: Array<readonly [string, string]> = [];
  if (n.nodeid !== null) pairs.push(['nodeid', String(n.nodeid)]);
  if (n.cpus !== null) pairs.push(['cpus', n.cpus]);
  if (n.memdev !== null) pairs.push(['memdev', n.memdev]);
  // mem= is read in MiB when suffix-less: always print a suffix.
  if (n.mem !== null) pairs.push(['mem', n.mem === 0n ? '0B' : formatQemuSize(n.mem).replace(/([0-9])$/, '$1B')]);
  return joinQemuOpts('node', pairs);
}

/**
 * The canonical argv of a config (no program name, none of the harness's own options). Options
 * recorded in `ignored` are not printed: they cannot change the memory map, and some (display,
 * monitor) would fight the harness's own.
 */
export function toQemuArgs(config: MachineConfig): string[] {
  const args: string[] = [];
  const machinePairs: Array<readonly [string, string]> = [];
  if (config.maxRamBelow4g !== null) machinePairs.push(['max-ram-below-4g', formatQemuSize(config.maxRamBelow4g)]);
  if (config.memoryBackend != null) machinePairs.push(['memory-backend', config.memoryBackend]);
  machinePairs.push(...config.machineProps);
  args.push('-machine', joinQemuOpts(config.machine.name, machinePairs));
  args.push('-accel', config.accel);

  const mem = config.memory;
  const memPairs: Array<readonly [string, string]> = [];
  if (mem.slots !== null) memPairs.push(['slots', String(mem.slots)]);
  if (mem.maxmem !== null) memPairs.push(['maxmem', formatQemuSize(mem.maxmem)]);
  const spelled = mem.spelled ?? (mem.size === null ? null : formatQemuSize(mem.size));
  if (spelled !== null || memPairs.length > 0) {
    args.push('-m', spelled === null || spelled.includes('=') ? joinQemuOpts(null, spelled === null ? memPairs : [['size', spelled], ...memPairs]) : joinQemuOpts(spelled, memPairs));
  }

  if (config.cpu.model !== null) {
    args.push('-cpu', [config.cpu.model, ...config.cpu.props.map(([k, v]) => `${k}=${v}`)].join(','));
  }
  const smpPairs = (['cpus', 'sockets', 'dies', 'cores', 'threads', 'maxcpus'] as const)
    .filter((k) => config.smp[k] !== null)
    .map((k) => [k, String(config.smp[k])] as const);
  if (smpPairs.length > 0) args.push('-smp', joinQemuOpts(null, smpPairs));

  for (const b of config.backends) {
    args.push('-object', joinQemuOpts(b.kind, [['id', b.id], ['size', formatQemuSize(b.size)], ...b.props]));
  }
  for (const n of config.numa) args.push('-numa', n.spelled ?? numaOptArg(n));
  if (config.bios !== null) args.push('-bios', config.bios);
  if (config.nodefaults) args.push('-nodefaults');
  if (config.vga != null) args.push('-vga', config.vga);
  for (const d of config.devices) args.push('-device', joinQemuOpts(d.driver, d.props));
  for (const d of config.drives) args.push('-drive', joinQemuOpts(null, d));
  for (const n of config.netdevs ?? []) args.push('-netdev', joinQemuOpts(null, n));
  for (const n of config.nics ?? []) args.push('-nic', joinQemuOpts(null, n));
  if (config.kernelArgs !== '') args.push('-append', config.kernelArgs);
  return args;
}
