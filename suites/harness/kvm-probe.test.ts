// harness/kvm-probe.ts with fake QEMUs: every outcome (unavailable ×3, firmware-only, full),
// memoisation per binary, and no process or temp dir left behind. The firmware-only fake replays
// the real SeaBIOS log of a KVM boot on the development machine (nested KVM).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProvisionedToolchain } from '../../harness/capture.ts';
import { BootAbortedError } from '../../harness/errors.ts';
import { checkKvmDevice, clearKvmProbes, formatKvmProbe, probeKvm, runKvmProbe, type KvmProbeOptions } from '../../harness/kvm-probe.ts';
import { activeBoots } from '../../harness/run-qemu.ts';
import { ElsewhereHost, FakeKvmHost } from './fake-kvm-host.ts';
import type { Host } from '../../harness/host/types.ts';
import { fake, isAlive, recordedPids } from './helpers.ts';

let work: string;
let pidFile: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'e820-kvmtest-'));
  pidFile = join(work, 'pids');
  clearKvmProbes();
});
afterEach(() => {
  for (const pid of recordedPids(pidFile)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
  expect(activeBoots()).toBe(0);
});

const tools = (script: string): ProvisionedToolchain => ({
  qemu: { binary: fake(script), version: 'QEMU emulator version 7.2.22 (fake)', env: { FAKE_QEMU_PIDFILE: pidFile } },
  kernel: { image: '/k', fwCfgModule: null },
  initramfs: '/i',
});

/** The probe on a fake machine. */
const on = (host: Host, extra: KvmProbeOptions = {}): KvmProbeOptions => ({ host, ...extra });

describe('KVM probe outcomes', () => {
  it('unavailable without booting when the device is missing or closed to us', async () => {
    const host = new FakeKvmHost('ENOENT');
    const r = await runKvmProbe(tools('ok.sh'), on(host));
    expect(r).toMatchObject({ host: 'local', status: 'unavailable', argv: null, progress: null });
    expect(r.reason).toMatch(/^there is no \/dev\/kvm: the host kernel has no KVM/);
    const closed = await runKvmProbe(tools('ok.sh'), on(new FakeKvmHost('EACCES 660 0 106')));
    expect(closed.reason).toBe("no permission to open /dev/kvm (mode 0660, owner uid 0, group gid 106): run as a user in the device's group (usually kvm), or as root");
    // Another machine's finding names that machine, and its QEMU is not looked up here.
    const remote = await runKvmProbe(tools('ok.sh'), on(new ElsewhereHost(new FakeKvmHost('ENOENT', true, 'ssh://root@kvm1:22'))));
    expect(remote.reason).toMatch(/^ssh:\/\/root@kvm1:22: there is no \/dev\/kvm/);
    expect(remote.qemu).toEqual({ binary: 'not looked up (no probe boot)', version: 'not asked (no probe boot)' });
    expect(host.boots).toBe(0);
  });

  it('checkKvmDevice says why a path is unusable', async () => {
    expect(await checkKvmDevice(join(work, 'kvm'))).toMatch(/^there is no .*\/kvm: the host kernel has no KVM/);
    expect(await checkKvmDevice(pidFile.replace('pids', ''))).toMatch(/is not a character device/);
  });

  it("unavailable with QEMU's own message when QEMU refuses -accel kvm", async () => {
    const r = await runKvmProbe(tools('kvm-refuse.sh'), on(new FakeKvmHost()));
    expect(r.status).toBe('unavailable');
    expect(r.qemuMessage).toBe('Could not access KVM kernel module: Permission denied');
    expect(r.reason).toBe('QEMU refuses -accel kvm: Could not access KVM kernel module: Permission denied');
    expect(r.argv).toContain('kvm');
  });

  it('unavailable when SeaBIOS itself does not finish under KVM', async () => {
    const r = await runKvmProbe(tools('firmware-stuck.sh'), on(new FakeKvmHost(), { firmwareDeadlineMs: 500, deadlineMs: 300 }));
    expect(r.status).toBe('unavailable');
    expect(r.reason).toMatch(/^SeaBIOS did not finish its POST under KVM within 0.5 s \(SeaBIOS banner seen; kernel not started\) \(nested KVM/);
  });

  it('firmware-only when SeaBIOS reaches "Booting from" and the kernel stays silent (this machine)', async () => {
    // The kernel's window opens at SeaBIOS's hand-over: a slow POST (nested KVM) does not eat it.
    const r = await runKvmProbe(tools('kvm-firmware-only.sh'), on(new FakeKvmHost(), { deadlineMs: 700, firmwareDeadlineMs: 5_000 }));
    expect(r.status).toBe('firmware-only');
    expect(r.reason).toBe(
      'SeaBIOS finishes its POST under KVM (e820 map printed, "Booting from …") but the guest kernel printed nothing in the 0.7 s after that (nested KVM: this machine\'s CPU has the hypervisor flag)',
    );
    expect(r.elapsedMs).toBeLessThan(3_000);
    expect(r.progress).toMatchObject({ seabiosBanner: true, firmwareDone: true, kernelStarted: false });
    // QEMU's CPUID warnings are kept, not put in the reason.
    expect(r.stderr).toEqual(["qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]"]);
    expect(r.argv!.slice(1, 7)).toEqual(['-M', 'pc', '-m', '512M', '-accel', 'kvm']);
    for (const pid of recordedPids(pidFile)) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(formatKvmProbe(r)).toMatch(/^kvm: firmware-only — [\s\S]*so: KVM cells run with capture scope firmware/);
  });

  it('full when the guest reaches its init', async () => {
    const r = await runKvmProbe(tools('ok.sh'), on(new FakeKvmHost('OK', false)));
    expect(r.status).toBe('full');
    expect(r.reason).toMatch(/^the guest kernel reached its init under KVM in \d+\.\d s$/);
    expect(r.progress?.initStarted).toBe(true);
  });
});

describe('probeKvm memoisation', () => {
  it('one probe boot per QEMU binary per process; concurrent callers share it', async () => {
    const host = new FakeKvmHost();
    const o = on(host, { deadlineMs: 800 });
    const [a, b] = await Promise.all([probeKvm(tools('kvm-firmware-only.sh'), o), probeKvm(tools('kvm-firmware-only.sh'), o)]);
    expect(a).toBe(b);
    expect(await probeKvm(tools('kvm-firmware-only.sh'), o)).toBe(a);
    expect(host.boots).toBe(1);
    await probeKvm(tools('ok.sh'), o);
    expect(host.boots).toBe(2);
    // Another label is probed on its own, even with the same binary (this machine under another
    // name: the probe is memoised per label).
    const other = new FakeKvmHost('OK', true, 'fake://kvm2');
    await probeKvm(tools('kvm-firmware-only.sh'), on(other, { deadlineMs: 800 }));
    expect(other.boots).toBe(1);
  });

  it('an interrupted probe is not remembered', async () => {
    const controller = new AbortController();
    const o = on(new FakeKvmHost(), { deadlineMs: 5_000, signal: controller.signal });
    const p = probeKvm(tools('kvm-firmware-only.sh'), o);
    setTimeout(() => controller.abort(new Error('interrupted (SIGINT)')), 200);
    await expect(p).rejects.toBeInstanceOf(BootAbortedError);
    const again = await probeKvm(tools('ok.sh'), on(new FakeKvmHost()));
    expect(again.status).toBe('full');
    const retried = await probeKvm(tools('kvm-firmware-only.sh'), on(new FakeKvmHost(), { deadlineMs: 500 }));
    expect(retried.status).toBe('firmware-only');
  });
});
