// The parser: vl.c's two passes over argv (look every option up, then apply each in order),
// collecting occurrences; the sections (memory.ts, machine.ts, smp-cpu.ts, numa.ts) turn the
// collected occurrences into the parts of a MachineConfig, in the order QEMU applies them.

import type { DeviceConfig, IgnoredOption, MachineConfig } from '../config.ts';
import { qemuOptionNames } from '../profiles/qemu-options.ts';
import { qemuStrtosz, type SizeUnit } from '../qemu-size.ts';
import { UnsupportedOptionError } from '../stages.ts';
import { toolchainOf, type QemuVersion } from '../toolchain.ts';
import { HarnessOwnedOptionError, QemuCmdlineError } from './errors.ts';
import { parseAccel, parseMachine } from './machine.ts';
import { parseMemory, validateMemOccurrence } from './memory.ts';
import { parseBackends, parseNuma } from './numa.ts';
import { BACKEND_ONLY, QEMU_OPTIONS, type Handler } from './options.ts';
import { CMDLINE_PROFILES, type CmdlineProfile } from './profile.ts';
import { BOOT_IGNORED_KEYS, GLOBALS_WITHOUT_MAP_EFFECT } from './properties.ts';
import { joinQemuOpts, splitQemuOpts } from './qemu-opts.ts';
import { parseCpu, parseSmp } from './smp-cpu.ts';

// ---- the parser -------------------------------------------------------------------------------

export interface ParseOptions {
  /** QEMU version whose option parsing to follow (a profile key: '5.2', '7.2', '10.0', '11.1'); default '7.2'. */
  qemuVersion?: string;
}

/** One occurrence of an option in argv. */
export interface Occurrence {
  /** As typed: `-m`, `--m`. */
  opt: string;
  arg: string;
}

export class Parser {
  readonly profile: CmdlineProfile;
  readonly warnings: string[] = [];
  readonly ignored: IgnoredOption[] = [];
  memOccurrences: Occurrence[] = [];
  machineOccurrences: Occurrence[] = [];
  accelOccurrences: Array<Occurrence | null> = []; // null: -enable-kvm
  smpOccurrences: Occurrence[] = [];
  cpu: Occurrence | null = null;
  numaOccurrences: Occurrence[] = [];
  objectOccurrences: Occurrence[] = [];
  bios: string | null = null;
  nodefaults = false;
  vga: string | null = null;
  nographic = false;
  devices: DeviceConfig[] = [];
  drives: Array<Array<readonly [string, string]>> = [];
  netdevs: Array<Array<readonly [string, string]>> = [];
  nics: Array<Array<readonly [string, string]>> = [];
  kernelArgs = '';
  /** `-chardev … id=` values, for the monitors that name one. */
  chardevIds = new Set<string>();
  monitors: Occurrence[] = [];
  /** Machine properties QEMU gives the kvm accelerator only: ignored under TCG, not modelled under KVM. */
  kvmOnly: Array<{ option: string; value: string; why: string }> = [];

  constructor(readonly qemu: QemuVersion) {
    this.profile = CMDLINE_PROFILES[qemu];
  }

  size(text: string, unit: SizeUnit = 'B') {
    return qemuStrtosz(text, this.profile.size, unit);
  }

  run(argv: readonly string[]): MachineConfig {
    this.lookUpOptions(argv);
    for (let i = 0; i < argv.length; i++) {
      const typed = argv[i] ?? '';
      if (!typed.startsWith('-') || typed === '-') {
        throw new UnsupportedOptionError(
          typed,
          'a bare argument is a disk image for QEMU (-hda); not modelled in this spelling: use -drive file=…',
        );
      }
      const name = typed.startsWith('--') ? typed.slice(2) : typed.slice(1);
      const spec = Object.hasOwn(QEMU_OPTIONS, name) ? QEMU_OPTIONS[name] : undefined;
      if (spec === undefined) {
        throw new UnsupportedOptionError(typed, `not modelled (QEMU ${this.qemu} knows it): the model cannot say what it does to the memory map`);
      }
      const arg = spec.arg ? (argv[++i] ?? '') : null;
      const k = spec.kind;
      if ('ignore' in k) {
        this.ignored.push({ option: `-${name}`, value: arg, why: k.ignore });
      } else if ('harness' in k) {
        throw new HarnessOwnedOptionError(typed, k.harness);
      } else if ('unsupported' in k) {
        throw new UnsupportedOptionError(typed, k.unsupported);
      } else {
        this.collect(k.handle, typed, arg ?? '');
      }
    }
    return this.finish();
  }

  /**
   * vl.c's first pass over argv (lookup_opt for every option): an option this release does not
   * know, or one missing its argument, refuses the command line before any option is applied.
   */
  lookUpOptions(argv: readonly string[]): void {
    const names = qemuOptionNames(this.qemu);
    for (let i = 0; i < argv.length; i++) {
      const typed = argv[i] ?? '';
      if (!typed.startsWith('-') || typed === '-') continue; // a disk image: the second pass says more
      const name = typed.startsWith('--') ? typed.slice(2) : typed.slice(1);
      if (!names.known.has(name)) {
        const eq = name.indexOf('=');
        const hint = eq > 0 && names.known.has(name.slice(0, eq)) ? `QEMU takes the value as the next argument: ${typed.slice(0, typed.indexOf('='))} ${name.slice(eq + 1)}` : null;
        throw new QemuCmdlineError(typed, null, `${typed}: invalid option`, hint);
      }
      if (names.withArg.has(name)) {
        if (i + 1 >= argv.length) throw new QemuCmdlineError(typed, null, `${typed}: requires an argument`);
        i++;
      }
    }
  }

  collect(handler: Handler, opt: string, arg: string): void {
    const occ = { opt, arg };
    switch (handler) {
      case 'm':
        validateMemOccurrence(this, occ);
        this.memOccurrences.push(occ);
        return;
      case 'machine':
        this.machineOccurrences.push(occ);
        return;
      case 'accel':
        this.accelOccurrences.push(occ);
        return;
      case 'enable-kvm':
        this.accelOccurrences.push(null);
        return;
      case 'smp':
        this.smpOccurrences.push(occ);
        return;
      case 'cpu':
        this.cpu = occ;
        return;
      case 'numa':
        this.numaOccurrences.push(occ);
        return;
      case 'object':
        this.objectOccurrences.push(this.fromJson(occ, 'qom-type', this.profile.jsonSyntax.object));
        return;
      case 'bios':
        this.bios = arg;
        return;
      case 'nodefaults':
        this.nodefaults = true;
        return;
      case 'vga':
        this.vga = arg;
        return;
      case 'nographic':
        // vl.c: -nographic is `-machine graphics=off` plus `-display none` (and stdio defaults for
        // serial/monitor, which the harness overrides). The graphics=off part reaches the firmware.
        this.nographic = true;
        this.ignored.push({ option: '-nographic', value: null, why: 'its display part (-display none) is host-side; its graphics=off part is kept as a machine property' });
        return;
      case 'boot':
        this.boot(occ);
        return;
      case 'usb':
        this.machineOccurrences.push({ opt, arg: 'usb=on' });
        return;
      case 'global':
        this.global(occ);
        return;
      case 'chardev': {
        const id = splitQemuOpts(arg, 'backend').find((p) => p.key === 'id')?.value;
        if (id !== undefined) this.chardevIds.add(id);
        this.ignored.push({ option: opt, value: arg, why: `character device: ${BACKEND_ONLY}` });
        return;
      }
      case 'mon':
        this.monitors.push(occ);
        this.ignored.push({ option: opt, value: arg, why: 'a monitor on a character device: host-side, adds no guest device' });
        return;
      case 'no-hpet':
        // vl.c: `-machine hpet=off` where it stands (5.2 sets a global that pc_basic_device_init reads).
        this.machineOccurrences.push({ opt, arg: 'hpet=off' });
        return;
      case 'no-acpi':
        // vl.c puts acpi=off into the machine options where it stands: a later -machine acpi= wins.
        this.machineOccurrences.push({ opt, arg: 'acpi=off' });
        return;
      case 'append':
        this.kernelArgs = arg;
        return;
      case 'device':
        this.device(this.fromJson(occ, 'driver', this.profile.jsonSyntax.device));
        return;
      case 'drive':
        this.drives.push(splitQemuOpts(arg, null).map((p) => [p.key, p.value] as const));
        return;
      case 'netdev': {
        const pairs = splitQemuOpts(this.fromJson(occ, 'type', this.profile.jsonSyntax.netdev).arg, 'type').map((p) => [p.key, p.value] as const);
        // net_client_init: every -netdev needs an id (5.2 words it without the option).
        if (!pairs.some(([k]) => k === 'id')) throw new QemuCmdlineError(opt, arg, `${this.profile.netdevErrorsLocated ? `${opt} ${arg}: ` : ''}Parameter 'id' is missing`);
        this.netdevs.push(pairs);
        return;
      }
      case 'nic':
        this.nics.push(splitQemuOpts(arg, 'type').map((p) => [p.key, p.value] as const));
        return;
    }
  }

  /**
   * A JSON argument (`-object '{"qom-type":…}'`, libvirt's spelling for QEMU ≥ 6) read as the
   * QemuOpts text it stands for, so one reader follows; where this release takes no JSON, not modelled.
   */
  fromJson(occ: Occurrence, typeKey: string, accepted: boolean): Occurrence {
    if (!occ.arg.trimStart().startsWith('{')) return occ;
    if (!accepted) {
      // The release reads the JSON text as key=value: `{"qom-type":"x"` is the type, no `id=` follows
      // (object_create: qom-type, then id), and the device "model" is the text up to the first comma.
      if (typeKey === 'qom-type') throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: Parameter 'id' is missing`);
      if (typeKey === 'driver') throw new QemuCmdlineError(occ.opt, occ.arg, `'${splitQemuOpts(occ.arg, 'driver')[0]?.value ?? ''}' is not a valid device model name`);
      throw new UnsupportedOptionError(occ.opt, `JSON syntax: QEMU ${this.qemu} reads ${occ.opt} as key=value; what it makes of a JSON argument is not modelled`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(occ.arg);
    } catch (err) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: not valid JSON (${(err as Error).message}); QEMU's own JSON parser error is not modelled`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UnsupportedOptionError(occ.opt, `${occ.arg}: a JSON argument that is not an object is not modelled`);
    const pairs: Array<readonly [string, string]> = [];
    let type: string | null = null;
    for (const [key, value] of Object.entries(parsed)) {
      let text: string;
      if (typeof value === 'string') text = value;
      else if (typeof value === 'boolean') text = value ? 'on' : 'off';
      else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) text = String(value);
      else if (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) text = value.join(':');
      else throw new UnsupportedOptionError(occ.opt, `${occ.arg}: JSON value of '${key}' (${JSON.stringify(value)}) is not modelled`);
      if (key === typeKey) type = text;
      else pairs.push([key, text]);
    }
    return { opt: occ.opt, arg: joinQemuOpts(null, type === null ? pairs : [[typeKey, type], ...pairs]) };
  }

  /** `-global DRIVER.PROP=VALUE` or `-global driver=D,property=P,value=V` (qdev_prop_register_global). */
  global(occ: Occurrence): void {
    const params = splitQemuOpts(occ.arg, null);
    const named = (k: string) => params.find((p) => p.key === k)?.value;
    let driver = named('driver');
    let property = named('property');
    let value = named('value');
    if (driver === undefined && params.length === 1) {
      const { key, value: v } = params[0]!;
      const dot = key.indexOf('.');
      if (dot > 0) [driver, property, value] = [key.slice(0, dot), key.slice(dot + 1), v];
    }
    const known = driver !== undefined && property !== undefined ? GLOBALS_WITHOUT_MAP_EFFECT[`${driver}.${property}`] : undefined;
    if (known === undefined || value === undefined) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: sets a device property globally; its effect on memory is not modelled (known: ${Object.keys(GLOBALS_WITHOUT_MAP_EFFECT).join(', ')})`);
    }
    this.ignored.push({ option: occ.opt, value: occ.arg, why: known });
  }

  boot(occ: Occurrence): void {
    for (const p of splitQemuOpts(occ.arg, 'order')) {
      if (!BOOT_IGNORED_KEYS.has(p.key)) {
        throw new UnsupportedOptionError(occ.opt, `${occ.arg}: boot property '${p.key}' is not modelled (a splash image is loaded and decoded by SeaBIOS)`);
      }
    }
    this.ignored.push({ option: '-boot', value: occ.arg, why: 'boot order and menu only: the harness boots its kernel directly, SeaBIOS allocates nothing that stays' });
  }

  device(occ: Occurrence): void {
    const params = splitQemuOpts(occ.arg, 'driver');
    const d = params.find((p) => p.key === 'driver');
    if (d === undefined) throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: Parameter 'driver' is missing`);
    if (d.value === 'help' || d.value === '?' || params.some((p) => p.key === 'help')) {
      throw new UnsupportedOptionError(occ.opt, `${occ.arg}: help output is not a configuration`);
    }
    if (d.value === 'isa-debugcon') throw new HarnessOwnedOptionError(occ.opt, '-device isa-debugcon');
    this.devices.push({ driver: d.value, props: params.filter((p) => p !== d).map((p) => [p.key, p.value] as const) });
  }

  sizeOrZero(text: string): bigint {
    const r = this.size(text);
    return r.ok ? r.value : 0n;
  }

  finish(): MachineConfig {
    for (const occ of this.monitors) {
      // monitor_init_opts → qemu_chr_find: the monitor's chardev must have been defined.
      const chardev = splitQemuOpts(occ.arg, 'chardev').find((p) => p.key === 'chardev')?.value;
      if (chardev !== undefined && !this.chardevIds.has(chardev)) throw new QemuCmdlineError(occ.opt, occ.arg, `${occ.opt} ${occ.arg}: chardev "${chardev}" not found`);
    }
    const memory = parseMemory(this);
    const m = parseMachine(this);
    const accel = parseAccel(this, m.accel);
    for (const k of this.kvmOnly) {
      if (accel === 'kvm') throw new UnsupportedOptionError(k.option, k.why);
      this.ignored.push({ option: '-machine', value: k.value, why: 'QEMU applies it to the kvm accelerator only (vl.c qemu_apply_legacy_machine_options); nothing under TCG' });
    }
    const smp = parseSmp(this);
    const cpu = parseCpu(this);
    const backends = parseBackends(this);
    const numa = parseNuma(this, backends);
    if (m.memoryBackend !== null && numa.some((n) => n.memdev !== null)) {
      throw new QemuCmdlineError('-machine', `memory-backend=${m.memoryBackend}`, "'-machine memory-backend' and '-numa memdev' properties are mutually exclusive");
    }
    return {
      machine: m.machine,
      maxRamBelow4g: m.maxRamBelow4g,
      machineProps: m.props,
      accel,
      memory,
      cpu,
      smp,
      backends,
      numa,
      bios: this.bios,
      nodefaults: this.nodefaults,
      devices: this.devices,
      drives: this.drives,
      kernelArgs: this.kernelArgs,
      ignored: this.ignored,
      memoryBackend: m.memoryBackend,
      vga: this.vga,
      netdevs: this.netdevs,
      nics: this.nics,
      warnings: this.warnings,
    };
  }
}

/**
 * Reads a user's qemu-system-x86_64 argv (without the program name) into a MachineConfig, as the
 * given QEMU version would read it. Throws QemuCmdlineError for what QEMU refuses while reading
 * options, UnsupportedOptionError (HarnessOwnedOptionError) for what the model does not cover,
 * UnknownVersionError for a QEMU version without a profile.
 */
export function parseQemuArgs(argv: readonly string[], opts: ParseOptions = {}): MachineConfig {
  const qemu = toolchainOf({ qemu: opts.qemuVersion ?? '7.2' }).qemu;
  return new Parser(qemu).run(argv);
}

// ---- the printer ------------------------------------------------------------------------------
