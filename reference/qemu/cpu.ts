// The guest CPU: model, vendor, physical address bits, long mode, LA57 and the features the later
// stages read (target/i386/cpu.c x86_cpu_realizefn and the model table, per QEMU version).

import type { MachineConfig } from '../config.ts';
import { cpuModelBase, qemuCpuModelNames } from '../profiles/qemu-cpu-models.ts';
import { CPU_MODELS, CPU_MODELS_WITH_BMI1_BMI2, MACHINE_COMPAT, machineVersionAtMost, QEMU_LAYOUT as L, type MachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, UnsupportedOptionError } from '../stages.ts';
import type { HostFacts } from './options.ts';
import { isOn, prop } from './options.ts';

export interface ResolvedCpu {
  model: string;
  vendor: string;
  longMode: boolean;
  physBits: number;
  /** CPUID.(7,0):ECX.LA57 as the guest sees it (5-level paging possible). */
  la57: boolean;
  /**
   * CPUID reports the extended leaves (xlevel ≥ 0x80000001). False for TCG `max` with
   * full-cpuid-auto-level=off: LM is in QEMU's feature word but the guest cannot read it.
   */
  extendedLeaves: boolean;
  /** CPUID.(7,0):EBX shows both BMI1 and BMI2 to the guest. */
  bmi1Bmi2: boolean;
}

/**
 * Does the guest see BMI1 and BMI2: the model's definition, then the `-cpu` flags. In
 * x86_cpu_parse_featurestr `-f` beats `+f` whatever the order, which on/off pairs cannot show
 * once parsed, so a feature named twice with different values is not modelled.
 */
function guestBmi1Bmi2(config: MachineConfig, model: string): boolean {
  const flag = (name: string): boolean => {
    // The distinct values given, as a loop: most command lines name neither flag.
    let value: string | undefined;
    let conflicting = false;
    for (const [k, v] of config.cpu.props) {
      if (k !== name) continue;
      const normalised = isOn(v) ? 'on' : ['off', 'no', 'false'].includes(v) ? 'off' : v;
      if (value === undefined) value = normalised;
      else if (value !== normalised) conflicting = true;
    }
    if (conflicting) throw new UnsupportedOptionError('-cpu', `${name} turned both on and off: which wins depends on the spelling (+/-, =), not modelled`);
    if (value === undefined) return CPU_MODELS_WITH_BMI1_BMI2.has(cpuModelBase(model));
    if (value !== 'on' && value !== 'off') throw new UnsupportedOptionError('-cpu', `${name}=${value}: only on and off are modelled`);
    return value === 'on';
  };
  return flag('bmi1') && flag('bmi2');
}

/**
 * resolveCpu in QEMU's order: the model lookup (vl.c parse_cpu_option) refuses at once; what CPU
 * realize refuses (board init) comes back as `realizeRefusal`, for the stage to raise after
 * machine_run_board_init's own checks (hw/core/machine.c: the memory backend,
 * numa_complete_configuration), as docs/model/explore-findings.md#m28 says.
 */
export function resolveCpuDeferred(
  ...args: Parameters<typeof resolveCpu>
): { cpu: ResolvedCpu; realizeRefusal: null } | { cpu: null; realizeRefusal: QemuRefusal } {
  try {
    return { cpu: resolveCpu(...args), realizeRefusal: null };
  } catch (e) {
    if (!(e instanceof QemuRefusal) || e.qemuMessage.startsWith('unable to find CPU model')) throw e;
    return { cpu: null, realizeRefusal: e };
  }
}

/** `defaultModel`: the machine's default_cpu_type (TARGET_DEFAULT_CPU_TYPE `qemu64` unless the class sets one: isapc `486`). */
export function resolveCpu(
  config: MachineConfig,
  profile: QemuProfile,
  host: HostFacts | undefined,
  defaultModel = 'qemu64',
  machine: MachineVersion | null = null,
): ResolvedCpu {
  const model = config.cpu.model ?? defaultModel;
  // vl.c parse_cpu_option() → cpu_class_by_name(): a model this release does not define.
  if (!qemuCpuModelNames(profile.version).has(model)) throw new QemuRefusal(`unable to find CPU model '${model}'`);
  const facts = Object.hasOwn(CPU_MODELS, cpuModelBase(model)) ? CPU_MODELS[cpuModelBase(model)] : undefined;
  if (facts === undefined) throw new UnsupportedOptionError('-cpu', `model ${JSON.stringify(model)} is not in the model's CPU table`);
  const kvm = config.accel === 'kvm';
  if (kvm && host === undefined) {
    throw new UnsupportedOptionError('-accel kvm', 'the guest CPU takes the host vendor and phys-bits under KVM: pass the host facts');
  }
  if (model === 'host' && !kvm) throw new QemuRefusal(profile.messages.cpuHostNeedsKvm);
  // Under KVM every named model gets the host's vendor (host_cpu_instance_init); vendor= overrides.
  let vendor: string = kvm && host !== undefined ? host.cpuVendor : facts.vendor;
  const vendorProp = prop(config.cpu.props, 'vendor');
  if (vendorProp !== undefined) vendor = vendorProp;

  const userBits = prop(config.cpu.props, 'phys-bits');
  const hostBitsProp = prop(config.cpu.props, 'host-phys-bits');
  const hostPhysBits =
    kvm && (isOn(hostBitsProp) || (hostBitsProp === undefined && (model === 'host' || model === 'max') && profile.hostMaxUseHostPhysBits));
  let physBits: number;
  if (!facts.longMode) {
    if (userBits !== undefined && Number(userBits) !== 0) throw new QemuRefusal('phys-bits is not user-configurable in 32 bit');
    // x86_cpu_realizefn: 36 bits with PSE36; from 8.2 (the series that also brought the 'v8.2' bound
    // check) with PSE36 or PAE. Observed: -cpu qemu32 -m 1G,slots=1,maxmem=80G boots on 7.2 (32 bits,
    // no bound check at ≤ 32) and is refused with "phys-bits too low (36)" on 10.0 and 11.1.
    const pae = profile.physBitsBoundCheck === 'v8.2' && (facts.pae ?? facts.pse36);
    physBits = facts.pse36 || pae ? 36 : 32;
  } else if (hostPhysBits && host !== undefined) {
    // host_cpu_adjust_phys_bits() (5.2: x86_cpu_realizefn): the host's width, capped by a non-zero
    // host-phys-bits-limit (a uint8 property); the 32..52 check then applies to the result.
    const limitProp = prop(config.cpu.props, 'host-phys-bits-limit');
    const limit = limitProp === undefined ? 0 : Number(limitProp);
    if (!Number.isInteger(limit) || limit < 0 || limit > 255) throw new UnsupportedOptionError('-cpu host-phys-bits-limit', `not a uint8: ${limitProp}`);
    physBits = limit !== 0 && host.physBits > limit ? limit : host.physBits;
    checkPhysBitsRange(physBits, profile);
  } else if (userBits !== undefined && Number(userBits) !== 0) {
    const n = Number(userBits);
    if (!Number.isInteger(n)) throw new UnsupportedOptionError('-cpu phys-bits', `not an integer: ${userBits}`);
    if (!kvm && profile.tcgPhysBits === 'fixed40' && n !== L.TCG_PHYS_BITS) throw new QemuRefusal('TCG only supports phys-bits=40');
    checkPhysBitsRange(n, profile);
    physBits = n;
  } else {
    physBits = L.TCG_PHYS_BITS;
  }
  const noAutoLevel = maxWithoutAutoLevel(config, model, machine);
  const la57 = facts.longMode && guestLa57(config, model, facts.la57, profile, kvm ? host : undefined);
  return {
    model,
    vendor,
    longMode: facts.longMode,
    physBits,
    la57,
    extendedLeaves: !noAutoLevel || prop(config.cpu.props, 'xlevel') !== undefined,
    bmi1Bmi2: guestBmi1Bmi2(config, model),
  };
}

/**
 * Highest phys-bits beyond 52 seen to boot where QEMU has no upper bound (11.1.3: `qemu64,phys-bits=53`,
 * the guest then reports 53 bits). Wider ones are not modelled: CPUID 0x80000008 EAX[7:0] and the
 * TCG/KVM paging masks are not traced past it.
 */
const PHYS_BITS_UNBOUNDED_VERIFIED_MAX = 53;

/** x86_cpu_realizefn(): phys-bits under long mode against the release's bounds (QemuProfile.physBitsRange). */
function checkPhysBitsRange(bits: number, profile: QemuProfile): void {
  const { min, max } = profile.physBitsRange;
  if (bits < min || (max !== null && bits > max)) throw new QemuRefusal(profile.messages.physBitsOutOfRange(bits));
  if (max === null && bits > PHYS_BITS_UNBOUNDED_VERIFIED_MAX) {
    throw new UnsupportedOptionError('-cpu phys-bits', `${bits}: QEMU ${profile.version} accepts it (no upper bound), but only up to ${PHYS_BITS_UNBOUNDED_VERIFIED_MAX} has been seen to boot`);
  }
}

/**
 * TCG `max` under full-cpuid-auto-level=off (PC_COMPAT_2_7, or the property): x86_cpu_expand_features()
 * then takes cpuid_xlevel from cpuid_min_xlevel, which only KVM's host_cpu_max_instance_init() fills
 * in; under TCG it stays 0, so leaf 0x80000001 (and with it LM) is not reported. The basic level is
 * not 0 (`max,full-cpuid-auto-level=off,xlevel=0x80000008` boots 5-level on 7.2: leaf 7 is seen).
 */
function maxWithoutAutoLevel(config: MachineConfig, model: string, machine: MachineVersion | null): boolean {
  if (model !== 'max' || config.accel === 'kvm') return false;
  const auto = prop(config.cpu.props, 'full-cpuid-auto-level');
  if (auto !== undefined) return !isOn(auto);
  return machine !== null && machineVersionAtMost(machine, MACHINE_COMPAT.fullCpuidAutoLevelOffUpTo);
}

/**
 * CPUID.(7,0):ECX.LA57 of the guest: the model's definition (or `la57=`/`+la57`/`-la57`), kept only
 * if the accelerator implements it — TCG per release (QemuProfile.tcgLa57; otherwise filtered with a
 * "TCG doesn't support requested feature" warning), KVM per host. x86_cpu_parse_featurestr() applies
 * `-f` after `+f` after `f=on|off` whatever their order; the parsed config no longer tells them apart,
 * so conflicting la57 settings are refused rather than guessed.
 */
function guestLa57(
  config: MachineConfig,
  model: string,
  modelLa57: boolean,
  profile: QemuProfile,
  kvmHost: HostFacts | undefined,
): boolean {
  const given = config.cpu.props.filter(([k]) => k === 'la57').map(([, v]) => isOn(v));
  if (given.some((v) => v !== given[0])) {
    throw new UnsupportedOptionError('-cpu la57', 'conflicting la57 settings: QEMU ranks -la57 over +la57 over la57=, which the parsed command line does not keep');
  }
  const wanted = given.length > 0 ? given[0]! : modelLa57;
  if (!wanted) return false;
  // The decompressor (arch/x86/boot/compressed/pgtable_64.c) also needs CPUID level ≥ 7 to see it.
  const level = prop(config.cpu.props, 'level');
  if (level !== undefined && Number(level) < 7) return false;
  if (config.accel !== 'kvm') return profile.tcgLa57;
  if (kvmHost?.la57 === undefined) {
    throw new UnsupportedOptionError('-accel kvm', `whether the ${model} guest CPU gets LA57 (5-level paging) depends on the host CPU: pass the host's la57 fact`);
  }
  return kvmHost.la57;
}
