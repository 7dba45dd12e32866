// isThisMachine (harness/host/local.ts): the one test for "is this host this machine", used by
// run-qemu, the KVM probe, the cpu facts, the slots, the runner and e820 capture.

import { describe, expect, it } from 'vitest';
import { isThisMachine, LocalHost, localHost } from '../../harness/host/local.ts';
import { HostSlots } from '../../harness/host/slots.ts';
import { ElsewhereHost, FakeKvmHost } from '../harness/fake-kvm-host.ts';

describe('isThisMachine', () => {
  it('is any LocalHost, whatever its label; never another host', () => {
    expect(isThisMachine(localHost)).toBe(true);
    expect(isThisMachine(new LocalHost())).toBe(true);
    expect(isThisMachine(new FakeKvmHost('OK', true, 'ssh://root@kvm1:22'))).toBe(true);
    expect(isThisMachine(new ElsewhereHost(new FakeKvmHost('OK', true, 'ssh://root@kvm1:22')))).toBe(false);
  });

  it('HostSlots hands out another host first for any LocalHost, not only the localHost object', async () => {
    const here = new FakeKvmHost('OK', true, 'local');
    const there = new ElsewhereHost(new FakeKvmHost('OK', true, 'ssh://root@kvm1:22'));
    const slots = new HostSlots([{ host: here, jobs: 1 }, { host: there, jobs: 1 }]);
    expect(slots.hosts).toEqual([there, here]);
    expect(await slots.acquire()).toBe(there);
  });
});
