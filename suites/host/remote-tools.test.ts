// Through the loopback OpenSSH server (suites/host/sshd-server.ts): the runner's KVM probe runs
// on the remote host and a KVM cell takes that host's answer; and a remote host's own QEMU build
// named in its URL (?qemu=…&bios=…) boots cells there — here a copy of this machine's Debian
// QEMU (installed in a prefix of its own: its modules and data beside it) and of its SeaBIOS
// image, placed in a temp dir with a hostile name on the "remote" side.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionToolchain, type ProvisionedToolchain } from '../../harness/capture.ts';
import { addBootBinaries } from '../../harness/binaries.ts';
import { closeRemotes, hostOf } from '../../harness/host/connect.ts';
import { remoteStageOf } from '../../harness/host/remote-stage.ts';
import { HostSlots } from '../../harness/host/slots.ts';
import type { Host } from '../../harness/host/types.ts';
import { clearKvmProbes, probeKvm } from '../../harness/kvm-probe.ts';
import { realDeps } from '../../harness/matrix/deps.ts';
import { runMatrix } from '../../harness/matrix/runner.ts';
import type { CellRun } from '../../harness/matrix/schema.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { startTestSshd, type TestSshd } from './sshd-server.ts';

/** This machine's QEMU and SeaBIOS: what the copies are made from (Debian's qemu-system-x86 and seabios). */
const HOST_QEMU = '/usr/bin/qemu-system-x86_64';
const HOST_BIOS = '/usr/share/seabios/bios-256k.bin';
/** What Debian's build finds relative to /usr/bin: accelerator and device modules, ROMs (its --firmwarepath). */
const HOST_PREFIX: Array<[string, string]> = [
  ['lib/x86_64-linux-gnu/qemu', '/usr/lib/x86_64-linux-gnu/qemu'],
  ['share/qemu', '/usr/share/qemu'],
  ['share/seabios', '/usr/share/seabios'],
  ['lib/ipxe/qemu', '/usr/lib/ipxe/qemu'],
];

let server: TestSshd;
let provisioned: ProvisionedToolchain;
let work: string;
const opened: Host[] = [];

beforeAll(async () => {
  server = await startTestSshd();
  provisioned = await provisionToolchain(BASELINE_TOOLCHAIN);
  work = mkdtempSync(join(tmpdir(), 'e820-named-'));
}, 600_000);

afterAll(async () => {
  await closeRemotes(opened);
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const connect = async (query = ''): Promise<Host> => {
  const h = await hostOf(`${server.url}${query}`, { hostKey: server.fingerprint, identity: server.identity });
  opened.push(h);
  return h;
};

describe('KVM on a remote host', () => {
  it("the runner probes it there and a KVM cell takes that host's answer (here: nested KVM does not run Linux — the honest answer), named by the host", async () => {
    clearKvmProbes();
    const host = await connect();
    const cell: CellRun = {
      cell: { matrix: 'remote-kvm', file: '(test)', index: 0, id: 'pc-1G-kvm', qemu: ['-M', 'pc', '-m', '1G', '-accel', 'kvm'], append: null, toolchains: [BASELINE_TOOLCHAIN], note: null, timeoutSeconds: null, line: 0 },
      toolchain: BASELINE_TOOLCHAIN,
      key: 'remote-kvm/pc-1G-kvm',
    };
    const slots = new HostSlots([{ host, jobs: 1 }]);
    const s = await runMatrix([cell], await realDeps({ slots }), { jobs: 1 });
    const r = s.results[0]!;
    // The probe the runner asked is that host's (memoised per host: this is the same answer).
    const probe = await probeKvm(provisioned, { host });
    expect(probe.host).toBe(server.url);
    expect(r.kvm).toMatchObject({ status: probe.status, reason: probe.reason, on: server.url });
    // This machine's kernel boots nowhere under its nested KVM: never `full` here.
    expect(probe.status).not.toBe('full');
    if (probe.status === 'firmware-only') {
      // The probe boot ran there: the host's own QEMU, the kernel and initramfs uploaded to its stage.
      const stage = await remoteStageOf(host).tools();
      expect(probe.argv?.[0]).toBe(stage.qemu);
      expect(probe.argv?.join(' ')).toMatch(/-kernel \/\S*e820-files-[^/ ]+\//);
      if (probe.nested === true) expect(probe.reason).toContain(`(nested KVM: ${server.url}'s CPU has the hypervisor flag)`);
      // The cell booted there in firmware scope, with that host's reason, and passed.
      expect(r.ranOn).toBe(server.url);
      expect(r.scope).toEqual({ scope: 'firmware', reason: `KVM probe on ${server.url}: firmware-only — ${probe.reason}` });
      expect(r.outcome, JSON.stringify(r.verdict)).toBe('pass');
      // Judged for that host's CPU, read there.
      expect(r.kvm?.host?.startsWith(`${server.url}: `)).toBe(true);
      expect(r.kvm?.host).toMatch(/: (AuthenticAMD|GenuineIntel|HygonGenuine), \d+ physical address bits/);
    } else {
      // No usable /dev/kvm for the remote account: the device check ran there and says so.
      expect(probe.reason.startsWith(`${server.url}: `)).toBe(true);
      expect(r.verdict?.outcome === 'error' && r.verdict.error.kind).toBe('KvmUnavailable');
    }
  }, 400_000);
});

describe('a remote QEMU build named in the URL', () => {
  let qemuCopy: string;
  let biosCopy: string;
  let host: Host;

  beforeAll(async () => {
    // A path a shell would mangle: spaces, quotes, $( ), a semicolon.
    const dir = join(work, "opt dir; it's $(echo x)");
    mkdirSync(join(dir, 'bin'), { recursive: true });
    qemuCopy = join(dir, 'bin', 'qemu-system-x86_64');
    biosCopy = join(dir, 'bios.bin');
    copyFileSync(HOST_QEMU, qemuCopy);
    copyFileSync(HOST_BIOS, biosCopy);
    // An installed build finds its modules and data relative to its binary (QEMU 7.2
    // util/cutils.c get_relocated_path): the prefix gets them, as `make install` would put them.
    for (const [sub, target] of HOST_PREFIX) {
      mkdirSync(dirname(join(dir, sub)), { recursive: true });
      symlinkSync(target, join(dir, sub));
    }
    host = await connect(`?qemu=${encodeURIComponent(qemuCopy)}&bios=${encodeURIComponent(biosCopy)}`);
  }, 120_000);

  it('is checked, asked its version (-version) and hashed there; its profile is chosen as for a local user build', async () => {
    const t = await remoteStageOf(host).tools();
    expect(t.qemu).toBe(qemuCopy);
    expect(t.versionLine).toMatch(/^QEMU emulator version 7\.2\.\d+/);
    expect(t.qemuProfile).toBe('7.2');
    expect(t.named.qemu?.sha256).toBe(sha256(HOST_QEMU));
    expect(t.named.qemu?.profile.text).toMatch(/^QEMU 7\.2\.\d+: predicted with the 7\.2 profile$/);
    expect(t.named.bios?.sha256).toBe(sha256(HOST_BIOS));
    // The image, copied under both names QEMU looks for, in the stage's private dir.
    expect(t.firmwareDir).toMatch(/e820-files-[^/]+\/firmware$/);
    for (const n of ['bios-256k.bin', 'bios.bin']) expect(sha256(join(t.firmwareDir!, n))).toBe(sha256(HOST_BIOS));
  }, 120_000);

  it('boots cells there with exactly those binaries, recorded by sha256', async () => {
    const runs: CellRun[] = [['pc-1G', ['-M', 'pc', '-m', '1G']] as const].map(([id, qemu], index) => ({
      cell: { matrix: 'named', file: '(test)', index, id, qemu: [...qemu], append: null, toolchains: [BASELINE_TOOLCHAIN], note: null, timeoutSeconds: null, line: 0 },
      toolchain: BASELINE_TOOLCHAIN,
      key: `named/${id}`,
    }));
    const slots = new HostSlots([{ host, jobs: 1 }]);
    const s = await runMatrix(runs, await realDeps({ slots }), { jobs: 1 });
    const r = s.results[0]!;
    expect(r.outcome, JSON.stringify(r.verdict)).toBe('pass');
    expect(r.ranOn).toBe(server.url);
    expect(r.qemuArgv?.[0]).toBe(qemuCopy);
    const t = await remoteStageOf(host).tools();
    expect(r.qemuArgv?.[r.qemuArgv.indexOf('-L') + 1]).toBe(t.firmwareDir);
    await addBootBinaries(s.results);
    expect(r.binaries?.qemu).toMatchObject({ path: qemuCopy, sha256: sha256(HOST_QEMU) });
    expect(r.binaries?.bios).toMatchObject({ path: join(t.firmwareDir!, 'bios-256k.bin'), sha256: sha256(HOST_BIOS) });
    expect(r.binaries?.kernel?.sha256).toBe(sha256(provisioned.kernel.image));
  }, 600_000);

  it('a named binary that is missing or is not QEMU is refused with what is wrong', async () => {
    const missing = await connect(`?qemu=${encodeURIComponent(join(work, 'nope', 'qemu'))}`);
    await expect(remoteStageOf(missing).tools()).rejects.toThrow(`${server.url}: qemu=${join(work, 'nope', 'qemu')} does not exist there`);
    const notQemu = await connect(`?qemu=/bin/true`);
    await expect(remoteStageOf(notQemu).tools()).rejects.toThrow(/qemu=\/bin\/true does not answer -version as QEMU does/);
    expect(existsSync(qemuCopy)).toBe(true);
  }, 120_000);
});
