// harness/host/connect.ts without a server: --host URLs refused before anything connects.

import { describe, expect, it } from 'vitest';
import { connectRemotes, RepeatedHostError } from '../../harness/host/connect.ts';

describe('connectRemotes', () => {
  it.each([
    [['ssh://root@kvm1?qemu=/opt/a/qemu-system-x86_64', 'ssh://root@kvm1?qemu=/opt/b/qemu-system-x86_64'], 'ssh://root@kvm1'],
    [['ssh://root@kvm1', 'ssh://root@kvm1:22/'], 'ssh://root@kvm1'],
    [['ssh://root@KVM1:2222', 'ssh://root@kvm1:2222?bios=/opt/bios.bin'], 'ssh://root@kvm1:2222'],
    [['ssh://root@[::1]:2222', 'ssh://root@[::1]:2222?qemu=/q'], 'ssh://root@[::1]:2222'],
  ])('refuses a second URL for the same user@host:port, before connecting: %j', async (urls, target) => {
    // No server listens on these names: a connection attempt would fail with another error.
    const err = await connectRemotes(urls, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepeatedHostError);
    expect((err as RepeatedHostError).exitCode).toBe(2);
    expect((err as Error).message).toContain(`connects to ${target} as --host ${JSON.stringify(urls[0])} does`);
  });
});
