// Whether SeaBIOS's map can be observed at all: Debian's 128 KiB bios.bin of 1.16.3 and 1.17.0
// prints nothing on the debug port, so the model says so and the runner excludes that layer.

import { describe, expect, test } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { firmwareLogSilence, seabiosProfile } from '../../reference/profiles/seabios.ts';
import { toolchainOf } from '../../reference/toolchain.ts';

const silence = (argv: string[], qemu: string, seabios: string) => predict(parseQemuArgs(argv, { qemuVersion: qemu }), toolchainOf({ qemu, seabios })).firmwareUnobservable;

describe('firmware log silence', () => {
  test('isapc boots bios.bin: silent with 1.16.3 and 1.17.0, logged with 1.14.0 and 1.16.2', () => {
    expect(silence(['-M', 'isapc', '-cpu', 'qemu64', '-m', '256M'], '10.0', '1.16.3')).toMatch(/^SeaBIOS 1\.16\.3's 128 KiB bios\.bin \(Debian's build\) is built without debug output/);
    expect(silence(['-M', 'isapc', '-cpu', 'qemu64', '-m', '256M'], '11.1', '1.17.0')).toMatch(/prints nothing on port 0x402/);
    expect(silence(['-M', 'isapc', '-cpu', 'qemu64', '-m', '256M'], '7.2', '1.16.2')).toBeNull();
    expect(silence(['-M', 'isapc', '-cpu', 'qemu64', '-m', '256M'], '5.2', '1.14.0')).toBeNull();
  });

  test('the 256 KiB image always logs; an explicit variant wins over the file name', () => {
    expect(silence(['-M', 'pc', '-m', '1G'], '10.0', '1.16.3')).toBeNull();
    expect(silence(['-M', 'pc', '-m', '1G', '-bios', 'bios.bin'], '10.0', '1.16.3')).not.toBeNull();
    const p = seabiosProfile('1.17.0');
    expect(firmwareLogSilence(p, '/my/build.rom', 'bios')).not.toBeNull();
    expect(firmwareLogSilence(p, '/my/bios.bin', 'bios-256k')).toBeNull();
  });
});
