// Which model profile a detected component version is predicted with: exact, the nearest earlier
// one (extrapolated), or the user's override. Pure.

import { KERNEL_VERSIONS, QEMU_VERSIONS, SEABIOS_VERSIONS } from '../../reference/toolchain.ts';
import { UserComponentError } from '../user-toolchain-flags.ts';

export type Component = 'qemu' | 'seabios' | 'kernel';

const NAMES: Record<Component, string> = { qemu: 'QEMU', seabios: 'SeaBIOS', kernel: 'Linux' };
const KNOWN: Record<Component, readonly string[]> = { qemu: QEMU_VERSIONS, seabios: SEABIOS_VERSIONS, kernel: KERNEL_VERSIONS };
/** How many leading numbers of a detected version name a profile: QEMU 11.1.3 → 11.1, SeaBIOS 1.16.3 → 1.16.3, Linux 7.2.13 → 7.2. */
const PROFILE_PARTS: Record<Component, number> = { qemu: 2, seabios: 3, kernel: 2 };

export function numbers(version: string): number[] {
  return (/^\d+(?:\.\d+)*/.exec(version)?.[0] ?? '').split('.').filter((s) => s !== '').map(Number);
}

/** Numeric comparison of dotted versions over their first `parts` numbers (missing numbers are 0). */
export function compareVersions(a: string, b: string, parts = 3): number {
  const x = numbers(a);
  const y = numbers(b);
  for (let i = 0; i < parts; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export type ChoiceHow = 'exact' | 'extrapolated' | 'override' | 'toolchain';

export interface ProfileChoice {
  component: Component;
  /** The version detected from the user's component; null when the component was not given. */
  detected: string | null;
  /** The profile the model predicts with. */
  profile: string;
  how: ChoiceHow;
  /** e.g. "QEMU 11.2.0: predicted with the 11.1 profile (extrapolated: no 11.2 profile, the nearest earlier one)". */
  text: string;
}

/**
 * The profile for a detected version: its own, or the nearest earlier one the model knows
 * (extrapolated). `override` (--profile-qemu V …) wins. Throws when the version is older than every
 * profile and no override is given.
 */
export function chooseProfile(component: Component, detected: string | null, override?: string, fallback?: string): ProfileChoice {
  const known = KNOWN[component];
  const parts = PROFILE_PARTS[component];
  const flag = `--profile-${component}`;
  if (override !== undefined) {
    if (!known.includes(override)) {
      throw new UserComponentError(flag, null, `${JSON.stringify(override)} is not a profile the model has`, `use one of ${known.join(', ')}`);
    }
    const what = detected !== null ? `${NAMES[component]} ${detected}` : `${NAMES[component]} (the toolchain's ${fallback ?? '?'})`;
    return { component, detected, profile: override, how: 'override', text: `${what}: predicted with the ${override} profile (${flag})` };
  }
  if (detected === null) {
    if (fallback === undefined) throw new Error(`internal: no ${component} version and no fallback`);
    return { component, detected, profile: fallback, how: 'toolchain', text: `${NAMES[component]} ${fallback}: provisioned, its own profile` };
  }
  const exact = known.find((v) => compareVersions(v, detected, parts) === 0);
  if (exact !== undefined) return { component, detected, profile: exact, how: 'exact', text: `${NAMES[component]} ${detected}: predicted with the ${exact} profile` };
  const earlier = known.filter((v) => compareVersions(v, detected, parts) < 0).sort((a, b) => compareVersions(a, b, parts));
  const nearest = earlier.at(-1);
  if (nearest === undefined) {
    throw new UserComponentError(
      `${NAMES[component]} ${detected}`,
      null,
      `older than every ${NAMES[component]} profile of the model (${known.join(', ')}), so there is no earlier profile to extrapolate from`,
      `pass ${flag} V to predict with one of them anyway`,
    );
  }
  const own = numbers(detected).slice(0, parts).join('.');
  return {
    component,
    detected,
    profile: nearest,
    how: 'extrapolated',
    text: `${NAMES[component]} ${detected}: predicted with the ${nearest} profile (extrapolated: the model has no ${own} profile; ${nearest} is the nearest earlier one)`,
  };
}
