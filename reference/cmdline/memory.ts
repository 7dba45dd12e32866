// `-m`: QemuOpts validation of each occurrence, then the merged size, slots and maxmem as the
// QEMU version applies them (5.2 set_memory_options, 7.2+ machine_set_mem).

import { MiB, U64_MAX, alignUp } from '../address.ts';
import type { MemoryConfig } from '../config.ts';
import { QemuCmdlineError } from './errors.ts';
import { toSafeNumber, strtou64Base0 } from './numbers.ts';
import type { Occurrence, Parser } from './parser.ts';
import { DEFAULT_RAM_SIZE, RAM_SIZE_ALIGN, SIZE_HINT } from './profile.ts';
import { splitQemuOpts } from './qemu-opts.ts';

/** QemuOpts validation of one `-m` argument (vl.c qemu_mem_opts: size, slots, maxmem). */
export function validateMemOccurrence(parser: Parser, occ: Occurrence): void {
  const where = `${occ.opt} ${occ.arg}`;
  for (const p of splitQemuOpts(occ.arg, 'size')) {
    if (p.key === 'size' || p.key === 'maxmem') {
      const r = parser.size(p.value);
      for (const w of r.warnings) parser.warnings.push(`${where}: ${w}`);
      if (!r.ok && r.error === 'ERANGE') {
        throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Value '${p.value}' is out of range for parameter '${p.key}'`);
      }
      if (!r.ok) {
        throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter '${p.key}' expects a non-negative number below 2^64`, SIZE_HINT);
      }
    } else if (p.key === 'slots') {
      if (strtou64Base0(p.value) === null) {
        throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'slots' expects a number`);
      }
    } else {
      throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Invalid parameter '${p.key}'`);
    }
  }
}

export function parseMemory(parser: Parser): MemoryConfig {
  // QemuOpts merges every -m into one list; the last value of each key wins.
  const last = new Map<string, { value: string; occ: Occurrence }>();
  for (const occ of parser.memOccurrences) {
    for (const p of splitQemuOpts(occ.arg, 'size')) last.set(p.key, { value: p.value, occ });
  }
  const sizeText = last.get('size');
  const maxText = last.get('maxmem');
  const slotsText = last.get('slots');
  const opt = sizeText?.occ.opt ?? maxText?.occ.opt ?? slotsText?.occ.opt ?? '-m';
  const argOf = (x: { occ: Occurrence } | undefined) => x?.occ.arg ?? null;
  const ok = (r: ReturnType<Parser['size']>): bigint => (r.ok ? r.value : 0n);
  const lastDigit = (s: string) => /[0-9]$/.test(s);
  const v52 = parser.profile.memApply === 'vl-set-memory-options';
  // 5.2 softmmu/vl.c set_memory_options() reports at the merged -m QemuOpts' location: the first -m
  // as typed (observed on 5.2: `-m 1G -m slots=2` → "-m 1G: invalid -m option value: …").
  const firstM = parser.memOccurrences[0];
  const loc52 = v52 && firstM !== undefined ? `${firstM.opt} ${firstM.arg}: ` : '';

  let size: bigint | null = null;
  if (sizeText !== undefined) {
    const bytes = ok(parser.size(sizeText.value));
    if (bytes !== 0n) {
      if (parser.profile.memApply === 'vl-set-memory-options') {
        // 5.2: "Fix up legacy suffix-less format": sz *= MiB with an overflow check.
        const sz = lastDigit(sizeText.value) ? bytes * MiB : bytes;
        if (sz > U64_MAX) throw new QemuCmdlineError(opt, argOf(sizeText), `${loc52}too large 'size' option value`);
        size = sz;
      } else {
        // 7.2+: a suffix-less value gets "M" appended and is parsed again as memory.size.
        const text = lastDigit(sizeText.value) ? `${sizeText.value}M` : sizeText.value;
        const r = parser.size(text);
        parser.warnings.push(...r.warnings);
        if (!r.ok) throw new QemuCmdlineError(opt, argOf(sizeText), "Parameter 'memory.size' expects size");
        size = r.value;
      }
      size = alignUp(size, RAM_SIZE_ALIGN);
      if (size > U64_MAX) throw new QemuCmdlineError(opt, argOf(sizeText), `${loc52}ram size too large`);
    }
  }
  const ramSize = size ?? DEFAULT_RAM_SIZE;

  let maxmem: bigint | null = null;
  if (maxText !== undefined) {
    const r = parser.size(maxText.value);
    if (parser.profile.memApply === 'machine-set-mem') parser.warnings.push(...r.warnings); // parsed again as max-size
    maxmem = ok(r);
  }
  const slots = slotsText === undefined ? null : strtou64Base0(slotsText.value) ?? 0n;
  const hx = (v: bigint) => v.toString(16);
  if (maxmem !== null) {
    const prefix = v52 ? `${loc52}invalid value of -m option maxmem: ` : 'invalid value of maxmem: ';
    if (maxmem < ramSize) {
      throw new QemuCmdlineError(opt, argOf(maxText), `${prefix}maximum memory size (0x${hx(maxmem)}) must be at least the initial memory size (0x${hx(ramSize)})`);
    }
    if (slots !== null && slots !== 0n && maxmem === ramSize) {
      throw new QemuCmdlineError(opt, argOf(maxText), `${prefix}memory slots were specified but maximum memory size (0x${hx(maxmem)}) is equal to the initial memory size (0x${hx(ramSize)})`);
    }
  } else if (slots !== null) {
    throw new QemuCmdlineError(opt, argOf(slotsText), v52 ? `${loc52}invalid -m option value: missing 'maxmem' option` : 'slots specified but no max-size');
  }
  return {
    size,
    spelled: sizeText?.value ?? null,
    slots: slots === null ? null : toSafeNumber(slots, opt, 'slots'),
    maxmem,
  };
}
