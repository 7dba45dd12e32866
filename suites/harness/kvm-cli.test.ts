// The CLI's KVM paths without booting: `e820 predict` takes the host facts for KVM command lines
// (this machine's, or --host-vendor/--host-phys-bits), and `e820 kvm` prints facts and probe.

import { describe, expect, it } from 'vitest';
import { kvmCommand } from '../../harness/cli/commands/kvm.ts';
import { predictCommand } from '../../harness/cli/commands/predict.ts';
import type { HostFactsSources } from '../../harness/host-facts.ts';
import { ElsewhereHost, FakeKvmHost } from './fake-kvm-host.ts';
import type { Host } from '../../harness/host/types.ts';
import { userAccelerator } from '../../harness/qemu-argv.ts';

const amd48: HostFactsSources = {
  readCpuinfo: () => 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu lm hypervisor\naddress sizes\t: 48 bits physical, 48 bits virtual\n',
  cpuidPhysBits: () => null,
};
const unreadable: HostFactsSources = {
  readCpuinfo: () => {
    throw new Error('EACCES: permission denied');
  },
  cpuidPhysBits: () => null,
};
const HT = '0x000000fd00000000  0x0000000300000000  reserved (2)';
const IDENTITY = '0x00000000feffc000  0x0000000000004000  reserved (2)';

describe('e820 predict for KVM', () => {
  it("predicts with this machine's host facts and says which", () => {
    const r = predictCommand(['-M', 'pc', '-m', '1G', '-accel', 'kvm'], {}, amd48);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('KVM host: AuthenticAMD, 48 physical address bits (vendor: /proc/cpuinfo line 2; phys-bits: /proc/cpuinfo line 4)');
    expect(r.stdout).toContain(IDENTITY);
    expect(r.stdout).toContain(HT);
  });

  it('--host-vendor/--host-phys-bits predict for another host, without reading this one', () => {
    const intel = predictCommand(['-M', 'pc', '-m', '1G', '-accel', 'kvm'], { hostVendor: 'intel', hostPhysBits: '46' }, unreadable);
    expect(intel.code).toBe(0);
    expect(intel.stdout).toContain('KVM host: GenuineIntel, 46 physical address bits (vendor: --host-vendor; phys-bits: --host-phys-bits)');
    expect(intel.stdout).not.toContain(HT);
    // host-phys-bits-limit caps the host width: 39 bits → no HT hole even on AMD.
    const capped = predictCommand(['-M', 'pc', '-m', '1G', '-accel', 'kvm', '-cpu', 'host,host-phys-bits-limit=39'], { hostVendor: 'amd', hostPhysBits: '48', hostLa57: 'off' }, unreadable);
    expect(capped.stdout).not.toContain(HT);
    const json = JSON.parse(predictCommand(['-M', 'q35', '-m', '2G', '-accel', 'kvm'], { json: true }, amd48).stdout) as { host: unknown };
    expect(json.host).toEqual({ cpuVendor: 'AuthenticAMD', physBits: 48, la57: false, sources: { vendor: '/proc/cpuinfo line 2', physBits: '/proc/cpuinfo line 4' } });
  });

  it('unreadable host facts are exit 2 with what to do; TCG never reads them', () => {
    const r = predictCommand(['-M', 'pc', '-accel', 'kvm'], {}, unreadable);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read /proc/cpuinfo');
    expect(r.stderr).toContain('what to do: pass --host-vendor and --host-phys-bits');
    const tcg = predictCommand(['-M', 'pc', '-m', '1G'], { hostVendor: 'intel' }, unreadable);
    expect(tcg.code).toBe(0);
    expect(tcg.stderr).toContain('--host-vendor/--host-phys-bits ignored: not a KVM configuration');
    expect(predictCommand(['-M', 'pc', '-accel', 'kvm'], { hostPhysBits: '64' }, amd48).stderr).toContain('--host-phys-bits "64"');
  });

  it('the harness reads the accelerator the way QEMU does', () => {
    expect(userAccelerator(['-M', 'pc', '-accel', 'kvm'])).toBe('kvm');
    expect(userAccelerator(['-enable-kvm'])).toBe('kvm');
    expect(userAccelerator(['-M', 'q35,accel=kvm'])).toBe('kvm');
    expect(userAccelerator(['-M', 'q35'])).toBeUndefined();
  });
});

describe('e820 kvm', () => {
  // The machine is another host (ElsewhereHost: not this machine, so no cpuid device is read there): its /proc/cpuinfo says AMD, 48 bits, nested; its /dev/kvm is missing, so the probe answers without a boot.
  const deps = (out: string[], host: Host = new ElsewhereHost(new FakeKvmHost('ENOENT', true, 'ssh://root@kvm1:22'))) => ({
    host,
    provision: async () => ({ qemu: { binary: '/usr/bin/qemu-system-x86_64' }, kernel: { image: '/k', fwCfgModule: null } }),
    stdout: (s: string) => out.push(s),
    stderr: () => {},
  });

  it("prints that machine's host facts, the verdict and what it means for KVM cells", async () => {
    const out: string[] = [];
    expect(await kvmCommand({}, deps(out))).toBe(0);
    const text = out.join('');
    expect(text).toContain('machine: ssh://root@kvm1:22');
    expect(text).toContain('host facts for KVM predictions: AuthenticAMD, 48 physical address bits (vendor: /proc/cpuinfo line 2; phys-bits: /proc/cpuinfo line 4)');
    expect(text).toContain('kvm: unavailable — ssh://root@kvm1:22: there is no /dev/kvm: the host kernel has no KVM');
    expect(text).toContain('host CPU: hypervisor flag set (the host is a guest itself: nested KVM)');
    expect(text).toContain('so: KVM cells end in a harness error (KvmUnavailable) naming this reason');
  });

  it('--json carries both', async () => {
    const out: string[] = [];
    expect(await kvmCommand({ json: true }, deps(out))).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ machine: 'ssh://root@kvm1:22', host: { facts: { cpuVendor: 'AuthenticAMD', physBits: 48 } }, probe: { host: 'ssh://root@kvm1:22', status: 'unavailable' } });
  });
});
