// `-object memory-backend-*` (and host-side objects, ignored) and `-numa node`.

import type { MemoryBackend, NumaNode } from '../config.ts';
import { UnsupportedOptionError } from '../stages.ts';
import { QemuCmdlineError } from './errors.ts';
import { strtou64Base0, toSafeNumber } from './numbers.ts';
import type { Parser } from './parser.ts';
import { BACKEND_KINDS, BACKEND_PROPS, HOST_SIDE_OBJECTS } from './properties.ts';
import { splitQemuOpts } from './qemu-opts.ts';

export function parseBackends(parser: Parser): MemoryBackend[] {
  const out: MemoryBackend[] = [];
  for (const occ of parser.objectOccurrences) {
    const where = `${occ.opt} ${occ.arg}`;
    const params = splitQemuOpts(occ.arg, 'qom-type');
    const type = params.find((p) => p.key === 'qom-type')?.value;
    if (type === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'qom-type' is missing`);
    const kind = BACKEND_KINDS.find((k) => k === type);
    if (kind === undefined && HOST_SIDE_OBJECTS.has(type)) {
      if (!params.some((p) => p.key === 'id')) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'id' is missing`);
      parser.ignored.push({ option: occ.opt, value: occ.arg, why: `${type} is a host-side object: no guest device` });
      continue;
    }
    if (kind === undefined) {
      if (type === 'help') throw new UnsupportedOptionError(occ.opt, 'help output is not a configuration');
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: object type '${type}' is not modelled (memory-backend-ram/-file/-memfd are)`);
    }
    const id = params.find((p) => p.key === 'id')?.value;
    if (id === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'id' is missing`);
    const sizeText = params.find((p) => p.key === 'size')?.value;
    if (sizeText === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'size' is missing`);
    const props: Array<readonly [string, string]> = [];
    for (const p of params) {
      if (p.key === 'qom-type' || p.key === 'id' || p.key === 'size') continue;
      if (!BACKEND_PROPS[kind].has(p.key)) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Invalid parameter '${p.key}'`);
      props.push([p.key, p.value]);
    }
    if (kind === 'memory-backend-file' && !props.some(([k]) => k === 'mem-path')) {
      throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'mem-path' is missing`);
    }
    const r = parser.size(sizeText);
    parser.warnings.push(...r.warnings.map((w) => `${where}: ${w}`));
    if (!r.ok) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Parameter 'size' expects a size value`);
    if (out.some((b) => b.id === id)) throw new QemuCmdlineError(occ.opt, occ.arg, `${where}: Duplicate ID '${id}' for object`);
    if (r.value === 0n) throw new QemuCmdlineError(occ.opt, occ.arg, `property 'size' of ${kind} doesn't take value '0'`);
    out.push({ id, kind, size: r.value, props });
  }
  return out;
}

export function parseNuma(parser: Parser, backends: readonly MemoryBackend[]): NumaNode[] {
  const out: NumaNode[] = [];
  for (const occ of parser.numaOccurrences) {
    const where = `${occ.opt} ${occ.arg}`;
    const refuse = (msg: string) => new QemuCmdlineError(occ.opt, occ.arg, `${where}: ${msg}`);
    const params = splitQemuOpts(occ.arg, 'type');
    const type = params.find((p) => p.key === 'type')?.value;
    if (type === undefined) throw refuse("Parameter 'type' is missing");
    if (['dist', 'cpu', 'hmat-lb', 'hmat-cache'].includes(type)) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: -numa ${type} is not modelled (-numa node is)`);
    }
    if (type !== 'node') throw refuse(`Parameter 'type' does not accept value '${type}'`);
    const node: NumaNode = { nodeid: null, memdev: null, mem: null, cpus: null };
    for (const p of params) {
      switch (p.key) {
        case 'type':
          break;
        case 'nodeid': {
          const v = strtou64Base0(p.value);
          if (v === null) throw refuse("Parameter 'nodeid' expects a uint64 value");
          node.nodeid = toSafeNumber(v, occ.opt, 'nodeid');
          break;
        }
        case 'cpus':
          if (!/^[0-9]+(-[0-9]+)?$/.test(p.value)) throw refuse("Parameter 'cpus' expects a uint64 value or range");
          if (node.cpus !== null) throw new UnsupportedOptionError(occ.opt, `${occ.arg}: several cpus= ranges in one node are not modelled`);
          node.cpus = p.value;
          break;
        case 'mem': {
          if (!parser.size(p.value).ok) throw refuse("Parameter 'mem' expects a size value");
          // hw/core/numa.c parse_numa(): "Fix up legacy suffix-less format" → qemu_strtosz_MiB.
          const r = parser.size(p.value, 'M');
          // (On ERANGE QEMU ignores the failure and keeps the byte value.)
          node.mem = r.ok ? r.value : parser.sizeOrZero(p.value);
          break;
        }
        case 'memdev':
          node.memdev = p.value;
          break;
        case 'initiator':
          throw new UnsupportedOptionError(occ.opt, `${occ.arg}: NUMA initiators (ACPI HMAT) are not modelled`);
        default:
          throw refuse(`Invalid parameter '${p.key}'`);
      }
    }
    const haveMem = out.some((n) => n.mem !== null);
    const haveMemdev = out.some((n) => n.memdev !== null);
    if ((node.mem !== null && (node.memdev !== null || haveMemdev)) || (node.memdev !== null && haveMem)) {
      throw refuse('numa configuration should use either mem= or memdev=,mixing both is not allowed');
    }
    if (node.memdev !== null && !backends.some((b) => b.id === node.memdev)) throw refuse(`memdev=${node.memdev} is ambiguous`);
    node.spelled = occ.arg;
    out.push(node);
  }
  return out;
}
