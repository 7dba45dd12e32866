// capture() and `e820 capture` end to end with fake QEMUs: argv, run, real parsers, output.
// The guest is never built for real here (the toolchain comes with an initramfs), so this runs in ms.

import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MachineConfig } from '../../reference/config.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { capture, type CaptureOutcome, type Observation, type ProvisionedToolchain } from '../../harness/capture.ts';
import { captureCommand, renderTable, type CaptureCliDeps } from '../../harness/cli/commands/capture.ts';
import { clearKvmProbes } from '../../harness/kvm-probe.ts';
import { FakeKvmHost } from './fake-kvm-host.ts';
import { fake } from './helpers.ts';

// capture reads accel, bios and devices from the config and boots the argv it is given.
const config: MachineConfig = parseQemuArgs([]);
const tools = (script: string): ProvisionedToolchain => ({
  qemu: { binary: fake(script), version: 'QEMU emulator version 7.2.22 (fake)' },
  kernel: { image: '/k', fwCfgModule: null },
  initramfs: '/i',
});

/** The observation of a capture that booted (the test fails on any other outcome, showing it). */
function booted(o: CaptureOutcome): Observation {
  expect(o.kind === 'booted' ? 'booted' : o).toBe('booted');
  return (o as Extract<CaptureOutcome, { kind: 'booted' }>).observation;
}

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'e820-captest-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('capture', () => {
  it('turns a (replayed) real boot into the LayerReport and its metadata', async () => {
    const progress: string[] = [];
    const obs = booted(
      await capture(config, BASELINE_TOOLCHAIN, {
        qemuArgs: ['-M', 'pc', '-m', '1G', '-nographic'],
        provisioned: tools('real-pc-1G.sh'),
        onProgress: (m) => progress.push(m),
      }),
    );
    expect(obs.report.qemu?.e820).toEqual([
      { start: '0xfd00000000', length: '0x300000000', type: 2 },
      { start: '0x0', length: '0x40000000', type: 1 },
    ]);
    expect(obs.report.firmware?.e820?.length).toBe(7);
    expect(obs.report.kernel?.biosE820?.[0]).toBe('BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable');
    expect(obs.report.kernel?.memmap?.length).toBe(7);
    expect(obs.report.kernel?.iomem).toContain('00100000-3ffdffff : System RAM');
    expect(obs.unobserved).toEqual([]);
    expect(obs.meta.kernelRelease).toBe('6.1.0-57-cloud-amd64');
    expect(obs.meta.cmdline).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp');
    expect(obs.meta.plannedCmdline).toBe('console=ttyS0 panic=-1 loglevel=6 no_timer_check pty.legacy_count=0 noapictimer noreplace-smp');
    expect(obs.meta.warnings).toEqual([]);
    expect(obs.meta.seabiosBanner).toBe('1.16.2-debian-1.16.2-1');
    expect(obs.meta.qemuVersion).toContain('7.2.22');
    expect(obs.meta.dropped.map((d) => d.option)).toEqual(['-nographic']);
    expect(obs.meta.argv.slice(0, 5)).toEqual([fake('real-pc-1G.sh'), '-M', 'pc', '-m', '1G']);
    expect(progress.some((m) => /all sections printed/.test(m))).toBe(true);
  });

  it('scope firmware: the firmware layer of a (replayed) real KVM boot; qemu and kernel unobserved with the reason', async () => {
    const obs = booted(
      await capture({ ...config, accel: 'kvm' } as MachineConfig, BASELINE_TOOLCHAIN, {
        qemuArgs: ['-M', 'pc', '-m', '1G', '-accel', 'kvm'],
        provisioned: { ...tools('kvm-firmware-only.sh'), kernel: { image: '/k', fwCfgModule: null, release: '6.1.0-56-cloud-amd64' } },
        scope: 'firmware',
        scopeReason: 'KVM probe: firmware-only — the kernel printed nothing',
      }),
    );
    expect(obs.report.qemu).toBeUndefined();
    expect(obs.report.kernel).toBeUndefined();
    expect(obs.report.firmware?.e820).toHaveLength(8);
    expect(obs.report.firmware?.e820?.[5]).toEqual({ start: '0xfeffc000', end: '0xff000000', type: 2 });
    expect(obs.report.firmware?.zoneHighReturned).toBe(16646144);
    const why = 'capture scope firmware: KVM probe: firmware-only — the kernel printed nothing';
    expect(obs.unobserved).toEqual([
      { layer: 'qemu', field: 'e820', reason: "capture scope firmware: no guest ran to read fw_cfg etc/e820; SeaBIOS's 1 qemu/e820 line(s) need not be the whole file" },
      ...['biosE820', 'e820Edits', 'memmap', 'iomem'].map((field) => ({ layer: 'kernel', field, reason: why })),
    ]);
    expect(obs.meta).toMatchObject({ scope: 'firmware', accel: 'kvm', kernelRelease: '6.1.0-56-cloud-amd64 (not booted: capture scope firmware)', warnings: [] });
    expect(renderTable(obs)).toContain(`kernel.biosE820\n  (not observed: ${why})`);
  });

  it("QEMU's refusal is an outcome with its lines, not a thrown error", async () => {
    const o = await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: ['-m', 'banana'], provisioned: tools('refuse.sh') });
    expect(o).toMatchObject({
      kind: 'refused',
      label: 'QemuLaunchError',
      qemuMessage: "qemu-system-x86_64: -m banana: Parameter 'size' expects a non-negative number below 2^64",
      lines: ["-m banana: Parameter 'size' expects a non-negative number below 2^64", 'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-', 'and exabytes, respectively.'],
    });
    if (o.kind !== 'refused') return;
    expect(o.message).toMatch(/^QEMU did not start the guest: .*banana.*\nwhat to do: /);
    expect(o.context?.argv[0]).toBe(fake('refuse.sh'));
  });

  it('a boot that ends without the guest finishing is a harness error that says what to do', async () => {
    const o = await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: ['-m', '1G'], provisioned: tools('hang.sh'), timeoutMs: 300 });
    expect(o).toMatchObject({ kind: 'harness-error', label: 'BootTimeoutError', retryable: true });
    if (o.kind === 'harness-error') expect(o.message).toMatch(/\nwhat to do: /);
  });

  it('a QEMU binary that does not exist is a harness error naming what to install, not a refusal', async () => {
    const o = await capture(config, BASELINE_TOOLCHAIN, { qemuArgs: ['-m', '1G'], provisioned: { ...tools('ok.sh'), qemu: { binary: join(work, 'no-such-qemu'), version: 'x' } } });
    expect(o).toMatchObject({ kind: 'harness-error', label: 'MissingToolError', retryable: false });
  });

  it('provisioning that fails is the outcome too; an aborted signal makes it an abort', async () => {
    const provision = async (): Promise<ProvisionedToolchain> => {
      throw Object.assign(new Error('apt-get failed\nwhat to do: run apt-get update'), { name: 'AptError' });
    };
    expect(await capture(config, BASELINE_TOOLCHAIN, { provision })).toMatchObject({ kind: 'harness-error', label: 'AptError', message: 'apt-get failed\nwhat to do: run apt-get update' });
    const ac = new AbortController();
    ac.abort(new Error('Ctrl-C'));
    expect(await capture(config, BASELINE_TOOLCHAIN, { provision, signal: ac.signal })).toMatchObject({ kind: 'aborted', refused: null });
  });

  it('an abort whose reason is no Error (abort("string")) is an aborted outcome, not a defect', async () => {
    const ac = new AbortController();
    ac.abort('user pressed Ctrl-C');
    const provision = async (): Promise<ProvisionedToolchain> => {
      throw ac.signal.reason;
    };
    expect(await capture(config, BASELINE_TOOLCHAIN, { provision, signal: ac.signal })).toEqual({ kind: 'aborted', message: 'user pressed Ctrl-C', refused: null });
  });

  it('a defect in the harness still throws', async () => {
    const provision = async (): Promise<ProvisionedToolchain> => {
      throw new TypeError('x is not a function');
    };
    await expect(capture(config, BASELINE_TOOLCHAIN, { provision })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('e820 capture', () => {
  const sink = () => {
    const chunks: string[] = [];
    return { chunks, stream: { write: (s: string) => chunks.push(s), isTTY: false } };
  };
  const parseQemuArgs = () => config;
  const capturing = (script: string): typeof capture => (c, t, o) =>
    capture(c, t, { ...o, provisioned: tools(script) });

  it("exits 2 with QEMU's own message when QEMU refuses the arguments", async () => {
    const err = sink();
    const out: string[] = [];
    const code = await captureCommand(['-m', 'banana'], {}, {
      capture: capturing('refuse.sh'),
      parseQemuArgs: () => {
        throw new Error('-m banana: not a size');
      },
      stderr: err.stream,
      stdout: (s) => out.push(s),
    });
    expect(code).toBe(2);
    expect(out).toEqual([]);
    const text = err.chunks.join('');
    expect(text).toContain("qemu-system-x86_64: -m banana: Parameter 'size' expects a non-negative number below 2^64");
    expect(text).toContain('the model does not accept this command line (-m banana: not a size); asking QEMU');
    expect(text).toContain('boot 0.'); // plain progress lines when stderr is not a TTY
  });

  it('--json prints exactly the LayerReport', async () => {
    const err = sink();
    const out: string[] = [];
    const code = await captureCommand(['-M', 'pc', '-m', '1G'], { json: true }, {
      capture: capturing('real-pc-1G.sh'),
      parseQemuArgs,
      stderr: err.stream,
      stdout: (s) => out.push(s),
    });
    expect(code).toBe(0);
    const report = JSON.parse(out.join('')) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(['firmware', 'kernel', 'qemu']);
    expect(Object.keys(report.kernel as object).sort()).toEqual(['biosE820', 'e820Edits', 'iomem', 'memmap']);
  });

  it('the table shows every layer and names unobserved fields with their reason', async () => {
    const text = renderTable({
      report: { qemu: { e820: [{ start: '0x0', length: '0x40000000', type: 1 }] } },
      unobserved: [{ layer: 'firmware', field: 'e820', reason: 'the SeaBIOS debug log is empty' }],
    });
    expect(text).toContain('qemu.e820 (fw_cfg etc/e820, file order: start, length, type) — 1');
    expect(text).toContain('0x0000000000000000  0x0000000040000000  RAM (1)');
    expect(text).toContain('(not observed: the SeaBIOS debug log is empty)');
    expect(text).toContain('kernel.iomem (/proc/iomem)\n  (not observed)');
  });

  it('--scope auto on a KVM command line asks the probe: unavailable is exit 2 with the reason, nothing boots', async () => {
    clearKvmProbes();
    const err = sink();
    let captured = false;
    const code = await captureCommand(['-M', 'pc', '-m', '1G', '-accel', 'kvm'], {}, {
      provision: async () => tools('kvm-refuse.sh'),
      capture: async () => {
        captured = true;
        throw new Error('must not boot');
      },
      // The machine has no /dev/kvm: the probe says so without a boot.
      host: new FakeKvmHost('ENOENT'),
      parseQemuArgs,
      stderr: err.stream,
      stdout: () => {},
    });
    expect(code).toBe(2);
    expect(captured).toBe(false);
    expect(err.chunks.join('')).toContain('e820 capture: KVM is unavailable on this machine: there is no /dev/kvm: the host kernel has no KVM');
  });

  it('--scope auto switches a KVM capture to firmware scope when the probe says firmware-only', async () => {
    clearKvmProbes();
    const err = sink();
    const out: string[] = [];
    const code = await captureCommand(['-M', 'pc', '-m', '1G', '-accel', 'kvm'], {}, {
      // The probe boots this QEMU on the machine: SeaBIOS finishes under KVM, then a KVM internal error.
      provision: async () => tools('kvm-internal-error.sh'),
      capture: capturing('kvm-firmware-only.sh'),
      host: new FakeKvmHost('OK'),
      parseQemuArgs,
      stderr: err.stream,
      stdout: (s) => out.push(s),
    });
    expect(code).toBe(0);
    expect(err.chunks.join('')).toContain('kvm probe: firmware-only — capturing with --scope firmware');
    expect(out.join('')).toContain('(not observed: capture scope firmware: KVM probe: firmware-only — SeaBIOS finishes its POST under KVM (e820 map printed, "Booting from …") but QEMU exited (status 1) before the guest reached its init; QEMU said: KVM internal error. Suberror: 1 (nested KVM: this machine\'s CPU has the hypervisor flag))');
    expect(out.join('')).toContain('scope: firmware');
  });

  it('rejects a bad --scope', async () => {
    const err = sink();
    expect(await captureCommand([], { scope: 'kernel' }, { capture: capturing('ok.sh'), parseQemuArgs, stderr: err.stream, stdout: () => {} })).toBe(2);
    expect(err.chunks.join('')).toContain('--scope "kernel": expected auto, full or firmware');
  });

  it('rejects a bad --timeout', async () => {
    await expect(captureCommand([], { timeout: 'soon' }, { capture: capturing('ok.sh'), parseQemuArgs, stderr: sink().stream, stdout: () => {} })).rejects.toThrow(/--timeout "soon"/);
  });
});
