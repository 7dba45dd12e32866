// KVM cells and firmware-scope captures in the matrix: the runner consults the KVM probe
// (unavailable → a harness error that says why; firmware-only → firmware scope with the kernel
// layer excluded and the probe's reason in the result; full → a normal capture), a prediction
// whose kernel never starts gets firmware scope too, and whatever was left out is listed — in the
// verdict, the summary table and JUnit — never passed silently.

import { describe, expect, test } from 'vitest';
import { compareReports, formatVerdict } from '../../harness/matrix/compare.ts';
import type { MatrixDeps, ObservationLike } from '../../harness/matrix/deps.ts';
import { junitXml, summaryTable } from '../../harness/matrix/reporters.ts';
import { runCell } from '../../harness/matrix/runner.ts';
import { expandRuns, MatrixFileError, parseMatrix } from '../../harness/matrix/schema.ts';
import { renderSnapshot } from '../../harness/matrix/snapshot.ts';
import type { KvmProbeResult } from '../../harness/kvm-probe.ts';
import { isE820IomemLine as isE820Line } from '../../harness/matrix/deps.ts';
import { MissingToolError } from '../../harness/errors.ts';
import { fakeBootContext, fakeDeps, refusedBy, observedFrom, sampleReport } from './fakes.ts';
import { runMatrix } from '../../harness/matrix/runner.ts';
import type { Host } from '../../harness/host/types.ts';
import type { ProvisionedToolchain } from '../../harness/capture.ts';
import { clearKvmProbes, probeKvm } from '../../harness/kvm-probe.ts';
import { FakeKvmHost } from '../harness/fake-kvm-host.ts';
import { fake } from '../harness/helpers.ts';

const run = (qemu: string, extra = '') => expandRuns(parseMatrix(`${extra}cells:\n  - id: c\n    qemu: ${qemu}\n`, 'k.yaml'))[0]!;

const probe = (status: KvmProbeResult['status'], reason: string): MatrixDeps['kvmProbe'] => async () => ({ status, reason }) as KvmProbeResult;

/** What a firmware-scope capture observes: the firmware layer only, the rest unobserved with the reason. */
function firmwareOnly(reason: string): ObservationLike {
  const r = observedFrom(sampleReport());
  return {
    report: { firmware: r.firmware! },
    unobserved: [
      { layer: 'qemu', field: 'e820', reason: `no guest ran to read fw_cfg etc/e820 (${reason})` },
      ...['biosE820', 'e820Edits', 'memmap', 'iomem'].map((field) => ({ layer: 'kernel', field, reason })),
    ],
  };
}

describe('runner: KVM cells consult the probe', () => {
  test('unavailable: a harness error that says KVM is unavailable and why; nothing boots', async () => {
    const d = fakeDeps({ kvmProbe: probe('unavailable', 'there is no /dev/kvm: the host kernel has no KVM') });
    const r = await runCell(run('-M pc -m 1G -accel kvm'), d);
    expect(r.outcome).toBe('error');
    expect(r.verdict?.outcome === 'error' && r.verdict.error).toEqual({
      kind: 'KvmUnavailable',
      message: 'KVM is unavailable on this machine, and this cell needs -accel kvm: there is no /dev/kvm: the host kernel has no KVM',
    });
    expect(r.kvm).toMatchObject({ status: 'unavailable' });
    expect(d.captured).toEqual([]);
  });

  test('firmware-only: firmware scope, the kernel layer excluded with the probe reason, in the result', async () => {
    const d = fakeDeps({
      kvmProbe: probe('firmware-only', 'SeaBIOS finishes its POST under KVM but the guest kernel printed nothing within 15 s'),
      prediction: () => ({ host: 'AuthenticAMD, 48 physical address bits (given)' }),
      observe: async () => firmwareOnly('capture scope firmware: KVM probe: firmware-only — …'),
    });
    const r = await runCell(run('-M pc -m 1G -accel kvm'), d);
    const why = 'capture scope firmware: KVM probe: firmware-only — SeaBIOS finishes its POST under KVM but the guest kernel printed nothing within 15 s';
    expect(d.captureOptions[0]).toMatchObject({ scope: 'firmware', scopeReason: 'KVM probe: firmware-only — SeaBIOS finishes its POST under KVM but the guest kernel printed nothing within 15 s' });
    expect(r.outcome).toBe('pass');
    expect(r.scope).toEqual({ scope: 'firmware', reason: why.slice('capture scope firmware: '.length) });
    expect(r.kvm).toEqual({ status: 'firmware-only', reason: 'SeaBIOS finishes its POST under KVM but the guest kernel printed nothing within 15 s', host: 'AuthenticAMD, 48 physical address bits (given)' });
    const v = r.verdict!;
    if (v.outcome !== 'pass') throw new Error('expected a pass');
    expect(v.counts.excluded).toEqual(['kernel.biosE820', 'kernel.e820Edits', 'kernel.memmap', 'kernel.iomem'].map((field) => ({ field, reason: why })));
    expect(v.fields.filter((f) => f.status === 'match').map((f) => f.field)).toEqual(['firmware.e820', 'firmware.zoneHighReturned']);
    expect(v.counts.unobserved.map((u) => u.field)).toEqual(['qemu.e820']);
    expect(formatVerdict(v)).toContain(`excluded (not compared): kernel.biosE820, kernel.e820Edits, kernel.memmap, kernel.iomem — ${why}`);
    // The summary and JUnit say it too: a pass that left a layer out is not a plain pass.
    expect(summaryTable([r], 1000, false)).toMatch(/k\/c +PASS .*firmware scope: kernel layer not compared/);
    const xml = junitXml([r], 1000);
    expect(xml).toContain('<system-out>PASS');
    expect(xml).toContain('excluded (not compared): kernel.biosE820');
  });

  test('full: an ordinary capture; TCG cells never ask the probe', async () => {
    let asked = 0;
    const d = fakeDeps({ kvmProbe: async (...a) => (asked++, probe('full', 'the guest kernel reached its init under KVM in 0.9 s')!(...a)) });
    const kvm = await runCell(run('-M pc -m 1G -accel kvm'), d);
    expect(kvm.outcome).toBe('pass');
    expect(d.captureOptions[0]?.scope).toBeUndefined();
    expect(kvm.scope).toEqual({ scope: 'full', reason: null });
    const tcg = await runCell(run('-M pc -m 1G'), d);
    expect(tcg.kvm).toBeNull();
    expect(asked).toBe(1);
  });

  test('a probe that cannot run is a harness error for the cell, not a pass', async () => {
    const d = fakeDeps({
      kvmProbe: async () => {
        throw new MissingToolError('qemu-system-x86_64', 'install qemu-system-x86', fakeBootContext());
      },
    });
    const r = await runCell(run('-M pc -m 1G -accel kvm'), d);
    expect(r.verdict?.outcome === 'error' && r.verdict.error.kind).toBe('KvmProbe/MissingToolError');
  });

  test('a model refusal under firmware-only KVM is still checked against QEMU', async () => {
    const d = fakeDeps({
      kvmProbe: probe('firmware-only', 'kernel silent'),
      observe: async () => refusedBy('qemu-system-x86_64: warning: Host physical bits (48) does not match phys-bits property (33)\nqemu-system-x86_64: invalid thing\n'),
    });
    const r = await runCell(run('-M pc -m 8G -accel kvm refuse'), d);
    expect(r.outcome).toBe('pass');
    expect(d.captureOptions[0]?.scope).toBe('firmware');
  });
});

describe('runner: the model says the kernel never starts', () => {
  test('firmware scope, kernel layer excluded with the model reason', async () => {
    const d = fakeDeps({
      expected: () => ({ qemu: sampleReport().qemu!, firmware: sampleReport().firmware! }),
      prediction: () => ({ kernelStarts: false, unpredicted: ['kernel: the 486 has no long mode; the x86-64 guest kernel never starts'] }),
      observe: async () => firmwareOnly('capture scope firmware: the model says …'),
    });
    const r = await runCell(run('-M isapc -m 16M'), d);
    expect(d.captureOptions[0]?.scope).toBe('firmware');
    expect(d.captureOptions[0]?.scopeReason).toBe('the model does not claim a running guest kernel on this configuration (kernel: the 486 has no long mode; the x86-64 guest kernel never starts)');
    expect(r.outcome).toBe('pass');
    const v = r.verdict!;
    expect(v.outcome === 'pass' && v.counts.excluded.map((e) => e.field)).toEqual(['kernel.biosE820', 'kernel.e820Edits', 'kernel.memmap', 'kernel.iomem']);
    expect(v.outcome === 'pass' && v.counts.notPredicted).toEqual([]);
  });

  test('and the firmware prints nothing: the cell is not claimed and not booted (explore boots it to learn whether QEMU starts it)', async () => {
    const silent = "SeaBIOS 1.16.3's 128 KiB bios.bin (Debian's build) is built without debug output (DEBUG_IO off): it prints nothing on port 0x402, so its map cannot be observed";
    const prediction = () => ({ kernelStarts: false, unpredicted: ['kernel: no long mode'], firmwareUnobservable: silent });
    const d = fakeDeps({ prediction });
    const r = await runCell(run('-M pc -m 1G -cpu pentium3 -bios bios.bin'), d);
    expect(d.captured).toEqual([]);
    expect(r.claim).toBe('not-modelled');
    expect(r.verdict).toMatchObject({ outcome: 'error', error: { kind: 'Model/NothingObservable' } });
    expect(r.verdict!.outcome === 'error' && r.verdict!.error.message).toContain(`nothing this harness observes: ${silent}; and the kernel layer is out of scope (the model does not claim a running guest kernel on this configuration (kernel: no long mode))`);
    const e = { ...fakeDeps({ prediction }), bootNotModelled: true };
    const booted = await runCell(run('-M pc -m 1G -cpu pentium3 -bios bios.bin'), e);
    expect(booted.claim).toBe('not-modelled');
    expect(e.captured.length).toBe(1);
    // The verdict stays the model's, whatever QEMU did, under the claim's own label.
    expect(booted.verdict).toMatchObject({ outcome: 'error', error: { kind: 'Model/NothingObservable' } });
    // A firmware that prints, or a kernel that starts: booted and compared as before.
    const f = fakeDeps({ prediction: () => ({ kernelStarts: true, firmwareUnobservable: silent }) });
    await runCell(run('-M pc -m 1G -bios bios.bin'), f);
    expect(f.captured.length).toBe(1);
  });

  test('--scope full overrides it; --scope firmware forces firmware scope on any cell', async () => {
    const d = fakeDeps({ prediction: () => ({ kernelStarts: false, unpredicted: ['x'] }) });
    await runCell(run('-M pc -m 1G'), d, { scope: 'full' });
    expect(d.captureOptions[0]?.scope).toBeUndefined();
    const e = fakeDeps({ observe: async () => firmwareOnly('capture scope firmware: asked for (--scope firmware)') });
    const r = await runCell(run('-M pc -m 1G'), e, { scope: 'firmware' });
    expect(e.captureOptions[0]).toMatchObject({ scope: 'firmware', scopeReason: 'asked for (--scope firmware)' });
    expect(r.outcome).toBe('pass');
  });
});

describe('compare: excluded layers', () => {
  test('an excluded layer is never compared, even when both sides hold it', () => {
    const observed = observedFrom(sampleReport());
    observed.kernel!.biosE820 = ['something else entirely'];
    const v = compareReports({ expected: sampleReport(), observed, excluded: [{ layer: 'kernel', reason: 'capture scope firmware: asked for' }], isE820IomemLine: isE820Line });
    expect(v.outcome).toBe('pass');
    expect(v.fields!.filter((f) => f.status === 'excluded').map((f) => [f.field, f.reason, f.compared])).toEqual(
      ['kernel.biosE820', 'kernel.e820Edits', 'kernel.memmap', 'kernel.iomem'].map((f) => [f, 'capture scope firmware: asked for', 0]),
    );
  });

  test('a predicted firmware layer left unobserved once the kernel is excluded is an error, not a pass', () => {
    const v = compareReports({
      expected: sampleReport(),
      observed: {},
      unobserved: [{ layer: 'firmware', field: 'e820', reason: 'the SeaBIOS debug log is empty' }],
      excluded: [{ layer: 'kernel', reason: 'capture scope firmware: …' }],
      isE820IomemLine: isE820Line,
    });
    expect(v.outcome === 'error' && v.error.kind).toBe('Unobserved');
    expect(v.outcome === 'error' && v.error.message).toContain('firmware.e820 (the SeaBIOS debug log is empty)');
  });
});

describe('matrix files and snapshots of KVM cells', () => {
  const HOST = 'snapshotHost: { cpuVendor: AuthenticAMD, physBits: 48 }\n';

  test('snapshotHost is validated and reaches every cell', () => {
    expect(run('-M pc -accel kvm', HOST).cell.snapshotHost).toEqual({ cpuVendor: 'AuthenticAMD', physBits: 48 });
    expect(() => parseMatrix(`snapshotHost: { cpuVendor: VIA, physBits: 48 }\ncells:\n  - id: c\n    qemu: -m 1G\n`, 'k.yaml')).toThrow(MatrixFileError);
    expect(() => parseMatrix(`snapshotHost: { cpuVendor: GenuineIntel, physBits: 60 }\ncells:\n  - id: c\n    qemu: -m 1G\n`, 'k.yaml')).toThrow(/snapshotHost\.physBits/);
  });

  test('a KVM snapshot is written for the file host, never for the machine it is written on', () => {
    const d = fakeDeps();
    const text = renderSnapshot(run('-M pc -m 1G -accel kvm', HOST), d);
    expect(text).toContain('# host (KVM): AuthenticAMD, 48 physical address bits (the matrix\'s snapshotHost; a run predicts for the machine it boots on)');
    expect(d.predictHosts).toEqual([{ cpuVendor: 'AuthenticAMD', physBits: 48 }]);
    expect(() => renderSnapshot(run('-M pc -m 1G -accel kvm'), fakeDeps())).toThrow(/k\/c is a KVM cell: its matrix file needs `snapshotHost/);
    // TCG cells are unaffected by the file's host.
    expect(renderSnapshot(run('-M pc -m 1G', HOST), fakeDeps())).not.toContain('# host (KVM)');
  });
});

describe('runner: KVM per host (e820 run --host)', () => {
  /**
   * A run over two machines. The runner sees this machine (a FakeKvmHost, a LocalHost) and other
   * machines: stand-ins that are not LocalHosts (isThisMachine false, so the runner's branches for
   * another host run: the cell named on it, judged for its CPU), only a label, which the runner
   * never calls. The real probe (harness/kvm-probe.ts) for a stand-in boots the fake QEMUs here, on
   * a FakeKvmHost under the stand-in's label that answers that machine's /dev/kvm and cpuinfo: it
   * takes the probe's branch for this machine; the remote branch (stage, uploads) runs through the
   * loopback sshd in suites/host/remote-tools.test.ts. This machine's KVM runs only the firmware
   * (kvm-firmware-only.sh); `ssh://root@kvm1`'s runs the guest (ok.sh).
   */
  const local = new FakeKvmHost('OK', true, 'local');
  const probeOn = new Map<Host, FakeKvmHost>([[local, local]]);
  const elsewhere = (label: string, device: string, hypervisor: boolean): Host => {
    const h = { label } as unknown as Host;
    probeOn.set(h, new FakeKvmHost(device, hypervisor, label));
    return h;
  };
  const kvm1 = elsewhere('ssh://root@kvm1:22', 'OK', false);
  const kvm2 = elsewhere('ssh://root@kvm2:22', 'OK', true);
  const down = elsewhere('ssh://root@tcg1:22', 'ENOENT', false);
  const qemuOf = new Map<Host, string>([[local, 'kvm-firmware-only.sh'], [kvm1, 'ok.sh'], [kvm2, 'kvm-firmware-only.sh'], [down, 'ok.sh']]);
  const tools = (script: string): ProvisionedToolchain => ({ qemu: { binary: fake(script), version: 'QEMU emulator version 7.2.22 (fake)' }, kernel: { image: '/k', fwCfgModule: null }, initramfs: '/i' });

  /** fakeDeps over these hosts: the real probe per host (counted), and a capture placed on the first free host the runner accepts. */
  function overHosts(hosts: Host[]) {
    const d = fakeDeps();
    const probed: string[] = [];
    const placed: string[] = [];
    const deps: MatrixDeps = {
      ...d,
      hosts,
      // kvm1 has another CPU than this machine: a cell it boots is claimed for that CPU.
      hostFacts: async (h) => ({
        facts: h === kvm1 ? { cpuVendor: 'GenuineIntel', physBits: 39 } : { cpuVendor: 'AuthenticAMD', physBits: 48 },
        sources: { vendor: '/proc/cpuinfo line 2', physBits: '/proc/cpuinfo line 4' },
        nested: null,
        notes: [],
      }),
      kvmProbe: async (_t, o = {}) => {
        probed.push(o.host!.label);
        return probeKvm(tools(qemuOf.get(o.host!)!), { host: probeOn.get(o.host!)!, deadlineMs: 600, firmwareDeadlineMs: 5_000 });
      },
      capture: async (c, t, o) => {
        const h = hosts.find((x) => o.accept?.(x) ?? true)!;
        o.onHost?.(h);
        placed.push(h.label);
        return d.capture(c, t, o);
      },
    };
    return { deps, probed, placed, captureOptions: d.captureOptions, predictHosts: d.predictHosts };
  }

  test('a KVM cell goes to the host whose KVM runs the guest, in full scope, with that host\'s finding', async () => {
    clearKvmProbes();
    const { deps, placed, captureOptions, predictHosts } = overHosts([local, kvm1]);
    const r = await runCell(run('-M pc -m 1G -accel kvm'), deps);
    // Claimed first for this machine, then judged for kvm1's CPU.
    expect(predictHosts).toEqual([undefined, { cpuVendor: 'GenuineIntel', physBits: 39 }]);
    expect(r.kvm?.host).toBe('ssh://root@kvm1:22: GenuineIntel, 39 physical address bits (vendor: /proc/cpuinfo line 2; phys-bits: /proc/cpuinfo line 4)');
    expect(placed).toEqual(['ssh://root@kvm1:22']);
    expect(captureOptions[0]?.scope).toBeUndefined();
    expect(r.scope).toEqual({ scope: 'full', reason: null });
    expect(r.ranOn).toBe('ssh://root@kvm1:22');
    expect(r.kvm).toMatchObject({ status: 'full', on: 'ssh://root@kvm1:22' });
    expect(r.kvm?.reason).toMatch(/^the guest kernel reached its init under KVM in \d+\.\d s$/);
    expect(r.outcome).toBe('pass');
    // A TCG cell may go anywhere.
    const tcg = await runCell(run('-M pc -m 1G'), deps);
    expect(tcg.kvm).toBeNull();
    expect(captureOptions[1]?.accept).toBeUndefined();
  }, 30_000);

  test('KVM that runs only the firmware everywhere: firmware scope, each host\'s reason; no KVM anywhere: an error naming each host', async () => {
    clearKvmProbes();
    const { deps, captureOptions } = overHosts([local]);
    const only = await runCell(run('-M pc -m 1G -accel kvm'), { ...deps, hosts: [local] });
    expect(captureOptions[0]?.scope).toBe('firmware');
    expect(only.scope?.reason).toMatch(/^KVM probe: firmware-only — SeaBIOS finishes its POST under KVM .* \(nested KVM: this machine's CPU has the hypervisor flag\)$/);
    const two = overHosts([down, local]);
    const r = await runCell(run('-M pc -m 1G -accel kvm'), two.deps);
    expect(two.placed).toEqual(['local']);
    expect(r.scope?.reason).toMatch(/^KVM probe: firmware-only — SeaBIOS finishes/);
    expect(r.kvm).toMatchObject({ status: 'firmware-only', on: 'local' });
    const both = overHosts([kvm2, local]);
    const f = await runCell(run('-M pc -m 1G -accel kvm'), both.deps);
    expect(f.scope?.reason).toMatch(/^KVM probe on every host of this run: firmware-only — ssh:\/\/root@kvm2:22: SeaBIOS finishes .*\(nested KVM: ssh:\/\/root@kvm2:22's CPU has the hypervisor flag\); local: SeaBIOS finishes .*this machine's CPU/);
    const none = overHosts([down]);
    const e = await runCell(run('-M pc -m 1G -accel kvm'), none.deps);
    expect(none.placed).toEqual([]);
    expect(e.verdict?.outcome === 'error' && e.verdict.error.kind).toBe('KvmUnavailable');
    expect(e.verdict?.outcome === 'error' && e.verdict.error.message).toMatch(/^KVM is unavailable on ssh:\/\/root@tcg1:22, and this cell needs -accel kvm: ssh:\/\/root@tcg1:22: there is no \/dev\/kvm/);
  }, 30_000);

  test('a host whose probe fails is left out, named with its error; the cell errs only when every probe failed', async () => {
    clearKvmProbes();
    const gone = elsewhere('ssh://root@gone:22', 'OK', false);
    const { deps, placed } = overHosts([gone, kvm1]);
    const probeThere = deps.kvmProbe!;
    const failing: MatrixDeps = {
      ...deps,
      kvmProbe: async (t, o = {}) => {
        if (o.host === gone) throw Object.assign(new Error('ssh://root@gone:22: the connection was lost (ECONNRESET)'), { name: 'HostConnectionLostError' });
        return probeThere(t, o);
      },
    };
    const r = await runCell(run('-M pc -m 1G -accel kvm'), failing);
    expect(r.outcome).toBe('pass');
    expect(placed).toEqual(['ssh://root@kvm1:22']);
    expect(r.kvm).toMatchObject({ status: 'full', on: 'ssh://root@kvm1:22' });
    expect(r.kvm?.reason).toMatch(/^the guest kernel reached its init under KVM in \d+\.\d s \(left out, their KVM probe failed: ssh:\/\/root@gone:22: ssh:\/\/root@gone:22: the connection was lost \(ECONNRESET\)\)$/);
    // Every probe failed: a KvmProbe error naming each host and its error.
    const other = elsewhere('ssh://root@gone2:22', 'OK', false);
    const none = overHosts([gone, other]);
    const e = await runCell(run('-M pc -m 1G -accel kvm'), { ...none.deps, kvmProbe: async (_t, o = {}) => Promise.reject(new Error(`${o.host!.label}: unreachable`)) });
    expect(none.placed).toEqual([]);
    expect(e.verdict?.outcome === 'error' && e.verdict.error.kind).toBe('KvmProbe/Error');
    expect(e.verdict?.outcome === 'error' && e.verdict.error.message).toBe(
      'the KVM probe boot failed on every host of this run, so this KVM cell cannot run: ssh://root@gone:22: ssh://root@gone:22: unreachable; ssh://root@gone2:22: ssh://root@gone2:22: unreachable',
    );
  }, 30_000);

  test('a run probes each host once, however many KVM cells it has', async () => {
    clearKvmProbes();
    const { deps, probed, placed } = overHosts([local, kvm1]);
    const runs = ['a', 'b', 'c'].map((id) => ({ ...run('-M pc -m 1G -accel kvm'), key: `k/${id}` }));
    const s = await runMatrix(runs, deps, { jobs: 2 });
    expect(s.results.map((r) => r.outcome)).toEqual(['pass', 'pass', 'pass']);
    expect([...probed].sort()).toEqual(['local', 'ssh://root@kvm1:22']);
    expect(placed).toEqual(['ssh://root@kvm1:22', 'ssh://root@kvm1:22', 'ssh://root@kvm1:22']);
  }, 30_000);
});
