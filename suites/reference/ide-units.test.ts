// reference/qemu/devices.ts checkIde0Units: IDE devices without bus= all go to ide.0 (one unit on
// q35's AHCI port, two on pc's PIIX), so QEMU refuses the first that does not fit, in its words
// (the same on 5.2, 7.2, 10.0 and 11.1, measured with -S; e820 check of each edge: PASS).

import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import { QEMU_VERSIONS } from '../../reference/toolchain.ts';

const disks = (n: number, extra: (i: number) => string = () => '') =>
  Array.from({ length: n }, (_, i) => ['-drive', `file=null-co://,format=raw,if=none,id=d${i}`, '-device', `ide-hd,drive=d${i}${extra(i)}`]).flat();
const stage = (machine: string, args: string[], v: (typeof QEMU_VERSIONS)[number] = '7.2') =>
  qemuStage(parseQemuArgs(['-M', machine, '-m', '1G', ...args], { qemuVersion: v }), QEMU_PROFILES[v]);

describe('IDE devices without bus= on ide.0', () => {
  it.each(QEMU_VERSIONS.map((v) => [v]))('%s: q35 takes one, the second is refused; pc takes two, the third is refused', (v) => {
    expect(() => stage('q35', disks(1), v)).not.toThrow();
    expect(() => stage('q35', disks(2), v)).toThrow(new QemuRefusal("-device ide-hd,drive=d1: Can't create IDE unit 1, bus supports only 1 units"));
    expect(() => stage('pc', disks(2), v)).not.toThrow();
    expect(() => stage('pc', disks(3), v)).toThrow(new QemuRefusal('-device ide-hd,drive=d2: IDE unit 1 is in use'));
  });

  it('other buses do not count; unit= or an if=ide drive beside too many is not modelled', () => {
    expect(() => stage('q35', disks(2, (i) => `,bus=ide.${i}`))).not.toThrow();
    expect(() => stage('pc', disks(3, (i) => (i === 2 ? ',unit=0' : '')))).toThrow(UnsupportedOptionError);
    expect(() => stage('q35', [...disks(2), '-drive', 'file=null-co://,format=raw'])).toThrow(UnsupportedOptionError);
  });
});
