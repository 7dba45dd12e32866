// QEMU command line ⇄ MachineConfig (reference/cmdline.ts) and QEMU size strings
// (reference/qemu-size.ts).
//
// Expected messages and values: QEMU 7.2.22 (Debian bookworm, this machine) was run for each
// 7.2 case marked "verified" (`qemu-system-x86_64 -display none -S -nodefaults <args>`, values
// read back with `info memory_size_summary`); 5.2 and 10.0 cases come from those releases'
// util/cutils.c qemu_strtosz and softmmu/vl.c set_memory_options.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, KiB, MiB } from '../../reference/address.ts';
import {
  HarnessOwnedOptionError,
  numaOptArg,
  QemuCmdlineError,
  parseMachineType,
  noMapEffectReason,
  parseQemuArgs,
  splitQemuOpts,
  toQemuArgs,
} from '../../reference/cmdline/index.ts';
import type { MachineConfig, MemoryBackend, NumaNode } from '../../reference/config.ts';
import { QEMU_SIZE_SYNTAX, formatQemuSize, qemuStrtosz } from '../../reference/qemu-size.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import { UnknownVersionError } from '../../reference/toolchain.ts';
import { MACHINE_REFUSALS_7_2, MEMORY_REFUSALS_7_2, NUMA_BACKEND_REFUSALS_7_2 } from './refusal-cases.ts';

const V = ['5.2', '7.2', '10.0', '11.1'] as const;

function refusal(argv: string[], qemuVersion = '7.2'): QemuCmdlineError {
  try {
    parseQemuArgs(argv, { qemuVersion });
  } catch (e) {
    if (e instanceof QemuCmdlineError) return e;
    throw e;
  }
  throw new Error(`no refusal for ${argv.join(' ')}`);
}

function unsupported(argv: string[]): UnsupportedOptionError {
  try {
    parseQemuArgs(argv);
  } catch (e) {
    if (e instanceof UnsupportedOptionError) return e;
    throw e;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('qemuStrtosz', () => {
  const fixed = QEMU_SIZE_SYNTAX['7.2'];
  const size = (t: string, v: (typeof V)[number] = '7.2', unit: 'B' | 'M' = 'B') => {
    const r = qemuStrtosz(t, QEMU_SIZE_SYNTAX[v], unit);
    return r.ok ? r.value : r.error;
  };
  it.each([
    ['2G', 2n * GiB],
    ['2g', 2n * GiB],
    ['1.5G', 1536n * MiB],
    ['100001k', 100001n * KiB],
    ['3b', 3n],
    ['512', 512n],
    ['1.k', 1024n],
    ['+1G', GiB],
    [' 1G', GiB],
    ['0x10', 16n],
    ['0x10B', 0x10bn], // B is a hex digit
    ['16E', 'ERANGE'],
    ['99999999999999999999', 'ERANGE'],
    ['1000.5', 'EINVAL'],
    ['1.0', 1n], // a zero fraction needs no unit
    ['1e3', 'EINVAL'],
    ['1G ', 'EINVAL'],
    ['1GiB', 'EINVAL'],
    ['-1', 'EINVAL'],
    ['banana', 'EINVAL'],
    ['', 'EINVAL'],
    ['0x1.8G', 'EINVAL'],
  ] as const)('7.2: %j → %s', (text, want) => {
    expect(size(text)).toBe(want);
  });

  it('rounds the fixed-point fraction half up, exactly', () => {
    // .1 → valf = (uint64)(0.1 × 2^64) = 0x1999999999999a00; × 1024 → 102 rest < one half → 102.
    expect(size('1.1K')).toBe(1024n + 102n);
    expect(size('0.5K')).toBe(512n);
  });

  it('hex with a suffix: 7.2 warns, 10.0 and 11.1 refuse', () => {
    const r = qemuStrtosz('0x10M', fixed);
    expect(r).toEqual({
      ok: true,
      value: 16n * MiB,
      warnings: ['warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M'],
    });
    expect(size('0x10M', '10.0')).toBe('EINVAL');
    expect(size('0x10M', '11.1')).toBe('EINVAL');
    expect(size('0x10M', '5.2')).toBe(16n * MiB);
  });

  it('5.2 reads through strtod: exponents, hex floats, negative = ERANGE', () => {
    expect(size('1e3', '5.2')).toBe(1000n);
    expect(size('0x1p4', '5.2')).toBe(16n);
    expect(size('1.5G', '5.2')).toBe(1536n * MiB);
    expect(size('1000.5', '5.2')).toBe('EINVAL');
    expect(size('-1', '5.2')).toBe('ERANGE');
    expect(size('16E', '5.2')).toBe('ERANGE');
    expect(size('inf', '5.2')).toBe('EINVAL');
  });

  it('qemu_strtosz_MiB: suffix-less means MiB and a fraction is fine', () => {
    expect(size('512', '7.2', 'M')).toBe(512n * MiB);
    expect(size('1.5', '7.2', 'M')).toBe(1536n * KiB);
  });

  it('formatQemuSize prints what every version reads back', () => {
    for (const [bytes, text] of [
      [0n, '0'],
      [2n * GiB, '2G'],
      [1536n * MiB, '1536M'],
      [100008n * KiB, '100008K'],
      [10000001n, '10000001'],
    ] as const) {
      expect(formatQemuSize(bytes)).toBe(text);
      for (const v of V) expect(size(text, v)).toBe(bytes);
    }
  });
});

describe('splitQemuOpts', () => {
  it('implied first key, ",," escape, bare flag = on', () => {
    expect(splitQemuOpts('2G,slots=2,maxmem=8G', 'size')).toEqual([
      { key: 'size', value: '2G', implied: true },
      { key: 'slots', value: '2', implied: false },
      { key: 'maxmem', value: '8G', implied: false },
    ]);
    expect(splitQemuOpts('file=a,,b,if=virtio,readonly', null).map((p) => [p.key, p.value])).toEqual([
      ['file', 'a,b'],
      ['if', 'virtio'],
      ['readonly', 'on'],
    ]);
    expect(splitQemuOpts('', 'size')).toEqual([]);
  });
});

describe('parseQemuArgs: -m', () => {
  const mem = (argv: string[], v = '7.2') => parseQemuArgs(argv, { qemuVersion: v }).memory;

  it('bare number is MiB; suffixes are powers of 1024; rounded up to 8 KiB (verified)', () => {
    expect(mem(['-m', '1024']).size).toBe(GiB);
    expect(mem(['-m', '2G']).size).toBe(2n * GiB);
    expect(mem(['-m', '1.5G']).size).toBe(1536n * MiB);
    expect(mem(['-m', '100001k'])).toEqual({ size: 0x061aa000n, spelled: '100001k', slots: null, maxmem: null });
    expect(mem(['-m', '3b']).size).toBe(8192n);
  });

  it('--m is -m; -m 0 and -m "" mean the machine default (verified)', () => {
    expect(mem(['--m', '1G']).size).toBe(GiB);
    expect(mem(['-m', '0'])).toEqual({ size: null, spelled: '0', slots: null, maxmem: null });
    expect(mem(['-m', ''])).toEqual({ size: null, spelled: null, slots: null, maxmem: null });
    expect(mem([])).toEqual({ size: null, spelled: null, slots: null, maxmem: null });
  });

  it('several -m merge, the last value of each key wins (verified)', () => {
    expect(mem(['-m', '1G', '-m', '2G']).size).toBe(2n * GiB);
    expect(mem(['-m', '1G,size=2G']).size).toBe(2n * GiB);
    expect(mem(['-m', 'size=1G']).size).toBe(GiB);
    expect(mem(['-m', '1G,slots=2,maxmem=4G', '-m', '2G'])).toEqual({ size: 2n * GiB, spelled: '2G', slots: 2, maxmem: 4n * GiB });
  });

  it('slots and maxmem; maxmem is bytes when bare and not rounded', () => {
    expect(mem(['-m', '2G,slots=2,maxmem=8G'])).toEqual({ size: 2n * GiB, spelled: '2G', slots: 2, maxmem: 8n * GiB });
    expect(mem(['-m', '8M,maxmem=10000001']).maxmem).toBe(10000001n);
    expect(mem(['-m', '1G,slots=0,maxmem=1G']).slots).toBe(0);
    expect(mem(['-m', '1G,slots=0x10,maxmem=2G']).slots).toBe(16);
  });

  it('hex: 5.2 silent, 7.2 warns, 10.0 refuses (util/cutils.c per release, docs/model/qemu.md#sizes-memory-backends-and-numa; verified on 7.2)', () => {
    const c52 = parseQemuArgs(['-m', '0x10'], { qemuVersion: '5.2' });
    expect(c52.memory.size).toBe(16n * MiB);
    expect(c52.warnings).toEqual([]);
    const c72 = parseQemuArgs(['-m', '0x10']);
    expect(c72.memory.size).toBe(16n * MiB);
    expect(c72.warnings).toEqual(['warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M']);
    // With an explicit suffix QEMU 7.2 warns twice: when reading -m and when setting memory.size.
    expect(parseQemuArgs(['-m', '0x10k']).warnings).toEqual([
      '-m 0x10k: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10k',
      'warning: Using a multiplier suffix on hex numbers is deprecated: 0x10k',
    ]);
    const e = refusal(['-m', '0x10'], '10.0');
    expect(e.qemuMessage).toBe("Parameter 'memory.size' expects size");
    expect(e.message).toContain('-m 0x10');
    expect(refusal(['-m', '0x10k'], '10.0').qemuMessage).toBe(
      "-m 0x10k: Parameter 'size' expects a non-negative number below 2^64",
    );
  });

  it('10.0/11.1: a bare negative integer is out of range, a negative with anything after it is invalid (observed on 10.0.13 and 11.1.3)', () => {
    for (const v of ['10.0', '11.1'] as const) {
      expect(refusal(['-m', '-1024'], v).qemuMessage).toBe("-m -1024: Value '-1024' is out of range for parameter 'size'");
      for (const m of ['-1G', '-1k', '-1.5', '-0x10']) expect(refusal(['-m', m], v).qemuMessage).toBe(`-m ${m}: Parameter 'size' expects a non-negative number below 2^64`);
    }
  });

  it('5.2 reads 1e3 as 1000 MiB', () => {
    expect(mem(['-m', '1e3'], '5.2').size).toBe(1000n * MiB);
  });

  it.each(MEMORY_REFUSALS_7_2)('7.2 refuses %j as QEMU does (verified)', (argv, msg) => {
    const e = refusal(argv);
    expect(e.qemuMessage).toBe(msg);
    expect(e).toBeInstanceOf(QemuRefusal);
    expect(e.message).toContain(argv[0]);
  });

  it('banana gets QEMU’s suffix hint too', () => {
    expect(refusal(['-m', 'banana']).hint).toBe(
      'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.',
    );
  });

  it('5.2 words the maxmem errors differently, at the first -m (softmmu/vl.c set_memory_options; observed on 5.2)', () => {
    expect(refusal(['-m', '1G,slots=2'], '5.2').qemuMessage).toBe("-m 1G,slots=2: invalid -m option value: missing 'maxmem' option");
    expect(refusal(['-m', '1G', '-m', 'slots=2'], '5.2').qemuMessage).toBe("-m 1G: invalid -m option value: missing 'maxmem' option");
    expect(refusal(['-m', '2G,maxmem=1G'], '5.2').qemuMessage).toBe(
      '-m 2G,maxmem=1G: invalid value of -m option maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)',
    );
    expect(refusal(['-m', '20000000000000'], '5.2').qemuMessage).toBe("-m 20000000000000: too large 'size' option value");
    expect(refusal(['-m', '1G,slots=2'], '7.2').qemuMessage).toBe('slots specified but no max-size');
    expect(refusal(['-m', '-1'], '5.2').qemuMessage).toBe("-m -1: Value '-1' is out of range for parameter 'size'");
  });
});

describe('parseQemuArgs: -machine', () => {
  it('implied type, properties, -M and -machine merge (verified)', () => {
    const c = parseQemuArgs(['-M', 'q35,max-ram-below-4g=2G']);
    expect(c.machine).toEqual({ family: 'q35', version: null, name: 'q35' });
    expect(c.maxRamBelow4g).toBe(2n * GiB);
    const d = parseQemuArgs(['-machine', 'type=q35,accel=tcg', '-M', 'pc']);
    expect(d.machine.name).toBe('pc');
    expect(d.accel).toBe('tcg');
    expect(parseQemuArgs([]).machine).toEqual({ family: 'pc', version: null, name: 'pc' });
  });

  it.each([
    ['pc', 'pc', null],
    ['q35', 'q35', null],
    ['isapc', 'isapc', null],
    ['microvm', 'microvm', null],
    ['pc-i440fx-7.2', 'pc', '7.2'],
    ['pc-i440fx-1.4', 'pc', '1.4'],
    ['pc-q35-2.4', 'q35', '2.4'],
    ['pc-q35-4.0.1', 'q35', '4.0.1'],
    ['pc-1.0', 'pc', '1.0'],
    ['pc-1.3', 'pc', '1.3'],
  ] as const)('machine type %s', (name, family, version) => {
    expect(parseMachineType(name)).toEqual({ family, version, name });
    expect(parseQemuArgs(['-M', name]).machine).toEqual({ family, version, name });
  });

  it('records a versioned type whatever the QEMU version (the QEMU stage checks it exists)', () => {
    expect(parseQemuArgs(['-M', 'pc-i440fx-1.4'], { qemuVersion: '10.0' }).machine.version).toBe('1.4');
  });

  it('max-ram-below-4g: bare number is bytes, exactly 4G allowed, below 1 MiB warns (verified, 0 too)', () => {
    expect(parseQemuArgs(['-M', 'pc,max-ram-below-4g=268435456']).maxRamBelow4g).toBe(256n * MiB);
    expect(parseQemuArgs(['-M', 'pc,max-ram-below-4g=0x10000000']).maxRamBelow4g).toBe(256n * MiB);
    expect(parseQemuArgs(['-M', 'pc,max-ram-below-4g=4G']).maxRamBelow4g).toBe(4n * GiB);
    expect(parseQemuArgs(['-M', 'pc,max-ram-below-4g=2500M']).maxRamBelow4g).toBe(2500n * MiB);
    expect(parseQemuArgs(['-M', 'pc,max-ram-below-4g=512K']).warnings).toEqual([
      'warning: Only 524288 bytes of RAM below the 4GiB boundary,BIOS may not work with less than 1MiB',
    ]);
    // Reading hw/i386/pc.c alone, 0 would not warn; QEMU 7.2.22 does.
    expect(parseQemuArgs(['-M', 'pc,max-ram-below-4g=0']).warnings).toEqual([
      'warning: Only 0 bytes of RAM below the 4GiB boundary,BIOS may not work with less than 1MiB',
    ]);
  });

  it('keeps firmware-visible properties for the QEMU stage, lists host-only ones as ignored', () => {
    const c = parseQemuArgs(['-M', 'q35,smbios-entry-point-type=64,smm=off,mem-merge=off']);
    expect(c.machineProps).toEqual([
      ['smbios-entry-point-type', '64'],
      ['smm', 'off'],
    ]);
    expect(c.ignored).toEqual([
      { option: '-machine', value: 'smm=off', why: noMapEffectReason('smm') },
      { option: '-machine', value: 'mem-merge=off', why: 'host KSM merging only' },
    ]);
    expect(noMapEffectReason('smm')).toMatch(/leaves the memory map unchanged/);
  });

  it.each(['sata=off'])('refuses %s as not modelled (measured to move the map)', (p) => {
    expect(() => parseQemuArgs(['-M', `q35,${p}`])).toThrow(/not modelled/);
  });

  it('memory-backend', () => {
    const c = parseQemuArgs(['-object', 'memory-backend-ram,id=r,size=1G', '-M', 'pc,memory-backend=r']);
    expect(c.memoryBackend).toBe('r');
  });

  it.each(MACHINE_REFUSALS_7_2)('refuses %j as QEMU 7.2 does (verified)', (argv, msg) => {
    const e = refusal(argv);
    expect(e.qemuMessage).toBe(msg);
    expect(e.message).toContain(argv[1]);
  });

  it('names the newest type of the QEMU version in property errors', () => {
    expect(refusal(['-M', 'q35,foo=1'], '10.0').qemuMessage).toBe("Property 'pc-q35-10.0-machine.foo' not found");
  });

  it('refuses machine properties it does not model, and the harness’s own', () => {
    expect(unsupported(['-M', 'pc,sgx-epc.0.memdev=m']).message).toMatch(/SGX/);
    expect(unsupported(['-M', 'xenfv']).message).toMatch(/not modelled/);
    expect(() => parseQemuArgs(['-M', 'pc,kernel=bzImage'])).toThrow(HarnessOwnedOptionError);
  });
});

describe('parseQemuArgs: accelerator', () => {
  it.each([
    [[], 'tcg'],
    [['-accel', 'tcg'], 'tcg'],
    [['-accel', 'kvm'], 'kvm'],
    [['--accel', 'kvm'], 'kvm'],
    [['-enable-kvm'], 'kvm'],
    [['-enable-kvm', '-accel', 'kvm'], 'kvm'],
    [['-machine', 'accel=kvm'], 'kvm'],
    [['-M', 'q35,accel=tcg'], 'tcg'],
  ] as const)('%j → %s', (argv, accel) => {
    expect(parseQemuArgs([...argv]).accel).toBe(accel);
  });

  it('tcg tuning is ignored with a reason', () => {
    expect(parseQemuArgs(['-accel', 'tcg,thread=single']).ignored[0]?.option).toBe('-accel');
  });

  it('refuses what QEMU refuses (verified) and fallbacks the model cannot decide', () => {
    expect(refusal(['-accel', 'foo']).qemuMessage).toBe('-accel foo: invalid accelerator foo');
    expect(refusal(['-M', 'q35', '-accel', 'kvm', '-machine', 'accel=tcg']).qemuMessage).toBe(
      'The -accel and "-machine accel=" options are incompatible',
    );
    expect(unsupported(['-accel', 'kvm', '-accel', 'tcg']).message).toMatch(/fall back/);
    expect(unsupported(['-machine', 'accel=kvm:tcg']).message).toMatch(/fallback/);
    expect(unsupported(['-accel', 'kvm,xen-version=0x40011']).message).toMatch(/xen-version/);
    expect(unsupported(['-accel', 'hvf']).message).toMatch(/hvf/);
  });
});

describe('parseQemuArgs: -smp and -cpu', () => {
  it('-smp N and keyed topology', () => {
    expect(parseQemuArgs(['-smp', '4']).smp).toEqual({ cpus: 4, sockets: null, dies: null, cores: null, threads: null, maxcpus: null });
    expect(parseQemuArgs(['-smp', 'cpus=4,sockets=2,cores=2']).smp).toEqual({ cpus: 4, sockets: 2, dies: null, cores: 2, threads: null, maxcpus: null });
    expect(parseQemuArgs(['-smp', '2', '-smp', 'maxcpus=8']).smp.maxcpus).toBe(8);
  });

  it('-smp 0: 5.2 means unset, 7.2 warns and means unset (verified), 10.0 refuses', () => {
    expect(parseQemuArgs(['-smp', '0'], { qemuVersion: '5.2' }).smp.cpus).toBeNull();
    const c = parseQemuArgs(['-smp', '0']);
    expect(c.smp.cpus).toBeNull();
    expect(c.warnings).toEqual(['warning: Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero']);
    expect(refusal(['-smp', '0'], '10.0').qemuMessage).toBe('Invalid CPU topology: CPU topology parameters must be greater than zero');
  });

  it('refuses bad -smp as QEMU 7.2 does (verified)', () => {
    expect(refusal(['-smp', 'banana']).qemuMessage).toBe("Parameter 'smp.cpus' expects integer");
    expect(refusal(['-smp', '2,foo=3']).qemuMessage).toBe("Parameter 'smp.foo' is unexpected");
    expect(refusal(['-smp', '2,foo=3']).message).toContain('-smp 2,foo=3');
    expect(refusal(['-smp', 'banana'], '5.2').qemuMessage).toBe("-smp banana: Parameter 'cpus' expects a number");
    expect(unsupported(['-smp', '2,clusters=2']).message).toMatch(/clusters/);
  });

  it('-cpu model then props: +flag/-flag/flag/k=v, _ spelled -', () => {
    expect(parseQemuArgs(['-cpu', 'qemu64,phys-bits=39,+la57,-svm,pdpe1gb,host_phys_bits=on']).cpu).toEqual({
      model: 'qemu64',
      props: [
        ['phys-bits', '39'],
        ['la57', 'on'],
        ['svm', 'off'],
        ['pdpe1gb', 'on'],
        ['host-phys-bits', 'on'],
      ],
    });
    expect(parseQemuArgs(['-cpu', 'Skylake-Client']).cpu).toEqual({ model: 'Skylake-Client', props: [] });
    expect(parseQemuArgs([]).cpu).toEqual({ model: null, props: [] });
  });

  it('refuses a non-numeric phys-bits (verified wording)', () => {
    expect(refusal(['-cpu', 'qemu64,phys-bits=banana']).qemuMessage).toBe(
      "can't apply global qemu64-x86_64-cpu.phys-bits=banana: Parameter 'phys-bits' expects uint64",
    );
  });
});

describe('parseQemuArgs: NUMA and memory backends', () => {
  it('backends ram/file/memfd; size bare = bytes', () => {
    const c = parseQemuArgs([
      '-object', 'memory-backend-ram,id=m0,size=512M',
      '-object', 'memory-backend-file,id=m1,size=1G,mem-path=/dev/hugepages,share=on',
      '-object', 'memory-backend-memfd,id=m2,size=1048576',
    ]);
    expect(c.backends).toEqual<MemoryBackend[]>([
      { id: 'm0', kind: 'memory-backend-ram', size: 512n * MiB, props: [] },
      { id: 'm1', kind: 'memory-backend-file', size: GiB, props: [['mem-path', '/dev/hugepages'], ['share', 'on']] },
      { id: 'm2', kind: 'memory-backend-memfd', size: MiB, props: [] },
    ]);
  });

  it('-numa node with memdev/nodeid/cpus, and legacy mem= (bare = MiB)', () => {
    const c = parseQemuArgs(['-object', 'memory-backend-ram,id=m0,size=512M', '-numa', 'node,memdev=m0,nodeid=0,cpus=0-1']);
    expect(c.numa).toEqual<NumaNode[]>([{ nodeid: 0, memdev: 'm0', mem: null, cpus: '0-1', spelled: 'node,memdev=m0,nodeid=0,cpus=0-1' }]);
    const d = parseQemuArgs(['-numa', 'node,mem=512M', '-numa', 'node,mem=512']);
    expect(d.numa.map((n) => n.mem)).toEqual([512n * MiB, 512n * MiB]);
  });

  it.each(NUMA_BACKEND_REFUSALS_7_2)('refuses %j as QEMU 7.2 does (verified)', (argv, msg) => {
    const e = refusal(argv);
    expect(e.qemuMessage).toBe(msg);
    expect(e.message).toContain(argv.at(-2));
  });

  it('memory-backend and -numa memdev are mutually exclusive', () => {
    expect(
      refusal(['-object', 'memory-backend-ram,id=m0,size=1G', '-M', 'pc,memory-backend=m0', '-numa', 'node,memdev=m0']).qemuMessage,
    ).toBe("'-machine memory-backend' and '-numa memdev' properties are mutually exclusive");
  });

  it('refuses what it does not model', () => {
    expect(unsupported(['-numa', 'dist,src=0,dst=1,val=20']).message).toMatch(/-numa dist/);
    expect(unsupported(['-object', 'sev-guest,id=s,cbitpos=47,reduced-phys-bits=1']).message).toMatch(/sev-guest/);
  });
});

describe('parseQemuArgs: devices, drives, firmware, kernel command line', () => {
  it('records what SeaBIOS may drive', () => {
    const c = parseQemuArgs([
      '-bios', 'bios-256k.bin',
      '-nodefaults',
      '-vga', 'none',
      '-device', 'virtio-blk-pci,drive=d0,bootindex=1',
      '-device', 'driver=e1000,netdev=n0',
      '-drive', 'file=disk,,1.img,if=none,id=d0,format=raw',
      '-netdev', 'user,id=n0',
      '-nic', 'user,model=virtio-net-pci',
      '-append', 'console=ttyS0 memmap=64M$0x100000000 mem=2G',
    ]);
    expect(c.bios).toBe('bios-256k.bin');
    expect(c.nodefaults).toBe(true);
    expect(c.vga).toBe('none');
    expect(c.devices).toEqual([
      { driver: 'virtio-blk-pci', props: [['drive', 'd0'], ['bootindex', '1']] },
      { driver: 'e1000', props: [['netdev', 'n0']] },
    ]);
    expect(c.drives).toEqual([[['file', 'disk,1.img'], ['if', 'none'], ['id', 'd0'], ['format', 'raw']]]);
    expect(c.netdevs).toEqual([[['type', 'user'], ['id', 'n0']]]);
    expect(c.nics).toEqual([[['type', 'user'], ['model', 'virtio-net-pci']]]);
    expect(c.kernelArgs).toBe('console=ttyS0 memmap=64M$0x100000000 mem=2G');
  });

  it('-nographic keeps its graphics=off (the firmware sees it) and ignores its display part', () => {
    const c = parseQemuArgs(['-nographic']);
    expect(c.machineProps).toEqual([['graphics', 'off']]);
    expect(c.ignored.map((i) => i.option)).toEqual(['-nographic']);
  });

  it.each([
    ['-name', 'vm1'],
    ['-display', 'none'],
    ['-vnc', ':1'],
    ['-monitor', 'none'],
    ['-no-reboot'],
    ['-rtc', 'base=utc'],
    ['-boot', 'order=c,menu=off'],
    ['-uuid', '6e3bd6a4-1b0c-4b8a-9c3e-1f4ad5a1c6d2'],
    ['-k', 'de'],
    ['-snapshot'],
    ['-parallel', 'none'],
  ])('accepts %s as unable to change the memory map, with a reason', (...argv) => {
    const c = parseQemuArgs(argv);
    expect(c.ignored).toHaveLength(1);
    expect(c.ignored[0]?.option).toBe(argv[0]);
    expect(c.ignored[0]?.value).toBe(argv[1] ?? null);
    expect(c.ignored[0]?.why.length).toBeGreaterThan(10);
  });

  it.each([
    [['-kernel', 'bzImage']],
    [['-initrd', 'initrd.img']],
    [['-serial', 'stdio']],
    [['-debugcon', 'file:x']],
    [['-device', 'isa-debugcon,iobase=0x402,chardev=c0']],
  ])('refuses the harness’s own option %j', (argv) => {
    const e = (() => {
      try {
        parseQemuArgs(argv);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(HarnessOwnedOptionError);
    expect((e as Error).message).toContain(argv[0]);
    expect((e as Error).message).toMatch(/harness adds .* itself/);
  });

  it.each([
    [['-hda', 'disk.img']],
    [['disk.img']],
    [['-global', 'isa-fdc.driveA=drive-fdc0-0-0']],
    [['-smbios', 'type=1,manufacturer=x']],
    [['-boot', 'splash=logo.jpg']],
    [['-device', 'help']],
  ])('refuses %j as not modelled, naming it', (argv) => {
    const e = unsupported(argv);
    expect(e.message).toContain(argv[0]);
  });

  it('rejects a QEMU version without a profile', () => {
    expect(() => parseQemuArgs([], { qemuVersion: '6.0' })).toThrow(UnknownVersionError);
  });
});

describe('toQemuArgs', () => {
  it('prints a canonical argv', () => {
    const c = parseQemuArgs(['--machine', 'type=q35,max-ram-below-4g=2048M', '-m', '2G,maxmem=8G,slots=2', '-enable-kvm', '-name', 'x']);
    expect(toQemuArgs(c)).toEqual(['-machine', 'q35,max-ram-below-4g=2G', '-accel', 'kvm', '-m', '2G,slots=2,maxmem=8G']);
  });

  it.each([
    [['-m', '100001k']],
    [['-m', '0x10', '-smp', '0']],
    [['-nographic', '-cpu', 'qemu64,+la57,phys_bits=48', '-M', 'pc,graphics=on']],
    [['-numa', 'node,mem=512', '-numa', 'node,mem=0x10', '-M', 'pc-i440fx-5.0']],
    [['-drive', 'file=a,,b,readonly', '-netdev', 'user,id=n', '-device', 'driver=e1000,netdev=n']],
    [['-M', 'q35', '-M', 'accel=kvm,smm=off', '-m', 'size=1G', '-m', '2G']],
  ])('print ∘ parse is a fixed point after one round: %j', (argv) => {
    const once = toQemuArgs(parseQemuArgs(argv));
    expect(toQemuArgs(parseQemuArgs(once))).toEqual(once);
  });
});

// ---- the round-trip property ------------------------------------------------------------------

const ident = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
/** Option values: anything printable, commas included (they are escaped as ",,"). */
const value = fc.string({ unit: fc.constantFrom(...'abcXYZ019=,./:$ _-'), maxLength: 12 });

const machineArb = fc.oneof(
  fc.constantFrom('pc', 'q35', 'isapc', 'microvm', 'pc-1.0', 'pc-q35-4.0.1'),
  fc.tuple(fc.constantFrom('pc-i440fx-', 'pc-q35-'), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 0, max: 2 })).map(
    ([p, a, b]) => `${p}${a}.${b}`,
  ),
);

const memoryArb = fc.oneof(
  fc.constant({ size: null, spelled: null }),
  fc.constant({ size: null, spelled: '0' }),
  fc.tuple(fc.integer({ min: 1, max: 1 << 20 }), fc.constantFrom('', 'M', 'm', 'K', 'G')).map(([mib, unit]) => {
    const n = BigInt(mib);
    if (unit === 'G') return { size: n * GiB, spelled: `${mib}G` };
    if (unit === 'K') return { size: n * MiB, spelled: `${n * 1024n}K` };
    return { size: n * MiB, spelled: `${mib}${unit}` };
  }),
);

const configArb: fc.Arbitrary<MachineConfig> = fc
  .record({
    machineName: machineArb,
    maxRam: fc.option(fc.bigInt({ min: MiB, max: 4n * GiB }), { nil: null }),
    props: fc.uniqueArray(fc.tuple(fc.constantFrom('smm', 'pit', 'pic', 'graphics'), fc.constantFrom('on', 'off')), {
      selector: ([k]) => k,
      maxLength: 3,
    }),
    accel: fc.constantFrom('tcg', 'kvm' as const),
    mem: memoryArb,
    hotplug: fc.option(fc.tuple(fc.option(fc.integer({ min: 0, max: 256 }), { nil: null }), fc.integer({ min: 1, max: 64 })), { nil: null }),
    cpuModel: fc.option(fc.constantFrom('qemu64', 'qemu32', 'max', 'host', 'EPYC', 'Skylake-Client'), { nil: null }),
    cpuProps: fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom('phys-bits'), fc.integer({ min: 32, max: 52 }).map(String)),
        fc.tuple(fc.constantFrom('la57', 'lm', 'svm', 'vmx', 'host-phys-bits'), fc.constantFrom('on', 'off')),
        fc.tuple(fc.constantFrom('vendor'), fc.constantFrom('GenuineIntel', 'AuthenticAMD')),
      ),
      { maxLength: 4 },
    ),
    smp: fc.record({
      cpus: fc.option(fc.integer({ min: 1, max: 64 }), { nil: null }),
      sockets: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
      dies: fc.option(fc.integer({ min: 1, max: 2 }), { nil: null }),
      cores: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
      threads: fc.option(fc.integer({ min: 1, max: 2 }), { nil: null }),
      maxcpus: fc.option(fc.integer({ min: 1, max: 128 }), { nil: null }),
    }),
    backendSpecs: fc.array(
      fc.tuple(fc.constantFrom('memory-backend-ram', 'memory-backend-file', 'memory-backend-memfd' as const), fc.integer({ min: 1, max: 4096 }), fc.boolean()),
      { maxLength: 3 },
    ),
    numaMode: fc.constantFrom('none', 'memdev', 'mem', 'backend' as const),
    numaMems: fc.array(fc.tuple(fc.integer({ min: 0, max: 4096 }), fc.option(fc.integer({ min: 0, max: 7 }), { nil: null })), { minLength: 1, maxLength: 3 }),
    bios: fc.option(fc.constantFrom('bios.bin', 'bios-256k.bin', '/opt/seabios/out/bios.bin'), { nil: null }),
    nodefaults: fc.boolean(),
    vga: fc.option(fc.constantFrom('std', 'none', 'cirrus'), { nil: null }),
    devices: fc.array(fc.record({ driver: fc.constantFrom('e1000', 'virtio-net-pci', 'virtio-blk-pci', 'ahci'), props: fc.array(fc.tuple(ident.filter((k) => k !== 'driver'), value), { maxLength: 3 }) }), { maxLength: 3 }),
    drives: fc.array(fc.array(fc.tuple(ident, value), { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
    netdevs: fc.array(fc.tuple(fc.constantFrom('user', 'tap'), fc.array(fc.tuple(ident, value), { maxLength: 2 })), { maxLength: 2 }),
    nics: fc.array(fc.tuple(fc.constantFrom('user', 'none'), fc.array(fc.tuple(ident, value), { maxLength: 2 })), { maxLength: 2 }),
    kernelArgs: fc.string({ maxLength: 40 }),
  })
  .map((r): MachineConfig => {
    const machine = parseMachineType(r.machineName);
    if (machine === null) throw new Error(`generator made an unknown machine ${r.machineName}`);
    const microvm = machine.family === 'microvm';
    const ramSize = r.mem.size ?? 128n * MiB;
    const backends: MemoryBackend[] = r.backendSpecs.map(([kind, mib, share], i) => ({
      id: `m${i}`,
      kind,
      size: BigInt(mib) * MiB,
      props: [...(kind === 'memory-backend-file' ? [['mem-path', `/dev/shm/m${i}`] as const] : []), ...(share ? [['share', 'on'] as const] : [])],
    }));
    let numa: NumaNode[] = [];
    if (r.numaMode === 'memdev') numa = backends.map((b, i) => ({ nodeid: i, memdev: b.id, mem: null, cpus: null }));
    if (r.numaMode === 'mem') numa = r.numaMems.map(([mib, cpu]) => ({ nodeid: null, memdev: null, mem: BigInt(mib) * MiB, cpus: cpu === null ? null : `${cpu}-${cpu + 1}` }));
    // The parser keeps each -numa argument as typed (QEMU echoes it in -numa errors).
    numa = numa.map((n) => ({ ...n, spelled: numaOptArg(n) }));
    const memoryBackend = r.numaMode === 'backend' && backends[0] !== undefined ? backends[0].id : null;
    return {
      machine,
      maxRamBelow4g: microvm ? null : r.maxRam,
      machineProps: r.props,
      accel: r.accel,
      memory: {
        size: r.mem.size,
        spelled: r.mem.spelled,
        slots: r.hotplug === null ? null : r.hotplug[0],
        maxmem: r.hotplug === null ? null : ramSize + BigInt(r.hotplug[1]) * GiB,
      },
      cpu: { model: r.cpuModel, props: r.cpuModel === null ? [] : r.cpuProps },
      smp: r.smp,
      backends,
      numa,
      bios: r.bios,
      nodefaults: r.nodefaults,
      devices: r.devices,
      drives: r.drives,
      kernelArgs: r.kernelArgs,
      ignored: r.props.flatMap(([key, v]) => {
        const why = noMapEffectReason(key);
        return why === null ? [] : [{ option: '-machine', value: `${key}=${v}`, why }];
      }),
      memoryBackend,
      vga: r.vga,
      netdevs: r.netdevs.map(([t, rest], i) => [['type', t] as const, ['id', `n${i}`] as const, ...rest.filter(([k]) => k !== 'id')]),
      nics: r.nics.map(([t, rest]) => [['type', t] as const, ...rest]),
      warnings: [],
    };
  });

describe('round trip', () => {
  it.each(['5.2', '7.2', '10.0', '11.1'])('parseQemuArgs(toQemuArgs(c)) equals c (QEMU %s)', (qemuVersion) => {
    fc.assert(
      fc.property(configArb, (c) => {
        // machine.typedAt only records the spelling 5.2's refusal quotes, not configuration.
        const { typedAt: _spelling, ...machine } = parseQemuArgs(toQemuArgs(c), { qemuVersion }).machine;
        expect({ ...parseQemuArgs(toQemuArgs(c), { qemuVersion }), machine }).toEqual(c);
      }),
      { numRuns: 300 },
    );
  });

  it('toQemuArgs(parseQemuArgs(a)) is a fixed point', () => {
    fc.assert(
      fc.property(configArb, (c) => {
        const once = toQemuArgs(parseQemuArgs(toQemuArgs(c)));
        expect(toQemuArgs(parseQemuArgs(once))).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseQemuArgs: what real (libvirt) command lines carry', () => {
  const accepted = (argv: string[], qemuVersion = '7.2') => parseQemuArgs(argv, { qemuVersion });

  it('an option the release does not know refuses the whole line, wherever it stands (vl.c first pass)', () => {
    // Seen on 10.0.13 and 11.1.3: `-no-acpi: invalid option`, before any other option is looked at.
    for (const v of ['10.0', '11.1']) {
      expect(refusal(['-usb', '-M', 'pc', '-no-acpi'], v).qemuMessage).toBe('-no-acpi: invalid option');
      expect(refusal(['-no-hpet'], v).qemuMessage).toBe('-no-hpet: invalid option');
    }
    expect(refusal(['-frobnicate']).qemuMessage).toBe('-frobnicate: invalid option');
    expect(refusal(['-m=1G']).hint).toBe('QEMU takes the value as the next argument: -m 1G');
    expect(refusal(['-compat', 'deprecated-output=hide'], '5.2').qemuMessage).toBe('-compat: invalid option');
    expect(refusal(['-M', 'pc', '-name']).qemuMessage).toBe('-name: requires an argument');
  });

  it('host-side plumbing is accepted and listed in ignored with the reason', () => {
    const c = accepted([
      '-S', '-chardev', 'socket,id=charmonitor,path=/run/mon.sock,server=on,wait=off', '-mon', 'chardev=charmonitor,id=monitor,mode=control',
      '-blockdev', '{"driver":"file","filename":"/var/lib/x.img","node-name":"f"}', '-add-fd', 'fd=3,set=0',
      '-object', 'secret,id=masterKey0,format=raw,file=/run/key', '-object', '{"qom-type":"iothread","id":"io1"}',
      '-audiodev', 'id=audio1,driver=none', '-compat', 'deprecated-input=reject', '-no-hpet', '-global', 'kvm-pit.lost_tick_policy=delay', '-global', 'driver=ICH9-LPC,property=disable_s3,value=1',
    ]);
    // -object is read last (after -machine and -m), so its entries come last.
    expect(c.ignored.map((i) => i.option)).toEqual(['-S', '-chardev', '-mon', '-blockdev', '-add-fd', '-audiodev', '-compat', '-global', '-global', '-object', '-object']);
    // -no-hpet is hpet=off: SeaBIOS's own ACPI tables then have no HPET table.
    expect(c.machineProps).toContainEqual(['hpet', 'off']);
    for (const i of c.ignored) expect(i.why.length).toBeGreaterThan(15);
  });

  it('JSON -object/-device/-netdev mean what their key=value spelling means (QEMU ≥ 6)', () => {
    const json = accepted(['-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":1073741824}', '-machine', 'pc,memory-backend=pc.ram', '-m', '1024',
      '-device', '{"driver":"virtio-net-pci","netdev":"n0","id":"net0","bus":"pci.0","addr":"0x3"}', '-netdev', '{"type":"user","id":"n0"}'], '11.1');
    const opts = accepted(['-object', 'memory-backend-ram,id=pc.ram,size=1073741824', '-machine', 'pc,memory-backend=pc.ram', '-m', '1024',
      '-device', 'virtio-net-pci,netdev=n0,id=net0,bus=pci.0,addr=0x3', '-netdev', 'user,id=n0'], '11.1');
    expect(json).toEqual(opts);
    // QEMU 5.2 reads the JSON text as key=value (seen on 5.2+dfsg-11): no `id=` in it, and no such device model.
    expect(refusal(['-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":1073741824}'], '5.2').qemuMessage).toBe(
      `-object {"qom-type":"memory-backend-ram","id":"pc.ram","size":1073741824}: Parameter 'id' is missing`,
    );
    expect(refusal(['-device', '{"driver":"virtio-net-pci","id":"n"}'], '5.2').qemuMessage).toBe(`'{"driver":"virtio-net-pci"' is not a valid device model name`);
  });

  it('machine properties at their default change nothing; other values stay not modelled', () => {
    expect(accepted(['-machine', 'pc,usb=off,dump-guest-core=off,acpi=on']).ignored.map((i) => i.value)).toEqual(['usb=off', 'dump-guest-core=off', 'acpi=on']);
    expect(refusal(['-machine', 'q35,usb=banana']).qemuMessage).toBe("Parameter 'usb' expects 'on' or 'off'");
    expect(unsupported(['-machine', 'pc,acpi=banana']).option).toBe('-machine acpi=');
  });

  it('kernel_irqchip goes to the kvm accelerator only: nothing under TCG, not modelled under KVM', () => {
    // The model used to say QEMU refuses `kernel_irqchip=split`; 5.2, 7.2, 10.0 and 11.1 all take it.
    for (const v of V) {
      expect(accepted(['-machine', 'pc,kernel_irqchip=split', '-accel', 'tcg'], v).ignored.map((i) => i.value)).toEqual(['kernel_irqchip=split']);
      expect(() => parseQemuArgs(['-machine', 'pc,kernel_irqchip=split', '-accel', 'kvm'], { qemuVersion: v })).toThrow(UnsupportedOptionError);
    }
  });

  it('a topology level of one is accepted where the release parses that level', () => {
    expect(accepted(['-smp', '2,sockets=1,dies=1,clusters=1,cores=2,threads=1']).smp).toEqual({ cpus: 2, sockets: 1, dies: 1, cores: 2, threads: 1, maxcpus: null });
    expect(accepted(['-smp', '2,sockets=1,modules=1,clusters=1,cores=2,threads=1'], '11.1').smp.cores).toBe(2);
    expect(refusal(['-smp', '2,clusters=1'], '5.2').qemuMessage).toBe("-smp 2,clusters=1: Invalid parameter 'clusters'");
    expect(unsupported(['-smp', '4,clusters=2,cores=2']).message).toMatch(/only clusters=1/);
  });
});

describe('parseQemuArgs: ACPI off', () => {
  it('-no-acpi is -machine acpi=off where it stands; a later -machine acpi= wins', () => {
    expect(parseQemuArgs(['-M', 'pc', '-no-acpi']).machineProps).toEqual([['acpi', 'off']]);
    expect(parseQemuArgs(['-M', 'pc,acpi=off']).machineProps).toEqual([['acpi', 'off']]);
    expect(parseQemuArgs(['-no-acpi', '-M', 'pc,acpi=on']).machineProps).toEqual([]);
    expect(parseQemuArgs(['-M', 'pc,acpi=on', '-no-acpi']).machineProps).toEqual([['acpi', 'off']]);
  });

  it('prints as -machine acpi=off, which every release reads', () => {
    const c = parseQemuArgs(['-M', 'q35', '-no-acpi']);
    expect(toQemuArgs(c)).toContain('q35,acpi=off');
    for (const v of V) expect(parseQemuArgs(toQemuArgs(c), { qemuVersion: v }).machineProps).toEqual([['acpi', 'off']]);
  });
});

describe('parseQemuArgs: -usb', () => {
  it('is -machine usb=on where it stands (a later usb=off wins)', () => {
    expect(parseQemuArgs(['-M', 'pc,usb=off', '-usb']).machineProps).toEqual([['usb', 'on']]);
    expect(parseQemuArgs(['-usb', '-M', 'pc,usb=off']).machineProps).toEqual([]);
    expect(toQemuArgs(parseQemuArgs(['-M', 'q35', '-usb']))).toContain('q35,usb=on');
  });
});
