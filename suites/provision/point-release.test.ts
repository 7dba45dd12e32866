// The kernel point release: `--kernel 5.10.262` names one, and provisioning refuses to boot a
// kernel whose point release behaves differently from the profile the prediction uses.

import { describe, expect, test } from 'vitest';
import { KernelPointReleaseError, checkKernelPointRelease } from '../../harness/provision/toolchain.ts';
import { kernelProfileForRelease } from '../../reference/profiles/kernel.ts';
import { toolchainLabel, toolchainOf, UnknownVersionError } from '../../reference/toolchain.ts';

describe('toolchainOf: kernel series and point releases', () => {
  test('a series names no point release', () => {
    expect(toolchainOf({ kernel: '5.10' })).toEqual({ qemu: '7.2', seabios: '1.16.2', kernel: '5.10' });
  });
  test('major.minor.patch names a point release of a known series', () => {
    const t = toolchainOf({ kernel: '5.10.262' });
    expect(t.kernel).toBe('5.10');
    expect(t.kernelRelease).toBe('5.10.262');
    expect(toolchainLabel(t)).toBe('qemu-7.2+seabios-1.16.2+linux-5.10.262');
  });
  test('a point release of an unknown series is refused', () => {
    expect(() => toolchainOf({ kernel: '5.15.1' })).toThrow(UnknownVersionError);
  });
});

describe('checkKernelPointRelease', () => {
  const series510 = toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '5.10' });
  test('the series profile accepts the point release it was verified on', () => {
    expect(() => checkKernelPointRelease(series510, '5.10.223-1', 'bullseye')).not.toThrow();
  });
  test('a later 5.10 with the nosave fix needs the point release named', () => {
    expect(() => checkKernelPointRelease(series510, '5.10.262-1', 'bullseye')).toThrow(/ask for kernel 5\.10\.262/);
    expect(() => checkKernelPointRelease({ ...series510, kernelRelease: '5.10.262' }, '5.10.262-1', 'bullseye')).not.toThrow();
  });
  test('naming a point release the archive does not give is refused', () => {
    expect(() => checkKernelPointRelease({ ...series510, kernelRelease: '5.10.262' }, '5.10.223-1', 'bullseye')).toThrow(KernelPointReleaseError);
  });
  test('an unverified point release between the two is refused, naming where to add it', () => {
    expect(() => checkKernelPointRelease(series510, '5.10.240-1', 'bullseye')).toThrow(/POINT_RELEASES/);
  });
  test('series without point-release variants accept any release', () => {
    expect(() => checkKernelPointRelease(toolchainOf({ kernel: '6.1' }), '6.1.192-2', 'bookworm')).not.toThrow();
  });
  test('the prediction uses the named point release', () => {
    expect(kernelProfileForRelease('5.10', '5.10.262').nosave).toBe('ram-holes');
    expect(kernelProfileForRelease('5.10', undefined).nosave).toBe('per-entry');
  });
});
