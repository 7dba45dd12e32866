// The binaries a remote host's URL names (harness/host/named-binaries.ts), without a server:
// what is accepted, and every hostile or malformed value refused before anything connects.

import { describe, expect, it } from 'vitest';
import { HostUrlError, remotePathProblem, splitHostUrl } from '../../harness/host/named-binaries.ts';

describe('ssh:// URL with named binaries', () => {
  it('splits the connection URL from qemu= and bios= (percent-decoded, spaces allowed)', () => {
    expect(splitHostUrl('ssh://root@kvm1')).toEqual({ url: 'ssh://root@kvm1', named: {} });
    expect(splitHostUrl('ssh://root@kvm1:2222?qemu=/opt/qemu/bin/qemu-system-x86_64&bios=/opt/seabios/bios.bin')).toEqual({
      url: 'ssh://root@kvm1:2222',
      named: { qemu: '/opt/qemu/bin/qemu-system-x86_64', bios: '/opt/seabios/bios.bin' },
    });
    expect(splitHostUrl(`ssh://u@h?qemu=${encodeURIComponent("/opt/my qemu/it's $(x);`y`")}`).named.qemu).toBe("/opt/my qemu/it's $(x);`y`");
  });

  it('percent-decodes only: a + stays a + (not form encoding), %2B is a + too, %20 a space', () => {
    expect(splitHostUrl('ssh://u@h?qemu=/opt/qemu-7.2+dfsg/bin/qemu-system-x86_64&bios=/opt/a+b/bios.bin').named).toEqual({
      qemu: '/opt/qemu-7.2+dfsg/bin/qemu-system-x86_64',
      bios: '/opt/a+b/bios.bin',
    });
    expect(splitHostUrl('ssh://u@h?qemu=/opt/q%2Bx%20y').named.qemu).toBe('/opt/q+x y');
  });

  it.each([
    ['ssh://h?qemu=qemu-system-x86_64', /qemu="qemu-system-x86_64" is not an absolute path/],
    ['ssh://h?qemu=/opt/../bin/sh', /is not in normal form/],
    ['ssh://h?qemu=/opt//q', /is not in normal form/],
    ['ssh://h?qemu=/opt/q/', /ends in \//],
    ['ssh://h?qemu=/opt/q%0Arm%20-rf%20/', /holds a control character/],
    ['ssh://h?qemu=/opt/q%00', /holds a control character/],
    ['ssh://h?qemu=', /qemu="" is empty/],
    ['ssh://h?qemu=/a&qemu=/b', /qemu= is given twice/],
    ['ssh://h?kernel=/boot/vmlinuz', /unknown parameter "kernel"/],
    ['ssh://h?qemu=/a#b', /a # in the URL/],
    ['ssh://h?qemu=/opt/q%zz', /not percent-encoded correctly/],
    ['ssh://h?qemu=/a&', /unknown parameter ""/],
  ])('refuses %s', (url, why) => {
    expect(() => splitHostUrl(url)).toThrow(HostUrlError);
    expect(() => splitHostUrl(url)).toThrow(why);
  });

  it('path rules', () => {
    expect(remotePathProblem('/usr/bin/qemu-system-x86_64')).toBeNull();
    expect(remotePathProblem(`/${'a'.repeat(4100)}`)).toMatch(/longer than 4096/);
    expect(remotePathProblem('/a/./b')).toMatch(/normal form/);
  });
});
