// Option values shared by several commands, and their help texts: the one module commands share
// for flags (a command never imports another command). Each is parsed before anything slow
// (provisioning, boots, writing files) so bad input is refused at once, naming the option. Only
// types come from the harness here, so `predict` still loads no QEMU runner.

import { toolchainOf, type Toolchain } from '../../reference/toolchain.ts';
import type { CaptureScope } from '../capture.ts';
import type { HostOverrides } from '../host-facts.ts';

/**
 * The longest boot deadline accepted: a day. Node's timers hold at most 2^31−1 ms (24.8 days);
 * past that a timer fires at once, so a huge --timeout used to fail every boot immediately.
 */
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

/** `--timeout SECONDS` → milliseconds; a number > 0 and at most MAX_TIMEOUT_SECONDS. */
export function parseTimeout(text: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s <= 0 || s > MAX_TIMEOUT_SECONDS) {
    throw Object.assign(new Error(`--timeout ${JSON.stringify(text)}: expected seconds > 0 and at most ${MAX_TIMEOUT_SECONDS} (a day)`), { exitCode: 2 });
  }
  return Math.round(s * 1000);
}

/** `--jobs N`: concurrent boots, a whole number ≥ 1. */
export function parseJobs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw Object.assign(new Error(`--jobs ${JSON.stringify(text)}: expected a whole number ≥ 1`), { exitCode: 2 });
  return n;
}

export interface VersionFlags {
  qemu?: string;
  seabios?: string;
  kernel?: string;
}

/** --qemu/--seabios/--kernel replace every cell's toolchains; unset flags keep the baseline's. */
export function toolchainOverride(flags: VersionFlags): Toolchain | undefined {
  if (flags.qemu === undefined && flags.seabios === undefined && flags.kernel === undefined) return undefined;
  return toolchainOf(flags);
}

export function timestampDir(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** `--host-vendor` / `--host-phys-bits`, shared by predict, check and run. */
export interface HostFlags {
  hostVendor?: string;
  hostPhysBits?: string;
  hostLa57?: string;
}

export function hostOverridesOf(flags: HostFlags): HostOverrides {
  return { ...(flags.hostVendor !== undefined ? { vendor: flags.hostVendor } : {}), ...(flags.hostPhysBits !== undefined ? { physBits: flags.hostPhysBits } : {}),
    ...(flags.hostLa57 !== undefined ? { la57: flags.hostLa57 } : {}),
  };
}

export const HOST_VENDOR_HELP = 'KVM host CPU vendor to predict for (AuthenticAMD, GenuineIntel, HygonGenuine; default: the machine the cell boots on, this one or its --host)';
export const HOST_PHYS_BITS_HELP = 'KVM host physical address bits to predict for (default: the machine the cell boots on, this one or its --host)';
export const EXPECT_HELP =
  'what the build is declared to change (YAML: firmware:/qemu: lists of add/remove; int15: { fails: [e820, e801] }); the model applies it, and a cell passes only when the machine shows exactly that';
export const HOST_LA57_HELP = 'KVM host CPU has LA57, 5-level paging: on|off (default: /proc/cpuinfo flags)';

/** `--scope auto|full|firmware` (capture, check). */
export function parseScope(text: string | undefined): CaptureScope | 'auto' {
  if (text === undefined) return 'auto';
  if (text === 'auto' || text === 'full' || text === 'firmware') return text;
  throw Object.assign(new Error(`--scope ${JSON.stringify(text)}: expected auto, full or firmware`), { exitCode: 2 });
}

export const SCOPE_HELP =
  'how much of the boot to observe: full (every layer), firmware (stop once SeaBIOS has printed its e820 map; kernel layer not observed), ' +
  'auto (full, or firmware when the KVM probe says KVM here runs only the firmware; default)';

/**
 * `--only REGEX`: the items one of whose keys matches (run: matrix/id; explore: id or key;
 * drift: matrix/id). None is a usage error, before anything slow starts.
 */
export function selectOnly<T>(only: string, items: readonly T[], keysOf: (item: T) => readonly string[]): T[] {
  const re = new RegExp(only);
  const kept = items.filter((item) => keysOf(item).some((k) => re.test(k)));
  if (kept.length === 0) throw Object.assign(new Error(`--only ${JSON.stringify(only)} matches no cell`), { exitCode: 2 });
  return kept;
}
