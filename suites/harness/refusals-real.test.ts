// Every "QEMU refuses" claim of the model, and a few "it boots" claims, checked against the real
// QEMU binaries of all four modelled releases (5.2, 7.2, 10.0, 11.1), plus the option table of
// reference/profiles/qemu-options.ts checked name by name.
//
// For each command line and release: claimFor() (reference/claim.ts) says what QEMU does, then the
// release's binary runs it with `-display none -nodefaults -S -accel tcg -qmp stdio` and stdin
// `qmp_capabilities` + `quit`:
//   - a 'refuses' claim holds when QEMU exits non-zero and its first stderr line(s), after
//     `warning:` lines, are `qemu-system-x86_64: ` + the claimed message. Whether the QMP greeting
//     came first is not looked at: the -qmp monitor exists before machine init, and QEMU may
//     greet before refusing there (7.2 does with stdout a pipe, as here, not with a file);
//   - a 'boots' claim holds when QEMU prints its QMP greeting and exits 0 on `quit` (it got
//     through machine init and into its main loop);
//   - 'not-modelled' claims are only counted.
// Where the model and QEMU disagree the test does not weaken: the disagreement is listed in
// KNOWN_DISAGREEMENTS (known model defects), and the test fails when the set of disagreements
// changes in either direction (one fixed, or a new one).
//
// The harness options go BEFORE the command line under test, not after it: a line that ends in an
// option wanting an argument (`-M pc -name`) must stay the last word QEMU reads, and the line's own
// -display wins over ours. `-accel tcg` is left out when the line picks an accelerator itself
// (`-accel`, `-enable-kvm`, `-machine accel=`): two would be a fallback list, or a conflict.
//
// Binaries come from provisioning (harness/provision resolveToolchain, which provisionToolchain and
// so realDeps use), one toolchain per release: the Debian suite that ships it (SUITE_COMPONENTS).
// Another suite's QEMU is its wrapper script, which appends the suite's `-L` firmware dirs after
// the caller's arguments; a line that ends in an option wanting an argument would take that `-L`
// as its argument, so such lines run the suite's QEMU the way the wrapper does, through its loader
// (SuiteQemu.loader/libraryPath/qemu/dataDirs, "for callers that exec directly"), `-L` first. A
// release that cannot be provisioned FAILS its tests, saying how to provision it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { createLimiter } from '../../harness/matrix/runner.ts';
import { resolveToolchain, SUITE_COMPONENTS, suiteOf, type ResolvedToolchain } from '../../harness/provision/index.ts';
import { claimFor, type Claim } from '../../reference/claim.ts';
import { qemuOptionNames } from '../../reference/profiles/qemu-options.ts';
import { QEMU_VERSIONS, type QemuVersion, type Toolchain } from '../../reference/toolchain.ts';
import { MACHINE_REFUSALS_7_2, MEMORY_REFUSALS_7_2, NUMA_BACKEND_REFUSALS_7_2 } from '../reference/refusal-cases.ts';

/** Stands for this release's scratch directory in a command line (files QEMU may write or look for). */
const TMP = '@TMP@';
const PREFIX = 'qemu-system-x86_64: ';
const QMP_INPUT = '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n';
const RUN_TIMEOUT_MS = 10_000;
/** The four releases share one limiter of 2: a release's deadline covers the queue in front of it (229 s for 5.2 at load 35). */
const RELEASE_TEST_TIMEOUT_MS = 15 * 60_000;
/** QEMU runs at a time, over all releases. */
const limit = createLimiter(2);

// ---- (a) the option table ----------------------------------------------------------------------

/**
 * The argument each option with one gets: a value the option accepts on its own where there is
 * one, so the claim on the line means something; files QEMU would read are absent, files it
 * writes go to the scratch directory. A new option in the table needs an entry here.
 */
const OPTION_ARG: Readonly<Record<string, string>> = {
  D: `${TMP}/qemu.log`,
  L: TMP,
  M: 'pc',
  accel: 'tcg',
  acpitable: 'sig=TEST',
  action: 'reboot=shutdown',
  // fd 3 is a pipe in every QEMU this test starts (see runQemu).
  'add-fd': 'fd=3,set=2',
  append: 'console=ttyS0',
  audio: 'none',
  audiodev: 'none,id=snd0',
  bios: 'bios-256k.bin',
  blockdev: 'driver=null-co,node-name=null0',
  boot: 'order=c',
  cdrom: `${TMP}/missing.iso`,
  chardev: 'null,id=char0',
  chroot: TMP,
  compat: 'deprecated-input=accept',
  cpu: 'qemu64',
  d: 'guest_errors',
  debugcon: 'none',
  device: 'e1000',
  dfilter: '0x0..0x100',
  display: 'none',
  drive: 'if=none,id=drive0',
  dtb: `${TMP}/missing.dtb`,
  'dump-vmstate': `${TMP}/vmstate.json`,
  echr: '0x14',
  fda: `${TMP}/missing.img`,
  fdb: `${TMP}/missing.img`,
  fsdev: `local,id=fsdev0,path=${TMP},security_model=none`,
  fw_cfg: 'name=opt/e820.test,string=1',
  g: '800x600x32',
  gdb: 'none',
  global: 'PIIX4_PM.disable_s3=1',
  hda: `${TMP}/missing.img`,
  hdb: `${TMP}/missing.img`,
  hdc: `${TMP}/missing.img`,
  hdd: `${TMP}/missing.img`,
  icount: 'shift=auto',
  incoming: 'defer',
  initrd: `${TMP}/missing.initrd`,
  iscsi: 'initiator-name=iqn.2001-04.com.example:e820',
  k: 'en-us',
  kernel: `${TMP}/missing.bzImage`,
  loadvm: 'snap0',
  m: '256M',
  machine: 'pc',
  'mem-path': TMP,
  mon: 'chardev=char0',
  monitor: 'none',
  msg: 'timestamp=on',
  mtdblock: `${TMP}/missing.img`,
  name: 'vm1',
  net: 'none',
  netdev: 'user,id=net0',
  nic: 'none',
  numa: 'node',
  object: 'iothread,id=iothread0',
  'option-rom': `${TMP}/missing.rom`,
  overcommit: 'mem-lock=off',
  parallel: 'none',
  pflash: `${TMP}/missing.img`,
  pidfile: `${TMP}/qemu.pid`,
  plugin: `file=${TMP}/missing.so`,
  'prom-env': 'auto-boot?=false',
  qmp: 'null',
  'qmp-pretty': 'null',
  readconfig: `${TMP}/missing.cfg`,
  realtime: 'mlock=off',
  rotate: '90',
  rtc: 'base=utc',
  'run-with': 'async-teardown=off',
  runas: 'nobody',
  sandbox: 'off',
  sd: `${TMP}/missing.img`,
  seed: '1',
  'semihosting-config': 'enable=on',
  serial: 'none',
  set: 'drive.drive0.readonly=on',
  shim: `${TMP}/missing.efi`,
  smbios: 'type=0,vendor=e820',
  smp: '2',
  soundhw: 'pcspk',
  spice: `unix=on,addr=${TMP}/spice.sock,disable-ticketing=on`,
  'tb-size': '64',
  tpmdev: 'emulator,id=tpm0,chardev=chrtpm',
  trace: 'enable=e820_no_such_event',
  usbdevice: 'tablet',
  uuid: '6e3bd6a4-1b0c-4b8a-9c3e-1f4ad5a1c6d2',
  vga: 'std',
  virtfs: `local,path=${TMP},mount_tag=tag0,security_model=none`,
  vnc: 'none',
  watchdog: 'i6300esb',
  'watchdog-action': 'none',
  writeconfig: `${TMP}/written.cfg`,
  'xen-domid': '1',
};

/** Names no release knows (one of each form). */
const NONSENSE_OPTIONS = ['frobnicate', 'e820-no-such-option'] as const;

interface OptionProbe {
  name: string;
  argv: string[];
  /** Per release: does its table know the name, and does it take an argument there. */
  known: Record<QemuVersion, boolean>;
  withArg: boolean;
}

function optionProbes(): OptionProbe[] {
  const names = new Set<string>(NONSENSE_OPTIONS);
  for (const v of QEMU_VERSIONS) for (const n of qemuOptionNames(v).known) names.add(n);
  return [...names].sort().map((name) => {
    const withArgIn = QEMU_VERSIONS.filter((v) => qemuOptionNames(v).withArg.has(name));
    const flagIn = QEMU_VERSIONS.filter((v) => qemuOptionNames(v).known.has(name) && !qemuOptionNames(v).withArg.has(name));
    if (withArgIn.length > 0 && flagIn.length > 0) throw new Error(`-${name} takes an argument in ${withArgIn.join(', ')} but not in ${flagIn.join(', ')}: probe it per release`);
    const withArg = withArgIn.length > 0;
    const arg = OPTION_ARG[name];
    if (withArg && arg === undefined) throw new Error(`-${name} takes an argument: give it one in OPTION_ARG (suites/harness/refusals-real.test.ts)`);
    const known = Object.fromEntries(QEMU_VERSIONS.map((v) => [v, qemuOptionNames(v).known.has(name)])) as Record<QemuVersion, boolean>;
    return { name, argv: withArg ? [`-${name}`, arg!] : [`-${name}`], known, withArg };
  });
}

// ---- (b) refusals of the reference tests, (c) lines that boot ----------------------------------

const words = (line: string) => line.split(' ');

/**
 * The refusal cases of the reference tests, as command lines (their messages are the model's to
 * claim). Every line runs on every release: what the model claims there is checked, whatever it is.
 */
const REFUSAL_LINES: string[][] = [
  // suites/reference/refusal-cases.ts (cmdline.test.ts's tables)
  ...MEMORY_REFUSALS_7_2.map(([argv]) => argv),
  ...MACHINE_REFUSALS_7_2.map(([argv]) => argv),
  ...NUMA_BACKEND_REFUSALS_7_2.map(([argv]) => argv),
  // suites/reference/cmdline.test.ts, single cases
  ...[
    '-m 0x10',
    '-m 0x10k',
    '-m 1G -m slots=2',
    '-m 20000000000000',
    '-M q35,foo=1',
    '-accel foo',
    '-M q35 -accel kvm -machine accel=tcg',
    '-smp 0',
    '-smp banana',
    '-smp 2,foo=3',
    '-cpu qemu64,phys-bits=banana',
    '-object memory-backend-ram,id=m0,size=1G -M pc,memory-backend=m0 -numa node,memdev=m0',
    '-usb -M pc -no-acpi',
    '-no-hpet',
    '-compat deprecated-output=hide',
    '-M pc -name',
    '-smp 2,clusters=1',
    '-object {"qom-type":"memory-backend-ram","id":"m","size":1048576}',
  ].map(words),
  // suites/reference/refusal-order.test.ts
  ...[
    '-M q35 -m 1G -numa node,mem=1G',
    '-M pc -m 1G -numa node,mem=512M -numa node,mem=512',
    '-M q35 -m 1G -numa node,mem=1G -cpu qemu64,phys-bits=33',
    '-M q35 -m 1G -cpu qemu64,phys-bits=33',
    '-M pc -m 1G,slots=257,maxmem=2G -cpu qemu64,phys-bits=36',
    '-M pc -m 1G,slots=257,maxmem=2G',
    '-M pc -m 1G,slots=2,maxmem=2097153K',
    '-M pc-i440fx-2.4 -m 1G -device vmgenid',
    '-M pc-q35-2.4 -m 1G -device vmgenid',
    '-M pc-i440fx-2.0 -m 1G -device vmgenid',
    '-M pc-i440fx-2.3 -m 1G',
    '-M pc-i440fx-2.4 -m 1G',
    '-M pc-i440fx-1.3 -m 1G',
  ].map(words),
  // suites/reference/topology-refusals.test.ts
  ...[
    '-M pc -m 1G -smp 4,maxcpus=2',
    '-M pc -m 1G -smp cpus=4,sockets=2,cores=1,threads=1',
    '-M pc -m 1G -smp 3,sockets=2,cores=2,maxcpus=8',
    '-M pc -m 1G -smp maxcpus=4',
    '-M pc -m 1G -smp 2,sockets=2,cores=2,maxcpus=8',
    '-M pc -m 1G -cpu max,phys-bits=31',
    '-M pc -m 1G -cpu qemu64,phys-bits=53',
    '-M pc -m 1G -smp 2,dies=2 -cpu Skylake-Server',
  ].map(words),
  // suites/reference/qemu-stage.test.ts (its configurations, spelled as command lines)
  ...[
    '-M pc -m 2G,slots=2,maxmem=2G',
    '-M pc -m 1G -cpu qemu64,phys-bits=30',
    '-M pc -m 1G -cpu qemu32,phys-bits=36',
    '-M q35 -m 4G,slots=1,maxmem=1100G',
    '-M pc-i440fx-2.0 -m 1G,slots=2,maxmem=2G',
    '-M pc -m 1G -cpu qemu64,phys-bits=39',
    '-M pc-1.0 -m 1G',
    '-M pc-i440fx-5.1 -m 1G',
    '-M pc-q35-4.0.1 -m 1G',
    '-M pc,smbios-entry-point-type=64 -m 1G',
  ].map(words),
  // suites/reference/isapc.test.ts
  ...[
    '-M isapc -smp 2',
    '-M isapc -smp 1,maxcpus=2',
    '-M isapc -m 1G,slots=2,maxmem=4G',
    '-M isapc -device e1000',
    '-M isapc -device virtio-blk-pci',
    '-M isapc -drive if=virtio,file=/dev/null,format=raw',
    '-M isapc -m 3585M',
    '-M isapc -m 4G',
    '-M isapc,max-ram-below-4g=1G -m 2G',
    '-M isapc -m 4G -cpu pentium2',
    '-M isapc -m 4G,slots=1,maxmem=8G',
    '-M isapc -m 3670024K',
  ].map(words),
  // suites/reference/cpu-features.test.ts
  ...['-M pc -m 1G -cpu EPYC-Milan', '-M pc -m 1G -cpu SapphireRapids', '-M pc -m 1G -cpu EPYC-Genoa'].map(words),
];

/** Lines the model says boot (on the releases whose syntax they use; elsewhere what it claims is checked). */
const BOOT_LINES: string[][] = [
  ...[
    '-M pc -m 1G',
    '-M q35 -m 2G -smp 2',
    '-machine pc,kernel_irqchip=split -accel tcg',
    '-smp 2,dies=1,clusters=1',
    '-M pc -m 4G',
    '-M pc,max-ram-below-4g=2G -m 4G',
    '-M pc -m 2G,slots=2,maxmem=8G',
    '-M pc -m 1G -smp 8,sockets=8',
    '-M q35 -m 1G -nodefaults',
    '-M pc -m 1G -cpu Skylake-Client',
    '-machine pc,usb=off,dump-guest-core=off,acpi=on -m 1G',
    '-M pc -m 1G -audiodev id=audio1,driver=none -compat deprecated-input=reject -no-hpet',
    '-M pc,max-ram-below-4g=4G -m 3968M',
  ].map(words),
  ['-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":1073741824}', '-machine', 'pc,memory-backend=pc.ram', '-m', '1024'],
];

/**
 * Values of options the model accepts as unable to change the memory map, without reading them:
 * it claims these boot whatever the value. A few, one per kind of QEMU parser, to keep the class
 * in view; `-compat deprecated-input=deny` is the value of cmdline.test.ts's libvirt example.
 */
const UNREAD_VALUE_LINES: string[][] = [
  '-boot banana',
  '-vga banana',
  '-uuid banana',
  '-netdev banana',
  '-object iothread',
  '-compat deprecated-input=deny',
].map(words);

// ---- known disagreements -------------------------------------------------------------------------

/** QEMU's refusal as the known disagreements record it: its first stderr lines, the program name added to the first. */
const exit1 = (first: string, ...more: string[]) => `exit 1: ${[PREFIX + first, ...more].join(' / ')}`;
const bootsBut = (first: string, ...more: string[]) => `boots ≠ ${exit1(first, ...more)}`;

/** Known model defects on every release (the words differ on 5.2 where noted per release). */
const EVERY_RELEASE: Readonly<Record<string, string>> = {
  // KNOWN MODEL DEFECT: -append is read as the guest kernel's command line, but QEMU refuses it
  // without -kernel (vl.c qemu_validate_options). The harness always adds -kernel; a command
  // line on its own, which is what claimFor() is asked about, does not.
  '-append console=ttyS0': bootsBut('-append only allowed with -kernel option'),
  // KNOWN MODEL DEFECT: -tpmdev is accepted as host-side plumbing without checking that the
  // chardev it names exists (-mon's is checked).
  '-tpmdev emulator,id=tpm0,chardev=chrtpm': bootsBut("-tpmdev emulator,id=tpm0,chardev=chrtpm: tpm-emulator: tpm chardev 'chrtpm' not found"),
  // KNOWN MODEL DEFECT: options the model ignores are accepted whatever their value
  // (UNREAD_VALUE_LINES): QEMU parses the value, and refuses these.
  '-boot banana': bootsBut("Boot device 'a' was given twice"),
  '-vga banana': bootsBut('unknown vga type: banana'),
  '-uuid banana': bootsBut('-uuid banana: failed to parse UUID string: wrong format'),
};

/** Known model defects on 7.2, 10.0 and 11.1. */
const FROM_7_2: Readonly<Record<string, string>> = {
  // KNOWN MODEL DEFECT (unread value): deprecated-input takes accept, reject or crash. The value
  // comes from the libvirt example of suites/reference/cmdline.test.ts, which therefore tests a
  // command line QEMU refuses. 5.2 has no -compat (agreed: invalid option).
  '-compat deprecated-input=deny': bootsBut("-compat deprecated-input=deny: Parameter 'deprecated-input' does not accept value 'deny'"),
};

/** Known model defects on 10.0 and 11.1. */
const FROM_10_0: Readonly<Record<string, string>> = {
  // Claims more than the command line says: Debian ships SPICE as a module in its own package
  // (qemu-system-modules-spice), which the provisioned closure of 10.0 and 11.1 lacks. 7.2 is the
  // host's, which has it.
  '-spice unix=on,addr=@TMP@/spice.sock,disable-ticketing=on': bootsBut(
    "-spice unix=on,addr=@TMP@/spice.sock,disable-ticketing=on: There is no option group 'spice'",
    `${PREFIX}-spice unix=on,addr=@TMP@/spice.sock,disable-ticketing=on: Perhaps you want to install qemu-system-modules-spice package?`,
  ),
};

/**
 * KNOWN MODEL DEFECTS: command lines where the model's claim and the real QEMU disagree, per
 * release, keyed by the command line (@TMP@ for the scratch directory), valued `claim ≠ what QEMU
 * did`. The model is wrong on each (or, where noted, claims more than a command line alone can
 * say); they are listed, not hidden: the test fails when one disappears (the model was fixed:
 * delete the entry) or a new one appears.
 */
const KNOWN_DISAGREEMENTS: Readonly<Record<QemuVersion, Readonly<Record<string, string>>>> = {
  '5.2': {
    ...EVERY_RELEASE,
    // KNOWN MODEL DEFECT: 5.2 words these refusals differently from 7.2, whose words the model
    // claims for 5.2 too. Machine property sizes: 5.2's qemu_strtosz message.
    '-M pc,max-ram-below-4g=banana': `refuses (options): Parameter 'max-ram-below-4g' expects size ≠ ${exit1(
      "Parameter 'max-ram-below-4g' expects a non-negative number below 2^64",
      'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-',
    )}`,
    '-M pc,max-ram-below-4g=1000.5': `refuses (options): Parameter 'max-ram-below-4g' expects size ≠ ${exit1(
      "Parameter 'max-ram-below-4g' expects a non-negative number below 2^64",
      'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-',
    )}`,
    // KNOWN MODEL DEFECT: 5.2 has no pc-q35-7.2; QEMU refuses the type before looking at its
    // properties, the model refuses the property.
    '-M pc-q35-7.2,foo=1': `refuses (options): Property 'pc-q35-7.2-machine.foo' not found ≠ ${exit1(
      '-M pc-q35-7.2,foo=1: unsupported machine type',
      'Use -machine help to list supported machines',
    )}`,
    // KNOWN MODEL DEFECT: 5.2's -numa and memory-backend refusals (its own QemuOpts/QOM words).
    '-numa foo': `refuses (options): -numa foo: Parameter 'type' does not accept value 'foo' ≠ ${exit1("-numa foo: Invalid parameter 'foo'")}`,
    '-object memory-backend-ram,id=m0': `refuses (options): -object memory-backend-ram,id=m0: Parameter 'size' is missing ≠ ${exit1(
      "-object memory-backend-ram,id=m0: can't create backend with size 0",
    )}`,
    '-object memory-backend-ram,id=m0,size=0': `refuses (options): property 'size' of memory-backend-ram doesn't take value '0' ≠ ${exit1(
      "-object memory-backend-ram,id=m0,size=0: property 'size' of memory-backend-ram doesn't take value '0'",
    )}`,
    '-object memory-backend-ram,id=m0,size=1G,foo=1': `refuses (options): -object memory-backend-ram,id=m0,size=1G,foo=1: Invalid parameter 'foo' ≠ ${exit1(
      "-object memory-backend-ram,id=m0,size=1G,foo=1: Property 'memory-backend-ram.foo' not found",
    )}`,
    '-object memory-backend-file,id=m0,size=1G': `refuses (options): -object memory-backend-file,id=m0,size=1G: Parameter 'mem-path' is missing ≠ ${exit1(
      '-object memory-backend-file,id=m0,size=1G: mem-path property not set',
    )}`,
  },
  '7.2': { ...EVERY_RELEASE, ...FROM_7_2 },
  '10.0': { ...EVERY_RELEASE, ...FROM_7_2, ...FROM_10_0 },
  '11.1': { ...EVERY_RELEASE, ...FROM_7_2, ...FROM_10_0 },
};

/** Option names where reference/profiles/qemu-options.ts and the binary disagree (none known). */
const KNOWN_TABLE_DISAGREEMENTS: Readonly<Record<QemuVersion, readonly string[]>> = { '5.2': [], '7.2': [], '10.0': [], '11.1': [] };

// ---- running QEMU --------------------------------------------------------------------------------

interface Observed {
  /** QMP greeting seen and exit 0 after `quit`. */
  started: boolean;
  greeted: boolean;
  exitCode: number | undefined;
  timedOut: boolean;
  /** stderr lines, `warning:` lines removed. */
  errors: string[];
}

const isWarning = (l: string) => l.startsWith(`${PREFIX}warning: `) || /^qemu-system-x86_64: -\S+ [^:]*: warning: /.test(l);

function describeObserved(o: Observed): string {
  if (o.started) return 'started';
  if (o.timedOut) return `timed out${o.greeted ? ' after the QMP greeting' : ''}`;
  return `exit ${o.exitCode}: ${o.errors.length > 0 ? o.errors.slice(0, 2).join(' / ') : '(nothing on stderr)'}`;
}

function describeClaim(c: Claim | { kind: 'throws'; message: string }): string {
  switch (c.kind) {
    case 'boots':
      return 'boots';
    case 'refuses':
      return `refuses (${c.stage}): ${c.qemuMessage.replace(/\n/g, ' / ')}`;
    case 'not-modelled':
      return `not modelled (${c.option})`;
    case 'throws':
      return `claimFor threw: ${c.message}`;
  }
}

/** The harness options in front of `argv`, minus what `argv` sets itself. */
function harnessArgs(argv: readonly string[]): string[] {
  const machineAccel = argv.some((a, i) => (argv[i - 1] === '-M' || argv[i - 1] === '-machine' || argv[i - 1] === '--machine') && /(^|,)accel=/.test(a));
  const picksAccel = machineAccel || argv.some((a) => ['-accel', '--accel', '-enable-kvm', '--enable-kvm'].includes(a));
  return [
    '-display', 'none',
    ...(argv.includes('-nodefaults') ? [] : ['-nodefaults']),
    ...(argv.includes('-S') ? [] : ['-S']),
    ...(picksAccel ? [] : ['-accel', 'tcg']),
    '-qmp', 'stdio',
  ];
}

/** Options that take an argument in some release. */
const WITH_ARG = new Set(QEMU_VERSIONS.flatMap((v) => [...qemuOptionNames(v).withArg]));

/** The command that runs QEMU of `r` on `args`: its binary, or (see the top) the suite's loader. */
function qemuCommand(r: ResolvedToolchain, args: readonly string[]): { file: string; args: string[]; env?: Record<string, string> } {
  const firmware = r.seabios.dir !== null ? ['-L', r.seabios.dir] : [];
  const last = args.at(-1) ?? '';
  const s = r.qemu.suiteRoot;
  if (s === null || !/^--?/.test(last) || !WITH_ARG.has(last.replace(/^--?/, ''))) return { file: r.qemu.binary, args: [...firmware, ...args] };
  return {
    file: s.loader,
    args: ['--inhibit-cache', '--library-path', s.libraryPath.join(':'), s.qemu, ...firmware, ...s.dataDirs.flatMap((d) => ['-L', d]), ...args],
    // As the wrapper sets it (harness/provision/suite-qemu.ts wrapperScript).
    env: { QEMU_MODULE_DIR: join(s.root, 'usr/lib/x86_64-linux-gnu/qemu') },
  };
}

async function runQemu(r: ResolvedToolchain, argv: readonly string[], scratch: string): Promise<Observed> {
  const line = argv.map((a) => a.split(TMP).join(scratch));
  const cmd = qemuCommand(r, [...harnessArgs(line), ...line]);
  return limit(async () => {
    const qemu = execa(cmd.file, cmd.args, {
      input: QMP_INPUT,
      // fd 3: a pipe, so `-add-fd fd=3` names an open descriptor as it does under libvirt.
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
      reject: false,
      cwd: scratch,
      ...(cmd.env ? { env: cmd.env } : {}),
    });
    const pid = qemu.pid;
    const r = await qemu;
    // -perfmap writes /tmp/perf-<pid>.map whatever the directory.
    if (argv.includes('-perfmap') && pid !== undefined) await rm(`/tmp/perf-${pid}.map`, { force: true });
    const stdout = typeof r.stdout === 'string' ? r.stdout : '';
    const stderr = typeof r.stderr === 'string' ? r.stderr : '';
    const greeted = stdout.includes('{"QMP":');
    return {
      started: greeted && r.exitCode === 0,
      greeted,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      // The scratch directory is spelled @TMP@ again, as in the known disagreements.
      errors: stderr.split('\n').map((l) => l.trimEnd().split(scratch).join(TMP)).filter((l) => l !== '' && !isWarning(l)),
    };
  });
}

/** Null when QEMU did what the claim says (or the claim is 'not-modelled'); else why not. */
function disagreement(claim: Claim | { kind: 'throws'; message: string }, o: Observed): string | null {
  if (claim.kind === 'not-modelled') return null;
  if (claim.kind === 'boots' && o.started) return null;
  if (claim.kind === 'refuses' && !o.timedOut && o.exitCode !== 0) {
    const want = `${PREFIX}${claim.qemuMessage}`;
    const got = o.errors.slice(0, want.split('\n').length).join('\n');
    if (got === want) return null;
  }
  return `${describeClaim(claim)} ≠ ${describeObserved(o)}`;
}

// ---- per release -------------------------------------------------------------------------------

interface LineResult {
  argv: readonly string[];
  claim: Claim | { kind: 'throws'; message: string };
  observed: Observed;
}

interface ReleaseRun {
  toolchain: Toolchain;
  options: Array<LineResult & { probe: OptionProbe }>;
  lines: LineResult[];
  wallMs: number;
}

const scratchDirs: string[] = [];
afterAll(async () => {
  for (const d of scratchDirs) await rm(d, { recursive: true, force: true });
});

async function provision(v: QemuVersion): Promise<ResolvedToolchain> {
  const toolchain = SUITE_COMPONENTS[suiteOf('qemu', v)];
  try {
    return await resolveToolchain(toolchain);
  } catch (err) {
    throw new Error(
      `QEMU ${v} could not be provisioned (${(err as Error).message.split('\n')[0]}). ` +
        `Provision it with \`npx e820 toolchain fetch --qemu ${v} --seabios ${toolchain.seabios} --kernel ${toolchain.kernel}\` (or \`--all\`)` +
        (v === '7.2' ? '; 7.2 is the host\'s: apt-get install qemu-system-x86 seabios' : ''),
    );
  }
}

function claimOf(argv: readonly string[], toolchain: Toolchain): LineResult['claim'] {
  try {
    return claimFor(argv, toolchain);
  } catch (err) {
    // claimFor throws only on a model defect; it is reported as a disagreement like any other.
    return { kind: 'throws', message: (err as Error).message };
  }
}

const runs = new Map<QemuVersion, Promise<ReleaseRun>>();

function runRelease(v: QemuVersion): Promise<ReleaseRun> {
  let p = runs.get(v);
  if (p === undefined) {
    p = (async () => {
      const resolved = await provision(v);
      const toolchain = resolved.toolchain;
      const scratch = await mkdtemp(join(tmpdir(), `e820-refusals-${v}-`));
      scratchDirs.push(scratch);
      const t0 = performance.now();
      const run = async (argv: readonly string[]): Promise<LineResult> => ({ argv, claim: claimOf(argv, toolchain), observed: await runQemu(resolved, argv, scratch) });
      const [options, lines] = await Promise.all([
        Promise.all(optionProbes().map(async (probe) => ({ ...(await run(probe.argv)), probe }))),
        Promise.all([...REFUSAL_LINES, ...BOOT_LINES, ...UNREAD_VALUE_LINES].map(run)),
      ]);
      return { toolchain, options, lines, wallMs: performance.now() - t0 };
    })();
    runs.set(v, p);
  }
  return p;
}

const key = (argv: readonly string[]) => argv.join(' ');

describe.concurrent('refusal and boot claims against the real QEMU binaries', () => {
  for (const v of QEMU_VERSIONS) {
    it(`QEMU ${v}: the option table knows exactly the options the binary knows`, async () => {
      const { options } = await runRelease(v);
      const wrong: string[] = [];
      for (const { probe, observed } of options) {
        const first = observed.errors[0];
        const invalid = first === `${PREFIX}-${probe.name}: invalid option`;
        const wantsArg = first === `${PREFIX}-${probe.name}: requires an argument`;
        if (probe.known[v] === invalid || (probe.known[v] && !probe.withArg && wantsArg)) {
          wrong.push(`-${probe.name}: the table says ${probe.known[v] ? (probe.withArg ? 'known, with an argument' : 'known, without an argument') : 'unknown'}; QEMU: ${describeObserved(observed)}`);
        }
      }
      expect(wrong.map((w) => w.split(':')[0]), wrong.join('\n')).toEqual(KNOWN_TABLE_DISAGREEMENTS[v]);
    }, RELEASE_TEST_TIMEOUT_MS);

    it(`QEMU ${v}: every refusal and boot claim holds, but for the known model defects`, async () => {
      const { options, lines, wallMs } = await runRelease(v);
      const all = [...options, ...lines];
      const found: Record<string, string> = {};
      const count = { refuses: 0, boots: 0, 'not-modelled': 0, throws: 0 };
      for (const { argv, claim, observed } of all) {
        count[claim.kind]++;
        const d = disagreement(claim, observed);
        if (d !== null) found[key(argv)] = d;
      }
      const known = KNOWN_DISAGREEMENTS[v];
      console.log(
        `refusals-real ${v}: ${count.refuses} refusal claims checked, ${count.boots} boot claims, ${count['not-modelled']} not modelled` +
          ` (${all.length} command lines in ${(wallMs / 1000).toFixed(1)} s; ${Object.keys(found).length} disagreements, ${Object.keys(known).length} known)`,
      );
      const changed = [
        ...Object.entries(found).filter(([k, d]) => known[k] !== d).map(([k, d]) => `  ${JSON.stringify(k)}: ${JSON.stringify(d)},`),
        ...Object.keys(known).filter((k) => !(k in found)).map((k) => `  no longer disagrees: ${JSON.stringify(k)}`),
      ];
      expect(found, `QEMU ${v}: disagreements changed:\n${changed.join('\n')}`).toEqual(known);
    }, RELEASE_TEST_TIMEOUT_MS);
  }
});
