// Real boots on a "remote" host: the loopback OpenSSH server (suites/host/sshd-server.ts), with
// QEMU found or installed there through the host interface and the kernel and initramfs
// uploaded once. A small matrix gives the same verdicts as on this machine; a connection that
// drops mid-boot is an error for the cell and leaves no QEMU and no temp dir behind.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, provisionToolchain, type ProvisionedToolchain } from '../../harness/capture.ts';
import { remoteStageOf } from '../../harness/host/remote-stage.ts';
import { HostSlots } from '../../harness/host/slots.ts';
import { SshHost } from '../../harness/host/ssh.ts';
import { realDeps } from '../../harness/matrix/deps.ts';
import { runMatrix, type CellResult } from '../../harness/matrix/runner.ts';
import type { CellRun } from '../../harness/matrix/schema.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { startTestSshd, until, type TestSshd } from './sshd-server.ts';

let server: TestSshd;
let host: SshHost;
let provisioned: ProvisionedToolchain;

beforeAll(async () => {
  server = await startTestSshd();
  host = await SshHost.connect(server.url, { hostKey: server.fingerprint, identity: server.identity });
  provisioned = await provisionToolchain(BASELINE_TOOLCHAIN);
}, 600_000);

afterAll(async () => {
  if (host) await remoteStageOf(host).close();
  await host?.close();
  await server?.stop();
});

const CELLS: Array<[string, string[]]> = [
  ['pc-1G', ['-M', 'pc', '-m', '1G']],
  ['q35-5G', ['-M', 'q35', '-m', '5G']],
];

function runsOf(): CellRun[] {
  return CELLS.map(([id, qemu], index) => ({
    cell: { matrix: 'remote', file: '(test)', index, id, qemu, append: null, toolchains: [BASELINE_TOOLCHAIN], note: null, timeoutSeconds: null, line: 0 },
    toolchain: BASELINE_TOOLCHAIN,
    key: `remote/${id}`,
  }));
}

/**
 * What must be identical between two runs of a cell: the verdict, field by field. The number of
 * /proc/iomem lines excluded by rule (not E820-derived, so not predicted) is left out for that
 * field: twice in CI (05 Dec 2026) a q35-5G boot had 26 such lines where the other had 25, with
 * the same 11 lines compared and matched; 30 more boots of it, here and through the loopback
 * sshd, all had 25, so the cause is not known. Every other field's exclusions still must agree.
 */
function judged(r: CellResult): unknown {
  return {
    key: r.key,
    outcome: r.outcome,
    fields: r.verdict?.fields?.map((f) => ({
      field: f.field,
      status: f.status,
      expected: f.expected,
      compared: f.compared,
      ...(f.field === 'kernel.iomem' ? {} : { excludedByRule: f.excludedByRule }),
    })),
  };
}

/** Command lines (NULs between words) of the QEMUs running on this machine. */
function qemuCmdlines(): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1');
      if (cmd.includes('qemu-system')) out.push(cmd);
    } catch {
      // gone
    }
  }
  return out;
}


describe('e820 run --host through the loopback sshd', () => {
  it('a small matrix gives the same verdicts on the remote host as on this machine', async () => {
    const local = await runMatrix(runsOf(), await realDeps(), { jobs: 1 });
    const slots = new HostSlots([{ host, jobs: 1 }]);
    const remote = await runMatrix(runsOf(), await realDeps({ slots }), { jobs: slots.size });
    expect(slots.taken.get(server.url)).toBe(CELLS.length);
    expect(local.results.map((r) => r.outcome)).toEqual(CELLS.map(() => 'pass'));
    expect(remote.results.map(judged)).toEqual(local.results.map(judged));
  }, 600_000);

  it('a connection dropped mid-boot is an error for the cell and leaves no QEMU and no temp dir there', async () => {
    const filesDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('e820-files-')).map((n) => join(tmpdir(), n)));
    const before = filesDirs();
    const h = await SshHost.connect(server.url, { hostKey: server.fingerprint, identity: server.identity });
    const args = ['-M', 'pc', '-m', '1G'];
    let mine: { files: string; bootDir: string } | null = null;
    const outcome = await capture(parseQemuArgs(args, { qemuVersion: '7.2' }), BASELINE_TOOLCHAIN, {
      provisioned,
      qemuArgs: args,
      host: h,
      onEvent: (e) => {
        if (e.stage !== 'seabios' || mine !== null) return;
        // This boot's QEMU: the one whose kernel lies in the upload dir this connection made.
        const files = [...filesDirs()].find((d) => !before.has(d));
        const cmd = files === undefined ? undefined : qemuCmdlines().find((c) => c.includes(files));
        const bootDir = cmd === undefined ? undefined : /file:(\/[^\0]*)\/serial\.log/.exec(cmd)?.[1];
        if (files !== undefined && bootDir !== undefined) mine = { files, bootDir };
        h.destroyConnection();
      },
    });
    expect(outcome).toMatchObject({ kind: 'harness-error', label: 'HostConnectionLostError', retryable: false });
    expect(mine).not.toBeNull();
    const { files, bootDir } = mine!;
    // The watchdogs: QEMU's group ended and its dir removed; the upload dir's keeper ended and that dir removed.
    expect(await until(() => !qemuCmdlines().some((c) => c.includes(bootDir)) && !existsSync(bootDir), 20_000)).toBe(true);
    expect(await until(() => !existsSync(files), 20_000)).toBe(true);
  }, 300_000);
});
