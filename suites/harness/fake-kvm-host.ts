// A machine for KVM probe tests (harness/kvm-probe.ts takes a Host): this one, whose programs
// run the fake QEMUs (suites/harness/fake-qemu/), except for what says whether KVM is there.

import { LocalHost } from '../../harness/host/local.ts';
import type { ExecOptions, ExecResult, HostProcess, SpawnOptions } from '../../harness/host/types.ts';
import { CPUINFO_PATH } from '../../harness/host-facts.ts';
import { KVM_DEVICE } from '../../harness/kvm-probe.ts';

/**
 * A machine for the probe: this one (its programs run the fake QEMUs), except that its /dev/kvm
 * answers what `device` says (the device check's words: OK, ENOENT, `EACCES mode uid gid`) and its
 * /proc/cpuinfo has or lacks the hypervisor flag. It counts process groups started (probe boots).
 */
export class FakeKvmHost extends LocalHost {
  boots = 0;
  constructor(
    private readonly device = 'OK',
    private readonly hypervisor = true,
    override readonly label = 'local',
  ) {
    super();
  }

  override async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    if (argv[0] === 'sh' && argv.at(-1) === KVM_DEVICE) return { exitCode: 0, signal: null, stdout: `${this.device}\n`, stderr: '', timedOut: false };
    return super.exec(argv, opts);
  }

  override async readFile(path: string): Promise<Buffer> {
    if (path === CPUINFO_PATH) return Buffer.from(`processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu lm${this.hypervisor ? ' hypervisor' : ''}\naddress sizes\t: 48 bits physical, 48 bits virtual\n`);
    return super.readFile(path);
  }

  override spawnGroup(argv: readonly string[], opts?: SpawnOptions): Promise<HostProcess> {
    this.boots++;
    return super.spawnGroup(argv, opts);
  }
}

