// judge(claim, outcome): every verdict from two values, one case per path. The runner tests
// reach these through fake QEMUs; here each pairing is named, so a changed rule shows which.

import { describe, expect, test } from 'vitest';
import type { MachineConfig } from '../../reference/config.ts';
import { judge, qemuErrorLines, type CellClaim, type HarnessOutcome, type JudgeContext } from '../../harness/matrix/judge.ts';
import { outcomeOfError } from '../../harness/capture.ts';
import { isE820IomemLine } from '../../harness/matrix/deps.ts';
import { launchError, observedFrom, sampleReport, timeoutError } from './fakes.ts';

const ctx = (judgeOptionClaims = false): JudgeContext => ({ cell: 'm.yaml cell 0 (id "c")', judgeOptionClaims, compare: { isE820IomemLine } });
const config = {} as MachineConfig;
const boots: CellClaim = { kind: 'boots', config, prediction: { report: sampleReport() } };
const refusesMachine: CellClaim = { kind: 'refuses', stage: 'machine', qemuMessage: 'invalid thing', hint: null, message: 'QEMU would refuse this configuration: invalid thing', label: 'QemuRefusal' };
const refusesOptions: CellClaim = { kind: 'refuses', stage: 'options', qemuMessage: '-m banana: bad', hint: 'a hint line', message: 'QEMU would refuse this command line: -m banana: bad', label: 'QemuCmdlineError' };
const notModelled = (stage: 'options' | 'machine', harnessOwned = false): CellClaim => ({
  kind: 'not-modelled', stage, option: '-x', detail: 'not modelled', message: '-x: not modelled', harnessOwned, label: harnessOwned ? 'HarnessOwnedOptionError' : 'UnsupportedOptionError',
});
const modelError: CellClaim = { kind: 'model-error', stage: 'machine', label: 'HostFactsError', message: 'cannot read /proc/cpuinfo' };
const booted: HarnessOutcome = { kind: 'booted', observation: { report: observedFrom(sampleReport()), unobserved: [] } };
const refused = (lines: string[]): HarnessOutcome => ({ kind: 'refused', lines, qemuMessage: `qemu-system-x86_64: ${lines[0]}`, label: 'QemuLaunchError', message: `QEMU did not start the guest: ${lines[0]}` });
const timedOut: HarnessOutcome = { kind: 'harness-error', label: 'BootTimeoutError', message: 'the guest did not finish', duringBoot: true, retryable: true };

describe('judge: cells that are not booted', () => {
  test('a claim made while reading options is a broken cell, unless explore judges such claims', () => {
    expect(judge(refusesOptions, { kind: 'not-booted' }, ctx())).toEqual({ outcome: 'error', error: { kind: 'BadCell/QemuCmdlineError', message: 'm.yaml cell 0 (id "c"): QEMU would refuse this command line: -m banana: bad' } });
    expect(judge(notModelled('options'), { kind: 'not-booted' }, ctx())).toMatchObject({ error: { kind: 'BadCell/UnsupportedOptionError' } });
    // explore: an option the harness owns is the model's declining, a model error stays a broken cell.
    expect(judge(notModelled('options', true), { kind: 'not-booted' }, ctx(true))).toEqual({ outcome: 'error', error: { kind: 'Model/HarnessOwnedOptionError', message: '-x: not modelled' } });
    expect(judge({ ...modelError, stage: 'options' }, { kind: 'not-booted' }, ctx(true))).toMatchObject({ error: { kind: 'BadCell/HostFactsError' } });
  });

  test("the model's own errors and declines during machine init are the model's", () => {
    expect(judge(modelError, { kind: 'not-booted' }, ctx())).toEqual({ outcome: 'error', error: { kind: 'Model/HostFactsError', message: 'cannot read /proc/cpuinfo' } });
    expect(judge(notModelled('machine'), { kind: 'not-booted' }, ctx())).toMatchObject({ error: { kind: 'Model/UnsupportedOptionError' } });
  });

  test('a boot or a refusal during machine init is always booted', () => {
    expect(() => judge(boots, { kind: 'not-booted' }, ctx())).toThrow(/always booted/);
    expect(() => judge(refusesMachine, { kind: 'not-booted' }, ctx())).toThrow(/always booted/);
  });
});

describe('judge: refusals', () => {
  test('both refuse with the same words: pass, the lines counted; different words: fail at qemu.refusal', () => {
    expect(judge(refusesMachine, refused(['invalid thing']), ctx())).toMatchObject({ outcome: 'pass', fields: [], counts: { compared: 1 } });
    expect(judge(refusesOptions, refused(['-m banana: bad', 'a hint line']), ctx(true))).toMatchObject({ outcome: 'pass', counts: { compared: 2 } });
    const v = judge(refusesMachine, refused(['something else']), ctx());
    expect(v).toMatchObject({ outcome: 'fail', first: { layer: 'qemu', field: 'qemu.refusal', summary: 'qemu.refusal: both refuse, with different messages' } });
  });

  test('the model refuses, the machine booted: fail; the boot failed otherwise: that error', () => {
    expect(judge(refusesMachine, booted, ctx())).toMatchObject({ outcome: 'fail', first: { summary: 'qemu.refusal: the model says QEMU refuses this configuration; the machine booted it' } });
    expect(judge(refusesMachine, timedOut, ctx())).toEqual({ outcome: 'error', error: { kind: 'BootTimeoutError', message: 'the guest did not finish' } });
  });

  test("an interrupted run: the refusal is still judged when QEMU had refused; otherwise 'Aborted'", () => {
    expect(judge(refusesMachine, { kind: 'aborted', message: 'stopped', refused: ['invalid thing'] }, ctx())).toMatchObject({ outcome: 'pass' });
    expect(judge(boots, { kind: 'aborted', message: 'stopped', refused: ['x'] }, ctx())).toEqual({ outcome: 'error', error: { kind: 'Aborted', message: 'stopped' } });
  });
});

describe('judge: boots', () => {
  test('booted: the comparison decides; QEMU refusing what the model boots is an error', () => {
    expect(judge(boots, booted, ctx())).toMatchObject({ outcome: 'pass' });
    expect(judge(boots, refused(['nope']), ctx())).toEqual({ outcome: 'error', error: { kind: 'QemuLaunchError', message: 'QEMU did not start the guest: nope' } });
    expect(judge(boots, timedOut, ctx())).toMatchObject({ error: { kind: 'BootTimeoutError' } });
  });

  test("a harness error before the boot (the KVM probe) is the harness's, whatever the claim", () => {
    const probe: HarnessOutcome = { kind: 'harness-error', label: 'KvmUnavailable', message: 'no /dev/kvm', duringBoot: false, retryable: false };
    expect(judge(notModelled('machine'), probe, ctx())).toEqual({ outcome: 'error', error: { kind: 'KvmUnavailable', message: 'no /dev/kvm' } });
  });

  test("not modelled: the verdict stays the model's whatever QEMU did", () => {
    for (const o of [booted, refused(['nope']), timedOut]) {
      expect(judge(notModelled('machine'), o, ctx(true))).toEqual({ outcome: 'error', error: { kind: 'Model/UnsupportedOptionError', message: '-x: not modelled' } });
    }
  });
});

describe("capture's outcomeOfError: by class, never by name", () => {
  test("QEMU's refusal with its lines (warnings dropped), a timeout retryable, anything else not, a defect thrown", () => {
    expect(outcomeOfError(launchError('qemu-system-x86_64: warning: x\nqemu-system-x86_64: -m banana: bad\n'))).toMatchObject({ kind: 'refused', lines: ['-m banana: bad'], qemuMessage: 'qemu-system-x86_64: -m banana: bad', label: 'QemuLaunchError' });
    expect(outcomeOfError(timeoutError())).toMatchObject({ kind: 'harness-error', label: 'BootTimeoutError', retryable: true });
    // An error that only calls itself a QemuLaunchError is not one.
    expect(outcomeOfError(Object.assign(new Error('x'), { name: 'QemuLaunchError', context: { stderr: 'qemu-system-x86_64: y' } }))).toMatchObject({ kind: 'harness-error', label: 'QemuLaunchError', retryable: false });
    // Whatever ended a boot whose signal fired is an abort; QEMU's lines kept when it had refused.
    const ac = new AbortController();
    ac.abort();
    expect(outcomeOfError(launchError('qemu-system-x86_64: bad\n'), ac.signal)).toMatchObject({ kind: 'aborted', refused: ['bad'] });
    expect(() => outcomeOfError(new TypeError('undefined is not a function'))).toThrow(TypeError);
    expect(qemuErrorLines("qemu-system-x86_64: Machine type 'pc-1.0' is deprecated: old\nqemu-system-x86_64: bad\nqemu-system-x86_64: terminating on signal 15")).toEqual(['bad']);
    // A warning's continuation line goes with it; an error's stays (QEMU 5.2, -cpu EPYC -smp threads=2).
    const topoext =
      "qemu-system-x86_64: warning: This family of AMD CPU doesn't support hyperthreading(2)\nPlease configure -smp options properly or try enabling topoext feature.\n" +
      'qemu-system-x86_64: -device virtio-iommu-pci: pc-q35-5.0 machine fails to create iommu-map device tree bindings\nCheck your machine implements a hotplug handler for the virtio-iommu-pci device\n';
    expect(qemuErrorLines(topoext)).toEqual(['-device virtio-iommu-pci: pc-q35-5.0 machine fails to create iommu-map device tree bindings', 'Check your machine implements a hotplug handler for the virtio-iommu-pci device']);
    // Lines before QEMU's first message (a library's own complaint) stay, as before.
    expect(qemuErrorLines('ALSA lib pcm.c:2722: Unknown PCM default\nqemu-system-x86_64: bad')).toEqual(['ALSA lib pcm.c:2722: Unknown PCM default', 'bad']);
  });
});
