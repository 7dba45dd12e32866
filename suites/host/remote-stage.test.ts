// harness/host/remote-stage.ts without a server: the stage on this machine (a LocalHost under
// another label stands in for the remote host; every step is a Host call), its binaries named as
// a URL's ?qemu=&bios= would name them.

import { afterAll, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalHost } from '../../harness/host/local.ts';
import { nameBinaries, NamedBinaryError } from '../../harness/host/named-binaries.ts';
import { RemoteStage } from '../../harness/host/remote-stage.ts';

class StandInHost extends LocalHost {
  override readonly label = 'ssh://stand-in@remote-stage.test';
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('RemoteStage.tools with a named SeaBIOS', () => {
  it('a retry after a later step failed gets the first failure again, then the tools, not "File exists" from the firmware directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'e820-remote-stage-test-'));
    dirs.push(dir);
    const bios = join(dir, 'bios.bin');
    await writeFile(bios, Buffer.alloc(4096, 0xaa));
    const qemu = join(dir, 'qemu-system-x86_64');
    // First a QEMU that does not answer -version: tools() fails after the firmware dir was made.
    await writeFile(qemu, '#!/bin/sh\nexit 1\n');
    await chmod(qemu, 0o755);
    const host = new StandInHost();
    nameBinaries(host, { qemu, bios });
    const stage = new RemoteStage(host);
    try {
      await expect(stage.tools()).rejects.toThrow(NamedBinaryError);
      await expect(stage.tools()).rejects.toThrow(/does not answer -version/);
      // Now a QEMU that does: the retry finishes, with the firmware directory made once.
      await writeFile(qemu, '#!/bin/sh\necho "QEMU emulator version 7.2.0"\n');
      const t = await stage.tools();
      expect(t.qemuProfile).toBe('7.2');
      expect(t.firmwareDir).toBeDefined();
      expect((await stat(t.firmwareDir!)).mode & 0o777).toBe(0o700);
      expect((await stat(join(t.firmwareDir!, 'bios-256k.bin'))).size).toBe(4096);
      expect(t).not.toHaveProperty('seabiosDir');
    } finally {
      await stage.close();
    }
  });
});
