// The explore generator (harness/explore/generate.ts), the cell: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import type { Toolchain } from '../../../reference/toolchain.ts';
import { rngFor } from '../prng.ts';
import { WIDE_DRAW_SHARE, FALLBACK_ROAD_SHARE, FALLBACK_ROAD_SEABIOS, FALLBACK_ROADS, type FallbackRoad, ROAD_STREAM, QBOOT_SHARE, MICROVM_SHARE, FIRMWARE_ROAD_STREAM, type ExploreCell } from './options.ts';
import { type Draft, qemuSize } from './draft.ts';
import { chooseMachine } from './machine.ts';
import { chooseRam, chooseMrb, chooseHotplug } from './memory.ts';
import { chooseSmp, chooseCpu } from './cpus.ts';
import { chooseNuma } from './numa.ts';
import { chooseDevices } from './devices.ts';
import { chooseAppend } from './append.ts';
import { chooseWide } from './wide.ts';
import { applyInvalid } from './invalids.ts';

/** Nothing microvm does not have or the model refuses there: devices, NUMA, hotplug, max-ram-below-4g, -nodefaults, machine options. */
export function isPlainDraft(d: Draft): boolean {
  return d.extra.length === 0 && d.numa.length === 0 && d.objects.length === 0 && d.slots === null && d.maxmem === null && d.mrb === null && !d.nodefaults && d.machineProps.length === 0;
}

export function toArgv(d: Draft): string[] {
  const argv: string[] = [];
  const mprops: string[] = [];
  if (d.mrbSpelled !== null) mprops.push(`max-ram-below-4g=${d.mrbSpelled}`);
  for (const [k, v] of d.machineProps) mprops.push(`${k}=${v}`);
  argv.push(d.machineOpt, [d.machineName, ...mprops].join(','));
  const mem: string[] = [];
  if (d.ramSpelled !== null) mem.push(d.ramSpelled);
  if (d.slots !== null) mem.push(`slots=${d.slots}`);
  if (d.maxmem !== null) mem.push(`maxmem=${d.maxmem}`);
  if (mem.length > 0) argv.push('-m', mem.join(','));
  if (d.smp !== null) argv.push('-smp', d.smp);
  if (d.cpu !== null) argv.push('-cpu', [d.cpu, ...d.cpuProps].join(','));
  for (const o of d.objects) argv.push('-object', o);
  for (const n of d.numa) argv.push('-numa', n);
  if (d.nodefaults) argv.push('-nodefaults');
  if (d.bios !== null) argv.push('-bios', d.bios);
  for (const e of d.extra) argv.push(...e);
  return argv;
}

/** Cell ids: the CELL_ID alphabet of harness/matrix/schema.ts, at most 80 characters. */
export function cellId(index: number, d: Draft): string {
  const ramTag = d.ramSpelled === null && d.ram === null ? 'mdefault' : `m${d.ramSpelled ?? qemuSize(d.ram ?? 0n)}`;
  const mem = [
    ...(d.slots !== null ? [`slots${d.slots}`] : []),
    ...(d.maxmem !== null ? [`max${d.maxmem}`] : []),
    ...(d.numa.length > 0 ? [`numa${d.numa.length}`] : []),
  ];
  const tags = [d.machineName, ramTag, ...mem, ...d.idTags];
  const clean = tags.map((t) => t.replace(/[^A-Za-z0-9._+-]+/g, '_')).join('-');
  return `${String(index).padStart(3, '0')}-${clean}`.slice(0, 80).replace(/[-_.]+$/, '');
}

/** One cell of run `seed` on `toolchain`. */
export function generateCell(seed: number, index: number, toolchain: Toolchain, fallbackRoads = true): ExploreCell {
  const r = rngFor(seed, index);
  const d: Draft = {
    family: 'pc',
    machineName: 'pc',
    mv: [0, 0],
    machineOpt: '-M',
    machineProps: [],
    ram: null,
    ramSpelled: null,
    slots: null,
    maxmem: null,
    mrb: null,
    mrbSpelled: null,
    smp: null,
    cpus: 1,
    cpu: null,
    cpuProps: [],
    objects: [],
    numa: [],
    nodefaults: false,
    bios: null,
    extra: [],
    kernel: [],
    timeout: null,
    tags: new Set(),
    idTags: [],
    invalid: null,
    diskCount: 0,
    highUnknown: false,
  };
  const wide = r.chance(WIDE_DRAW_SHARE);
  chooseMachine(r, toolchain, d);
  chooseRam(r, d);
  chooseMrb(r, d);
  chooseHotplug(r, d);
  chooseSmp(r, d);
  chooseCpu(r, toolchain, d);
  chooseNuma(r, d);
  if (r.chance(0.12)) {
    d.nodefaults = true;
    d.tags.add('nodefaults');
    d.idTags.push('nodefaults');
  }
  if (r.chance(0.14)) {
    d.bios = r.pick(['bios.bin', 'bios-256k.bin']);
    d.tags.add('bios');
    d.tags.add(`bios:${d.bios}`);
    d.idTags.push(d.bios === 'bios.bin' ? 'bios128k' : 'bios256k');
  }
  chooseDevices(r, toolchain, d);
  if (wide) chooseWide(r, toolchain, d);
  chooseAppend(r, d);
  if (r.chance(0.1)) applyInvalid(r, toolchain, d);
  let road: FallbackRoad | undefined;
  if (fallbackRoads && d.invalid === null && d.bios === null && !d.tags.has('wide') && (d.machineName === 'pc' || d.machineName === 'q35') && FALLBACK_ROAD_SEABIOS.includes(toolchain.seabios)) {
    const rr = rngFor(seed ^ ROAD_STREAM, index);
    if (rr.chance(FALLBACK_ROAD_SHARE)) {
      road = rr.pick(['e801', '88h'] as const);
      d.tags.add(`firmware:${road}`);
      d.idTags.push(road);
    }
  }

  if (fallbackRoads && road === undefined && d.invalid === null && d.bios === null && !d.tags.has('wide') && (d.machineName === 'pc' || d.machineName === 'q35')) {
    const fr = rngFor(seed ^ FIRMWARE_ROAD_STREAM, index);
    if (fr.chance(QBOOT_SHARE)) {
      d.bios = 'qboot.rom';
      d.tags.add('firmware:qboot');
      d.idTags.push('qboot');
    } else if (fr.chance(MICROVM_SHARE) && isPlainDraft(d)) {
      d.machineName = 'microvm';
      d.machineProps = [['acpi', 'off']];
      if (fr.chance(0.3)) d.machineProps.push(['rtc', 'off']);
      if (fr.chance(0.3)) d.machineProps.push(['x-option-roms', 'off']);
      if (fr.chance(0.2)) d.machineProps.push(['pcie', 'on']);
      d.tags.add('machine:microvm');
      d.idTags.push(...d.machineProps.slice(1).map(([k, v]) => `${k}${v}`));
    }
  }

  const families = [...d.tags].sort();
  const note = [
    d.invalid !== null ? `deliberately out of range (${d.invalid}): QEMU should refuse it, or the model says what happens` : 'meant to boot',
    ...(d.tags.has('wide') ? ['drawn from the whole option space (the model may not model it)'] : []),
    ...(road !== undefined ? [`SeaBIOS built so that INT 15h ${FALLBACK_ROADS[road].map((s) => s.toUpperCase()).join(' and ')} fail${FALLBACK_ROADS[road].length === 1 ? 's' : ''}: the kernel's ${road === 'e801' ? 'E801' : '88h'} road`] : []),
    `families: ${families.join(' ')}`,
  ].join('; ');
  return {
    id: cellId(index, d),
    qemu: toArgv(d),
    append: d.kernel.length > 0 ? d.kernel.join(' ') : null,
    timeoutSeconds: d.timeout,
    families,
    invalid: d.invalid,
    note,
    ...(road !== undefined ? { road } : {}),
  };
}
