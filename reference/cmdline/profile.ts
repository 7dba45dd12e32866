// Per-QEMU-version behaviour of option parsing, and the constants the parser checks sizes
// against. Sources are named per field (QEMU's softmmu/vl.c, qemu-options.hx, hw/core/machine.c).

import { KiB, MiB, FOUR_GIB } from '../address.ts';
import { QEMU_LAYOUT } from '../profiles/qemu.ts';
import { QEMU_SIZE_SYNTAX, type QemuSizeSyntax } from '../qemu-size.ts';
import type { QemuVersion } from '../toolchain.ts';

export interface CmdlineProfile {
  readonly size: QemuSizeSyntax;
  /**
   * How `-m` is applied: 5.2 softmmu/vl.c set_memory_options() (suffix-less value × MiB, its own
   * maxmem messages) or 7.2+ vl.c parse_memory_options() + hw/core/machine.c machine_set_mem()
   * (suffix-less value gets an `M` appended and is parsed again as property `memory.size`).
   */
  readonly memApply: 'vl-set-memory-options' | 'machine-set-mem';
  /** `-smp` parsed by QemuOpts (5.2: per-option messages) or keyval into machine `smp.*` (6.1+). */
  readonly smpParser: 'qemuopts' | 'keyval';
  /**
   * A topology value of 0: 5.2 treats it as "not given"; 6.2 … 8.2 warn and do the same;
   * 9.0 removed it (docs/about/removed-features.rst, "-smp parameter=0").
   */
  readonly smpZero: 'unset' | 'warn' | 'error';
  /** vl.c select_machine() names the unknown type (`unsupported machine type: "<type>"`): 9.1+. */
  readonly unsupportedMachineNamed: boolean;
  /** 5.2 puts the option's location in front (`-M pc-i440fx-1.3: unsupported machine type`), observed; 7.2 does not. */
  readonly machineErrorsLocated: boolean;
  /** Which options take a JSON argument: -object from 6.0, -device from 6.2, -netdev from 7.1 (qemu-options.hx). */
  readonly jsonSyntax: { readonly object: boolean; readonly device: boolean; readonly netdev: boolean };
  /** net_client_init's errors name the -netdev they are about (7.2+; 5.2 prints the bare message). */
  readonly netdevErrorsLocated: boolean;
  /** `-smp` levels besides sockets/dies/cores/threads this release parses: clusters (7.0), books and drawers (8.2), modules (9.0). */
  readonly extraTopologyLevels: readonly string[];
}

export const CMDLINE_PROFILES: Readonly<Record<QemuVersion, CmdlineProfile>> = {
  '5.2': { size: QEMU_SIZE_SYNTAX['5.2'], machineErrorsLocated: true, memApply: 'vl-set-memory-options', smpParser: 'qemuopts', smpZero: 'unset', unsupportedMachineNamed: false, jsonSyntax: { object: false, device: false, netdev: false }, netdevErrorsLocated: false, extraTopologyLevels: [] },
  '7.2': { size: QEMU_SIZE_SYNTAX['7.2'], machineErrorsLocated: false, memApply: 'machine-set-mem', smpParser: 'keyval', smpZero: 'warn', unsupportedMachineNamed: false, jsonSyntax: { object: true, device: true, netdev: true }, netdevErrorsLocated: true, extraTopologyLevels: ['clusters'] },
  '10.0': { size: QEMU_SIZE_SYNTAX['10.0'], machineErrorsLocated: false, memApply: 'machine-set-mem', smpParser: 'keyval', smpZero: 'error', unsupportedMachineNamed: true, jsonSyntax: { object: true, device: true, netdev: true }, netdevErrorsLocated: true, extraTopologyLevels: ['clusters', 'books', 'drawers', 'modules'] },
  '11.1': { size: QEMU_SIZE_SYNTAX['11.1'], machineErrorsLocated: false, memApply: 'machine-set-mem', smpParser: 'keyval', smpZero: 'error', unsupportedMachineNamed: true, jsonSyntax: { object: true, device: true, netdev: true }, netdevErrorsLocated: true, extraTopologyLevels: ['clusters', 'books', 'drawers', 'modules'] },
};

/** hw/core/machine.c machine_class_init(): default_ram_size, what `-m 0` or no `-m` means. */
export const DEFAULT_RAM_SIZE = QEMU_LAYOUT.DEFAULT_RAM;
/** hw/core/machine.c machine_set_mem() / 5.2 set_memory_options(): QEMU_ALIGN_UP(size, 8192). */
export const RAM_SIZE_ALIGN = 8n * KiB;
/** hw/i386/pc.c pc_machine_set_max_ram_below_4g(): the largest value accepted. */
export const MAX_RAM_BELOW_4G_LIMIT = FOUR_GIB;
/** …and the value below which it warns (0 included: verified on 7.2.22). */
export const MAX_RAM_BELOW_4G_WARN = MiB;

export const SIZE_HINT =
  'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.';
