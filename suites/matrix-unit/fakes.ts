// Fake predictions/observations for the matrix unit tests: no QEMU, no model.

import type { MachineConfig } from '../../reference/config.ts';
import type { LayerReport } from '../../reference/report.ts';
import type { CaptureOptions, MatrixDeps, ObservationLike, PredictionLike } from '../../harness/matrix/deps.ts';
import { isE820IomemLine } from '../../harness/matrix/deps.ts';
import { outcomeOfError, type CaptureOutcome } from '../../harness/capture.ts';
import { BootTimeoutError, emptyProgress, QemuLaunchError, type BootContext } from '../../harness/errors.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';

/** What a fake QEMU process left behind: its stderr, nothing printed on the console. */
export function fakeBootContext(stderr = ''): BootContext {
  return { argv: ['qemu-system-x86_64'], exitCode: 1, signal: null, killedByHarness: false, stderr, consoleTail: [], progress: emptyProgress(), logs: {} };
}

/** QEMU refused to start, printing `stderr` (as the harness reports it: harness/errors.ts). */
export function launchError(stderr: string): QemuLaunchError {
  return new QemuLaunchError(fakeBootContext(stderr));
}

/** A boot that hit the overall deadline (harness/errors.ts). */
export function timeoutError(deadlineMs = 60_000): BootTimeoutError {
  return new BootTimeoutError(deadlineMs, { ...fakeBootContext(), exitCode: null, signal: 'SIGKILL', killedByHarness: true });
}

/** The capture's outcome when QEMU refused, printing `stderr`: what harness/capture.ts makes of launchError. */
export function refusedBy(stderr: string): CaptureOutcome<ObservationLike> {
  return outcomeOfError(launchError(stderr));
}

/** The capture's outcome of a boot that hit the overall deadline (retryable). */
export function timedOut(deadlineMs = 60_000): CaptureOutcome<ObservationLike> {
  return outcomeOfError(timeoutError(deadlineMs));
}

export function sampleReport(): LayerReport {
  return {
    qemu: {
      e820: [
        { start: '0x0', length: '0x40000000', type: 1 },
        { start: '0xfd00000000', length: '0x300000000', type: 2 },
      ],
    },
    firmware: {
      e820: [
        { start: '0x0', end: '0x9fc00', type: 1 },
        { start: '0x9fc00', end: '0xa0000', type: 2 },
        { start: '0xf0000', end: '0x100000', type: 2 },
        { start: '0x100000', end: '0x3ffe0000', type: 1 },
        { start: '0x3ffe0000', end: '0x40000000', type: 2 },
        { start: '0xfeffc000', end: '0xff000000', type: 2 },
        { start: '0xfffc0000', end: '0x100000000', type: 2 },
        { start: '0xfd00000000', end: '0x10000000000', type: 2 },
      ],
      zoneHighReturned: 131072,
    },
    kernel: {
      biosE820: [
        'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
        'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved',
        'BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable',
      ],
      e820Edits: ['e820: update [mem 0x00000000-0x00000fff] usable ==> reserved', 'e820: remove [mem 0x000a0000-0x000fffff] usable'],
      memmap: [
        { start: '0x0', end: '0x9fbff', type: 'System RAM' },
        { start: '0x100000', end: '0x3ffdffff', type: 'System RAM' },
      ],
      iomem: ['00000000-00000fff : Reserved', '00001000-0009fbff : System RAM', '00100000-3ffdffff : System RAM'],
    },
  };
}

/** The observed /proc/iomem carries lines the model does not predict (excluded by the rule). */
export function observedFrom(report: LayerReport): LayerReport {
  const copy = structuredClone(report);
  if (copy.kernel?.iomem) {
    copy.kernel.iomem = [
      ...copy.kernel.iomem.slice(0, 2),
      '000a0000-000bffff : PCI Bus 0000:00',
      ...copy.kernel.iomem.slice(2),
      '  01000000-01c00000 : Kernel code',
      'febc0000-febdffff : 0000:00:03.0',
    ];
  }
  return copy;
}

export const fakeConfig = {} as MachineConfig;

export interface FakeDepsOptions {
  expected?: (argv: readonly string[]) => LayerReport;
  /** What the boot of this argv comes to: an observation (booted), or any other capture outcome (refusedBy, timedOut…). */
  observe?: (argv: readonly string[], signal?: AbortSignal) => Promise<ObservationLike | CaptureOutcome<ObservationLike>>;
  /** Extra prediction fields (kernelStarts, unpredicted, host). */
  prediction?: (argv: readonly string[]) => Partial<PredictionLike>;
  kvmProbe?: MatrixDeps['kvmProbe'];
}

/** Deps whose "config" is the argv itself, so predictions and observations can depend on it. */
export function fakeDeps(opts: FakeDepsOptions = {}): MatrixDeps & { captured: string[][]; captureOptions: CaptureOptions[]; predictHosts: unknown[] } {
  const captured: string[][] = [];
  const captureOptions: CaptureOptions[] = [];
  const predictHosts: unknown[] = [];
  const argvOf = (c: MachineConfig) => (c as unknown as { argv: string[] }).argv;
  return {
    captured,
    captureOptions,
    predictHosts,
    parseArgs: (argv) => {
      if (argv.includes('-bogus')) throw new UnsupportedOptionError('-bogus', 'not modelled');
      // `kvm` anywhere (-accel kvm) makes it a KVM configuration, as reference/cmdline/ would.
      return { argv: [...argv], accel: argv.includes('kvm') ? 'kvm' : 'tcg' } as unknown as MachineConfig;
    },
    predict: (c, _t, o) => {
      const argv = argvOf(c);
      predictHosts.push(o?.host);
      if (argv.includes('refuse')) throw new QemuRefusal('invalid thing');
      return { report: opts.expected ? opts.expected(argv) : sampleReport(), ...(opts.prediction?.(argv) ?? {}) };
    },
    ...(opts.kvmProbe ? { kvmProbe: opts.kvmProbe } : {}),
    capture: async (c, _t, o) => {
      const argv = argvOf(c);
      captured.push(argv);
      captureOptions.push(o);
      if (opts.observe) {
        const r = await opts.observe(argv, o.signal);
        return 'kind' in r ? r : { kind: 'booted', observation: r };
      }
      return { kind: 'booted', observation: { report: observedFrom(sampleReport()), unobserved: [], meta: { argv: ['qemu-system-x86_64', ...argv], qemuVersion: 'QEMU emulator version 7.2.22', seabiosBanner: '1.16.2-debian-1.16.2-1', kernelRelease: '6.1.0-test-cloud-amd64', wallMs: 3 } } };
    },
    isE820IomemLine,
  };
}
