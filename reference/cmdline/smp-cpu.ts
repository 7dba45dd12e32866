// `-smp` (QemuOpts in 5.2, keyval into machine smp.* from 6.1) and `-cpu` (model and properties).

import type { CpuConfig, SmpConfig } from '../config.ts';
import { UnsupportedOptionError } from '../stages.ts';
import { QemuCmdlineError } from './errors.ts';
import { strtou64Base0, toSafeNumber } from './numbers.ts';
import type { Parser } from './parser.ts';
import { splitQemuOpts } from './qemu-opts.ts';

export function parseSmp(parser: Parser): SmpConfig {
  const keys = ['cpus', 'sockets', 'dies', 'cores', 'threads', 'maxcpus'] as const;
  const out: SmpConfig = { cpus: null, sockets: null, dies: null, cores: null, threads: null, maxcpus: null };
  const keyval = parser.profile.smpParser === 'keyval';
  for (const occ of parser.smpOccurrences) {
    const where = `${occ.opt} ${occ.arg}`;
    for (const p of splitQemuOpts(occ.arg, 'cpus')) {
      if (parser.profile.extraTopologyLevels.includes(p.key)) {
        // One of a level is no level: hw/core/machine-smp.c treats it as the default.
        if (strtou64Base0(p.value) !== 1n) throw new UnsupportedOptionError(occ.opt, `${occ.arg}: topology level '${p.key}' is not modelled (only ${p.key}=1)`);
        parser.ignored.push({ option: occ.opt, value: `${p.key}=${p.value}`, why: 'a topology level of one changes nothing' });
        continue;
      }
      const key = keys.find((k) => k === p.key);
      if (key === undefined) {
        throw new QemuCmdlineError(occ.opt, occ.arg, keyval ? `Parameter 'smp.${p.key}' is unexpected` : `${where}: Invalid parameter '${p.key}'`);
      }
      const v = strtou64Base0(p.value);
      if (v === null) {
        throw new QemuCmdlineError(occ.opt, occ.arg, keyval ? `Parameter 'smp.${key}' expects integer` : `${where}: Parameter '${key}' expects a number`);
      }
      if (v === 0n) {
        if (parser.profile.smpZero === 'error') {
          throw new QemuCmdlineError(occ.opt, occ.arg, 'Invalid CPU topology: CPU topology parameters must be greater than zero');
        }
        if (parser.profile.smpZero === 'warn') {
          const w = 'warning: Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero';
          if (!parser.warnings.includes(w)) parser.warnings.push(w);
        }
        out[key] = null; // 0 means "not given" where QEMU still accepts it
      } else {
        out[key] = toSafeNumber(v, occ.opt, `smp ${key}`);
      }
    }
  }
  return out;
}

export function parseCpu(parser: Parser): CpuConfig {
  if (parser.cpu === null) return { model: null, props: [] };
  const { opt, arg } = parser.cpu;
  // vl.c parse_cpu_option(): model up to the first comma; target/i386/cpu.c
  // x86_cpu_parse_featurestr(): comma-separated (no ",," escape, empty items skipped),
  // `+f`/`-f` (feature on/off), `k=v`, bare `f` (= on); '_' in names means '-'.
  const comma = arg.indexOf(',');
  const model = comma < 0 ? arg : arg.slice(0, comma);
  if (model === 'help' || model === '?') throw new UnsupportedOptionError(opt, 'help output is not a configuration');
  if (model === '') throw new QemuCmdlineError(opt, arg, `unable to find CPU model '${model}'`);
  const props: Array<readonly [string, string]> = [];
  const items = comma < 0 ? [] : arg.slice(comma + 1).split(',').filter((s) => s !== '');
  for (const item of items) {
    let key: string;
    let value: string;
    if (item.startsWith('+') || item.startsWith('-')) {
      key = item.slice(1);
      value = item.startsWith('+') ? 'on' : 'off';
    } else if (item.includes('=')) {
      key = item.slice(0, item.indexOf('='));
      value = item.slice(item.indexOf('=') + 1);
    } else {
      key = item;
      value = 'on';
    }
    key = key.replaceAll('_', '-');
    if ((key === 'phys-bits' || key === 'host-phys-bits-limit') && strtou64Base0(value) === null) {
      throw new QemuCmdlineError(opt, arg, `can't apply global ${model}-x86_64-cpu.${key}=${value}: Parameter '${key}' expects uint64`);
    }
    props.push([key, value]);
  }
  return { model, props };
}
