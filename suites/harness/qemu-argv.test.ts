import { describe, expect, it } from 'vitest';
import { HarnessArgvError } from '../../harness/errors.ts';
import {
  HARNESS_KERNEL_ARGS,
  harnessArgv,
  kernelCommandLine,
  planHarnessArgv,
  planQtestArgv,
  qemuOptValue,
  type HarnessArgvOptions,
} from '../../harness/qemu-argv.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { guestHasOneCpu, guestKernelCommandLine } from '../../reference/guest.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';

const base = (userArgs: string[], extra: Partial<HarnessArgvOptions> = {}): HarnessArgvOptions => ({
  userArgs,
  kernel: '/cache/vmlinuz',
  initrd: '/cache/initrd.gz',
  serialLog: '/tmp/b/serial.log',
  firmwareLog: '/tmp/b/firmware.log',
  ...extra,
});

/** Values of every occurrence of an option. */
const values = (argv: string[], opt: string) => argv.flatMap((a, i) => (a === opt ? [argv[i + 1]!] : []));

describe('harnessArgv', () => {
  it('keeps the user arguments in order and adds the fixed parts', () => {
    const argv = harnessArgv(base(['-M', 'q35', '-m', '2G', '-smp', '2']));
    expect(argv.slice(0, 6)).toEqual(['-M', 'q35', '-m', '2G', '-smp', '2']);
    expect(values(argv, '-kernel')).toEqual(['/cache/vmlinuz']);
    expect(values(argv, '-initrd')).toEqual(['/cache/initrd.gz']);
    expect(values(argv, '-append')).toEqual([HARNESS_KERNEL_ARGS]);
    expect(values(argv, '-serial')).toEqual(['file:/tmp/b/serial.log']);
    expect(values(argv, '-chardev')).toEqual(['file,id=e820fw,path=/tmp/b/firmware.log']);
    // Port 0x402 is where SeaBIOS writes; plain -debugcon would listen on 0xe9.
    expect(values(argv, '-device')).toEqual(['isa-debugcon,iobase=0x402,chardev=e820fw']);
    expect(values(argv, '-display')).toEqual(['none']);
    expect(values(argv, '-monitor')).toEqual(['none']);
    expect(argv).toContain('-no-reboot');
    expect(argv).not.toContain('-nographic');
    expect(argv).not.toContain('-debugcon');
  });

  it('fixed kernel arguments are console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp', () => {
    expect(HARNESS_KERNEL_ARGS).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp');
  });

  it("merges the user's -append after the fixed arguments, once", () => {
    const plan = planHarnessArgv(base(['-m', '1G', '-append', 'mem=512M memmap=1M$0x1000000']));
    expect(values(plan.args, '-append')).toEqual(['console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp mem=512M memmap=1M$0x1000000']);
    expect(plan.kernelCmdline).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp mem=512M memmap=1M$0x1000000');
    expect(plan.userAppend).toBe('mem=512M memmap=1M$0x1000000');
  });

  it('takes the last -append, as QEMU does, and lists the earlier one as dropped', () => {
    const plan = planHarnessArgv(base(['-append', 'quiet', '--append', 'mem=1G']));
    expect(values(plan.args, '-append')).toEqual(['console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp mem=1G']);
    expect(plan.dropped).toEqual([{ option: '-append', value: 'quiet', why: 'QEMU uses only the last -append' }]);
  });

  it('gives noapictimer and noreplace-smp to a one-CPU guest only (its broadcast ticks would be IPIs to every other CPU; a guest with more CPUs is never patched to UP)', () => {
    expect(planHarnessArgv(base(['-smp', '4'], { oneCpu: false })).kernelCmdline).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0');
    expect(planHarnessArgv(base(['-smp', '4'], { oneCpu: false })).kernelCmdline).toBe(guestKernelCommandLine('', 0, guestHasOneCpu(parseQemuArgs(['-smp', '4']))));
    for (const smp of [[], ['-smp', '1'], ['-smp', '1,maxcpus=4'], ['-smp', 'cpus=1,sockets=1']]) expect(guestHasOneCpu(parseQemuArgs(smp))).toBe(true);
    for (const smp of [['-smp', '2'], ['-smp', 'sockets=2'], ['-smp', '1,cores=2,maxcpus=2'], ['-smp', 'threads=2']]) expect(guestHasOneCpu(parseQemuArgs(smp))).toBe(false);
  });

  it('puts the guest arguments between the fixed ones and the user', () => {
    const plan = planHarnessArgv(base(['-append', 'mem=1G'], { kernelArgs: 'rdinit=/init' }));
    expect(plan.kernelCmdline).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp rdinit=/init mem=1G');
    expect(kernelCommandLine('', '')).toBe(HARNESS_KERNEL_ARGS);
  });

  it('replaces console/display/monitor options the harness owns and says so', () => {
    const plan = planHarnessArgv(base(['-nographic', '-serial', 'stdio', '-m', '1G', '-monitor', 'stdio', '-display', 'gtk', '-no-reboot']));
    expect(plan.dropped.map((d) => d.option)).toEqual(['-nographic', '-serial', '-monitor', '-display', '-no-reboot']);
    expect(values(plan.args, '-serial')).toEqual(['file:/tmp/b/serial.log']);
    expect(values(plan.args, '-monitor')).toEqual(['none']);
    expect(plan.args.filter((a) => a === '-no-reboot')).toHaveLength(1);
    expect(plan.args).toContain('1G');
  });

  it('boots a guest libvirt would start stopped (-S) running, saying so', () => {
    const plan = planHarnessArgv(base(['-S', '-M', 'pc']));
    expect(plan.args).not.toContain('-S');
    expect(plan.dropped).toEqual([{ option: '-S', value: null, why: expect.stringMatching(/cont/) }]);
  });

  it('refuses options that cannot work with a harness boot', () => {
    expect(() => harnessArgv(base(['-kernel', '/boot/vmlinuz']))).toThrow(HarnessArgvError);
    expect(() => harnessArgv(base(['-kernel', '/boot/vmlinuz']))).toThrow(/-kernel: cannot be used with the harness/);
    expect(() => harnessArgv(base(['-daemonize']))).toThrow(HarnessArgvError);
    expect(() => harnessArgv(base(['-chardev', 'socket,id=e820fw,path=/x']))).toThrow(/reserved/);
    expect(() => harnessArgv(base(['-m']))).toThrow(/-m: requires an argument/);
  });

  it('adds -accel tcg (one host thread for all vCPUs) by default, the given accelerator otherwise, and never overrides the user', () => {
    expect(values(harnessArgv(base([])), '-accel')).toEqual(['tcg,thread=single']);
    expect(planHarnessArgv(base([])).accel).toBe('tcg');
    expect(values(harnessArgv(base(['-accel', 'tcg'])), '-accel')).toEqual(['tcg']);
    expect(values(harnessArgv(base([], { accel: 'kvm' })), '-accel')).toEqual(['kvm']);
    expect(values(harnessArgv(base(['-accel', 'kvm'])), '-accel')).toEqual(['kvm']);
    expect(planHarnessArgv(base(['-enable-kvm'])).accel).toBe('kvm');
    expect(values(harnessArgv(base(['-enable-kvm'])), '-accel')).toEqual([]);
    expect(planHarnessArgv(base(['-M', 'q35,accel=tcg'], { accel: 'kvm' })).accel).toBe('tcg');
    expect(values(harnessArgv(base(['-M', 'q35,accel=tcg'])), '-accel')).toEqual([]);
  });

  it('walks no-argument options correctly (does not eat the next option)', () => {
    const argv = harnessArgv(base(['-nodefaults', '-m', '1G', '-no-hpet', '-snapshot', 'disk.img']));
    expect(argv.slice(0, 6)).toEqual(['-nodefaults', '-m', '1G', '-no-hpet', '-snapshot', 'disk.img']);
  });

  it('escapes commas in the firmware log path and can add a firmware directory', () => {
    expect(qemuOptValue('/tmp/a,b')).toBe('/tmp/a,,b');
    const argv = harnessArgv(base([], { firmwareLog: '/tmp/a,b/fw.log', firmwareDir: '/opt/seabios-1.17' }));
    expect(values(argv, '-chardev')).toEqual(['file,id=e820fw,path=/tmp/a,,b/fw.log']);
    expect(argv.slice(0, 2)).toEqual(['-L', '/opt/seabios-1.17']);
  });

  it('is pure: same input, same output, input not mutated', () => {
    const user = ['-m', '1G', '-append', 'x'];
    const copy = [...user];
    expect(harnessArgv(base(user))).toEqual(harnessArgv(base(user)));
    expect(user).toEqual(copy);
  });
});

describe('the console when the user holds COM1', () => {
  it('goes to an ISA serial port of its own at the given index, with -serial none so QEMU adds no COM1', () => {
    const plan = planHarnessArgv(base(['-device', 'isa-serial,index=0'], { consoleIndex: 1 }));
    expect(plan.kernelCmdline).toBe('console=ttyS1 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp');
    expect(values(plan.args, '-serial')).toEqual(['none']);
    expect(plan.args.join(' ')).toContain('-device isa-serial,chardev=e820con,index=1');
    expect(() => planHarnessArgv(base(['-chardev', 'null,id=e820con']))).toThrow(/reserved for the harness's console/);
  });
});

describe('planQtestArgv: the same user arguments as a boot, no guest', () => {
  it('drops the guest-only options, refuses what a boot refuses, replaces what a boot replaces', () => {
    const plan = planQtestArgv({ userArgs: ['-M', 'q35', '-kernel', 'k', '-append', 'quiet', '-display', 'gtk', '-m', '2G'] });
    expect(plan.args.slice(0, 4)).toEqual(['-M', 'q35', '-m', '2G']);
    expect(plan.dropped.map((d) => d.option)).toEqual(['-kernel', '-append', '-display']);
    expect(plan.accel).toBe('tcg');
    expect(plan.args).toContain('-S');
    expect(() => planQtestArgv({ userArgs: ['-daemonize'] })).toThrow(HarnessArgvError);
    expect(planQtestArgv({ userArgs: ['-accel', 'kvm'] }).args.filter((a) => a === '-accel')).toHaveLength(1);
  });
});

describe('-audio none where the release wants it (QemuProfile.harnessAudioNone)', () => {
  const audio = (args: string[]) => args.flatMap((a, i) => (a === '-audio' ? [args[i + 1]] : []));
  it('is added to boots and qtest runs on 10.0 and 11.1, not on 5.2 and 7.2', () => {
    for (const q of ['5.2', '7.2', '10.0', '11.1'] as const) {
      const want = QEMU_PROFILES[q].harnessAudioNone ? ['none'] : [];
      expect(audio(planHarnessArgv(base(['-device', 'sb16'], { audioNone: QEMU_PROFILES[q].harnessAudioNone })).args)).toEqual(want);
      expect(audio(planQtestArgv({ userArgs: ['-device', 'AC97'], audioNone: QEMU_PROFILES[q].harnessAudioNone }).args)).toEqual(want);
    }
    expect([QEMU_PROFILES['10.0'].harnessAudioNone, QEMU_PROFILES['11.1'].harnessAudioNone]).toEqual([true, true]);
  });
  it('is left out when the user names an audio backend', () => {
    expect(audio(planHarnessArgv(base(['-audiodev', 'pa,id=snd', '-device', 'sb16,audiodev=snd'], { audioNone: true })).args)).toEqual([]);
    expect(audio(planQtestArgv({ userArgs: ['-audio', 'driver=none,model=hda'], audioNone: true }).args)).toEqual(['driver=none,model=hda']);
  });
});
