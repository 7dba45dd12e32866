// A machine for KVM probe tests (harness/kvm-probe.ts takes a Host): this one, whose programs
// run the fake QEMUs (suites/harness/fake-qemu/), except for what says whether KVM is there.

import { LocalHost } from '../../harness/host/local.ts';
import type { DirEntry, ExecOptions, ExecResult, Host, HostProcess, SpawnOptions } from '../../harness/host/types.ts';
import { CPUINFO_PATH } from '../../harness/host-facts.ts';
import { KVM_DEVICE } from '../../harness/kvm-probe.ts';

/**
 * A machine for the probe: this one (its programs run the fake QEMUs; isThisMachine is true, so
 * the probe, run-qemu and the cpuid read take their branches for this machine), except that its /dev/kvm
 * answers what `device` says (the device check's words: OK, ENOENT, `EACCES mode uid gid`) and its
 * /proc/cpuinfo has or lacks the hypervisor flag. It counts process groups started (probe boots).
 */
export class FakeKvmHost extends LocalHost {
  boots = 0;
  constructor(
    private readonly device = 'OK',
    private readonly hypervisor = true,
    /** Only what findings call the machine (`ssh://…: there is no /dev/kvm`); never a remote host's branches. */
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


/**
 * Another machine, as the code sees one (not a LocalHost: isThisMachine is false, so the probe,
 * the cpu facts and the commands take their branches for another host), whose commands and files
 * are a FakeKvmHost's. Only for what needs no boot there: a probe that boots on another host goes
 * through its remote stage (uploads, its own QEMU), exercised through the loopback sshd in
 * suites/host/remote-tools.test.ts.
 */
export class ElsewhereHost implements Host {
  constructor(private readonly on: FakeKvmHost) {}
  get label(): string {
    return this.on.label;
  }
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.on.exec(argv, opts);
  }
  pipe(a: readonly string[], b: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.on.pipe(a, b, opts);
  }
  which(name: string): Promise<string | null> {
    return this.on.which(name);
  }
  spawnGroup(argv: readonly string[], opts?: SpawnOptions): Promise<HostProcess> {
    return this.on.spawnGroup(argv, opts);
  }
  readFile(path: string): Promise<Buffer> {
    return this.on.readFile(path);
  }
  readFrom(path: string, offset: number, max: number): Promise<Buffer | null> {
    return this.on.readFrom(path, offset, max);
  }
  writeFile(path: string, data: string | Uint8Array, mode?: number): Promise<void> {
    return this.on.writeFile(path, data, mode);
  }
  readDir(path: string): Promise<DirEntry[]> {
    return this.on.readDir(path);
  }
  exists(path: string): Promise<boolean> {
    return this.on.exists(path);
  }
  makeTempDir(prefix: string): Promise<string> {
    return this.on.makeTempDir(prefix);
  }
  removeDir(path: string): Promise<void> {
    return this.on.removeDir(path);
  }
  isRoot(): Promise<boolean> {
    return this.on.isRoot();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
