// `e820 capture` on a given machine (CaptureCliDeps.host; --host connects one): the KVM probe
// asks that machine, and the capture is told to boot there. No boot here: the fake machine has
// no /dev/kvm, or the capture is a fake that records where it was sent.

import { describe, expect, it } from 'vitest';
import { captureCommand, type CaptureCliDeps } from '../../harness/cli/commands/capture.ts';
import { clearKvmProbes } from '../../harness/kvm-probe.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { ElsewhereHost, FakeKvmHost } from './fake-kvm-host.ts';

const sink = () => {
  const chunks: string[] = [];
  return { chunks, stream: { write: (s: string) => chunks.push(s), isTTY: false } };
};
const tools = { qemu: { binary: '/usr/bin/qemu-system-x86_64', version: 'QEMU emulator version 7.2.22' }, kernel: { image: '/k', fwCfgModule: null } };

describe('e820 capture on another machine', () => {
  it("a KVM command line is probed on that machine: no KVM there is exit 2 naming it, and nothing boots", async () => {
    clearKvmProbes();
    const err = sink();
    let booted = false;
    const code = await captureCommand(['-M', 'pc', '-m', '1G', '-accel', 'kvm'], {}, {
      host: new ElsewhereHost(new FakeKvmHost('ENOENT', false, 'ssh://root@kvm1:22')),
      provision: async () => tools,
      capture: (async () => {
        booted = true;
        throw new Error('must not boot');
      }) as CaptureCliDeps['capture'],
      parseQemuArgs,
      stderr: err.stream,
      stdout: () => {},
    });
    expect(code).toBe(2);
    expect(booted).toBe(false);
    expect(err.chunks.join('')).toContain('e820 capture: KVM is unavailable on ssh://root@kvm1:22: ssh://root@kvm1:22: there is no /dev/kvm');
  });

  it('--host with a URL the harness refuses is exit 2 before anything connects', async () => {
    const err = sink();
    const code = await captureCommand(['-M', 'pc'], { host: 'ssh://root@kvm1?qemu=relative/qemu' }, { stderr: err.stream, stdout: () => {}, parseQemuArgs });
    expect(code).toBe(2);
    expect(err.chunks.join('')).toContain('qemu="relative/qemu" is not an absolute path');
  });
});
