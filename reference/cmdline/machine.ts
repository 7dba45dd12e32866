// `-machine` (merged properties, machine type, max-ram-below-4g) and `-accel` / `-enable-kvm`.

import type { Accelerator, MachineType } from '../config.ts';
import { UnsupportedOptionError } from '../stages.ts';
import { HarnessOwnedOptionError, QemuCmdlineError } from './errors.ts';
import { UNMODELLED_MACHINES, machineQomType, parseMachineType } from './machine-type.ts';
import type { Occurrence, Parser } from './parser.ts';
import { MAX_RAM_BELOW_4G_LIMIT, MAX_RAM_BELOW_4G_WARN } from './profile.ts';
import { BOOL_MACHINE_PROPS, KNOWN_ACCELS_UNMODELLED, MACHINE_PROPS, MICROVM_ONLY, PC_ONLY, TCG_IGNORED_PROPS } from './properties.ts';
import { splitQemuOpts } from './qemu-opts.ts';

export function parseMachine(parser: Parser): { machine: MachineType; maxRamBelow4g: bigint | null; memoryBackend: string | null; props: Array<readonly [string, string]>; accel: { value: string; occ: Occurrence } | null } {
  // All -machine options merge; the last value of a key wins, in first-seen key order.
  const merged = new Map<string, { value: string; occ: Occurrence }>();
  for (const occ of parser.machineOccurrences) {
    for (const p of splitQemuOpts(occ.arg, 'type')) {
      merged.delete(p.key);
      merged.set(p.key, { value: p.value, occ });
    }
  }
  const typeEntry = merged.get('type');
  const typeName = typeEntry?.value ?? 'pc'; // pc is the default machine of qemu-system-x86_64
  if (typeName === 'help' || typeName === '?') {
    throw new UnsupportedOptionError(typeEntry?.occ.opt ?? '-machine', 'help output is not a configuration');
  }
  if (UNMODELLED_MACHINES.test(typeName)) {
    throw new UnsupportedOptionError(typeEntry?.occ.opt ?? '-machine', `machine type '${typeName}' is not modelled (pc, q35 and their versioned types, and isapc, are; microvm is read but not modelled)`);
  }
  const parsed = parseMachineType(typeName);
  const typedAt = typeEntry !== undefined ? `${typeEntry.occ.opt} ${typeEntry.occ.arg}` : undefined;
  if (parsed === null) {
    const msg = parser.profile.unsupportedMachineNamed
      ? `unsupported machine type: "${typeName}"`
      : parser.profile.machineErrorsLocated && typedAt !== undefined
        ? `${typedAt}: unsupported machine type`
        : 'unsupported machine type';
    throw new QemuCmdlineError(typeEntry?.occ.opt ?? '-machine', typeEntry?.occ.arg ?? null, msg, 'Use -machine help to list supported machines');
  }
  // Kept only where this release's messages quote it (5.2).
  const machine = typedAt !== undefined && parser.profile.machineErrorsLocated ? { ...parsed, typedAt } : parsed;
  let maxRamBelow4g: bigint | null = null;
  let memoryBackend: string | null = null;
  let accel: { value: string; occ: Occurrence } | null = null;
  const props: Array<readonly [string, string]> = [];
  // -nographic's graphics=off comes first; an explicit graphics= given with -machine wins.
  if (parser.nographic && !merged.has('graphics')) props.push(['graphics', 'off']);
  for (const [key, { value, occ }] of merged) {
    if (key === 'type') continue;
    const base = key.split('.')[0] ?? key;
    const notFound = () =>
      new QemuCmdlineError(occ.opt, occ.arg, `Property '${machineQomType(machine, parser.qemu)}.${key}' not found`);
    if ((machine.family === 'microvm' && PC_ONLY.has(base)) || (machine.family !== 'microvm' && MICROVM_ONLY.has(base))) {
      throw notFound();
    }
    if (key === 'accel') {
      accel = { value, occ };
      continue;
    }
    if (key === 'memory-backend') {
      memoryBackend = value;
      continue;
    }
    const bool = Object.hasOwn(BOOL_MACHINE_PROPS, key) ? BOOL_MACHINE_PROPS[key] : undefined;
    if (bool !== undefined) {
      // A QOM bool: only the value away from the default reaches the stage.
      const on = ['on', 'yes', 'true'].includes(value) ? 'on' : ['off', 'no', 'false'].includes(value) ? 'off' : null;
      if (on === null) throw new QemuCmdlineError(occ.opt, occ.arg, `Parameter '${key}' expects 'on' or 'off'`);
      if (on === bool.default) parser.ignored.push({ option: '-machine', value: `${key}=${value}`, why: bool.why });
      else props.push([key, on]);
      continue;
    }
    if (key === 'acpi') {
      // hw/i386/x86.c x86_machine_set_acpi: an OnOffAuto; on and auto are the default.
      if (value === 'on' || value === 'auto') parser.ignored.push({ option: '-machine', value: `acpi=${value}`, why: 'ACPI on is the default' });
      else if (value === 'off') props.push(['acpi', 'off']);
      else throw new UnsupportedOptionError(`${occ.opt} acpi=`, `${value}: only on, off and auto are modelled`);
      continue;
    }
    if (key === 'max-ram-below-4g') {
      maxRamBelow4g = parseMaxRamBelow4g(parser, value, occ);
      continue;
    }
    const cls = Object.hasOwn(MACHINE_PROPS, base) ? MACHINE_PROPS[base] : undefined;
    if (cls === undefined) throw notFound();
    if (cls === 'stage') {
      props.push([key, value]);
    } else if ('noEffect' in cls) {
      props.push([key, value]);
      parser.ignored.push({ option: '-machine', value: `${key}=${value}`, why: cls.noEffect });
    } else if ('ignore' in cls) {
      parser.ignored.push({ option: '-machine', value: `${key}=${value}`, why: cls.ignore });
    } else if ('harness' in cls) {
      throw new HarnessOwnedOptionError(`${occ.opt} ${key}=`, cls.harness);
    } else if ('kvmOnly' in cls) {
      parser.kvmOnly.push({ option: `${occ.opt} ${key}=`, value: `${key}=${value}`, why: cls.kvmOnly });
    } else {
      throw new UnsupportedOptionError(`${occ.opt} ${key}=`, cls.unsupported);
    }
  }
  return { machine, maxRamBelow4g, memoryBackend, props, accel };
}

/** hw/i386/pc.c pc_machine_set_max_ram_below_4g(): a size, bare number = bytes. */
export function parseMaxRamBelow4g(parser: Parser, value: string, occ: Occurrence): bigint {
  const r = parser.size(value);
  parser.warnings.push(...r.warnings);
  if (!r.ok) throw new QemuCmdlineError(occ.opt, occ.arg, "Parameter 'max-ram-below-4g' expects size");
  if (r.value > MAX_RAM_BELOW_4G_LIMIT) {
    throw new QemuCmdlineError(occ.opt, occ.arg, `Machine option 'max-ram-below-4g=${r.value}' expects size less than or equal to 4G`);
  }
  if (r.value < MAX_RAM_BELOW_4G_WARN) {
    parser.warnings.push(`warning: Only ${r.value} bytes of RAM below the 4GiB boundary,BIOS may not work with less than 1MiB`);
  }
  return r.value;
}

export function parseAccel(parser: Parser, machineAccel: { value: string; occ: Occurrence } | null): Accelerator {
  const chosen: Array<{ name: string; opt: string; arg: string | null }> = [];
  for (const occ of parser.accelOccurrences) {
    if (occ === null) {
      chosen.push({ name: 'kvm', opt: '-enable-kvm', arg: null });
      continue;
    }
    const params = splitQemuOpts(occ.arg, 'accel');
    const a = params.find((p) => p.key === 'accel');
    if (a === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: Parameter 'accel' is missing`);
    checkAccelName(a.value, occ.opt, occ.arg, true);
    for (const p of params) {
      if (p === a) continue;
      if (a.value === 'tcg' && TCG_IGNORED_PROPS.has(p.key)) {
        parser.ignored.push({ option: '-accel', value: `${p.key}=${p.value}`, why: 'TCG translation cache / threading only' });
      } else {
        throw new UnsupportedOptionError(occ.opt, `${occ.arg}: accelerator property '${p.key}' is not modelled`);
      }
    }
    chosen.push({ name: a.value, opt: occ.opt, arg: occ.arg });
  }
  if (machineAccel !== null) {
    if (chosen.length > 0) {
      throw new QemuCmdlineError(chosen[0]?.opt ?? '-accel', chosen[0]?.arg ?? null, 'The -accel and "-machine accel=" options are incompatible');
    }
    const { value, occ } = machineAccel;
    if (value.includes(':')) {
      throw new UnsupportedOptionError(`${occ.opt} accel=`, `${value}: a fallback list depends on the host; name one accelerator`);
    }
    checkAccelName(value, occ.opt, occ.arg, false);
    return value as Accelerator;
  }
  const distinct = [...new Set(chosen.map((c) => c.name))];
  if (distinct.length > 1) {
    throw new UnsupportedOptionError(chosen[1]?.opt ?? '-accel', `several accelerators (${distinct.join(', ')}) make QEMU fall back by host capability; name one`);
  }
  // vl.c configure_accelerators(): with no choice, "tcg:kvm" → TCG.
  return (distinct[0] ?? 'tcg') as Accelerator;
}

export function checkAccelName(name: string, opt: string, arg: string, located: boolean): void {
  if (name === 'tcg' || name === 'kvm') return;
  if (KNOWN_ACCELS_UNMODELLED.has(name)) throw new UnsupportedOptionError(opt, `accelerator '${name}' is not modelled (tcg and kvm are)`);
  if (name === 'help') throw new UnsupportedOptionError(opt, 'help output is not a configuration');
  throw new QemuCmdlineError(opt, arg, located ? `${opt} ${arg}: invalid accelerator ${name}` : `invalid accelerator ${name}`);
}
