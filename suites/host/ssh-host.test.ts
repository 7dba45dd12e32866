// SshHost against a real OpenSSH server on 127.0.0.1 (suites/host/sshd-server.ts): host key
// checks, hostile strings in arguments, environment and paths, and a dropped connection that
// leaves no process group or temp dir behind (the remote watchdog).

import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { checkHost, readHostFacts } from '../../harness/host/check.ts';
import { checkKvmDevice } from '../../harness/kvm-probe.ts';
import { localHost } from '../../harness/host/local.ts';
import { SshConnectError, SshHost } from '../../harness/host/ssh.ts';
import { HOSTILE } from './quote.test.ts';
import { startTestSshd, until, type TestSshd } from './sshd-server.ts';

let server: TestSshd;
let host: SshHost;
let scratch: string;

beforeAll(async () => {
  server = await startTestSshd();
  host = await SshHost.connect(server.url, { hostKey: server.fingerprint, identity: server.identity });
  scratch = await mkdtemp(join(tmpdir(), 'e820-ssh-test-'));
}, 300_000);

afterAll(async () => {
  await host?.close();
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};


describe('host key', () => {
  it('a pinned key that is not the server\'s is refused, naming the server\'s fingerprint', async () => {
    const other = 'SHA256:' + 'A'.repeat(43);
    const err = await SshHost.connect(server.url, { hostKey: other, identity: server.identity }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect((err as SshConnectError).reason).toBe('host-key');
    expect((err as Error).message).toContain(server.fingerprint);
  });

  it('a host missing from known_hosts is refused (unknown), one with another key too (changed)', async () => {
    const empty = join(scratch, 'known_hosts_empty');
    await writeFile(empty, '# nothing\n');
    const unknown = await SshHost.connect(server.url, { knownHosts: empty, identity: server.identity }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/not in .*known_hosts_empty.*server shows SHA256:/);
    expect((unknown as Error).message).toContain(`--host-key ${server.fingerprint}`);

    const changed = join(scratch, 'known_hosts_changed');
    const otherKey = 'AAAAC3NzaC1lZDI1NTE5AAAAIGx1bXB5bHVtcHlsdW1weWx1bXB5bHVtcHlsdW1weWx1';
    await writeFile(changed, `[127.0.0.1]:${server.port} ssh-ed25519 ${otherKey}\n`);
    const err = await SshHost.connect(server.url, { knownHosts: changed, identity: server.identity }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/host key of \[127\.0\.0\.1\]:\d+ changed/);
  });

  it('known_hosts holding the key lets it in', async () => {
    const file = join(scratch, 'known_hosts_good');
    await writeFile(file, `${server.knownHostsLine}\n`);
    const h = await SshHost.connect(server.url, { knownHosts: file, identity: server.identity });
    expect(h.hostKeyAccepted).toContain('line 1');
    await h.close();
  });
});

describe('hostile strings arrive intact', () => {
  it('in arguments and the environment', async () => {
    const r = await host.exec(['sh', '-c', 'printf "%s\\0" "$E820_V" "$@"', 'x', ...HOSTILE], { env: { E820_V: "v '$(x)'; y\nz" } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(["v '$(x)'; y\nz", ...HOSTILE]);
  });

  it('in paths (SFTP) and ids (a program named by a hostile path)', async () => {
    const dir = await host.makeTempDir('e820-hostile-');
    try {
      const names = HOSTILE.filter((w) => w !== '' && !w.includes('/') && w !== '.' && w !== '..' && w !== '~');
      for (const [i, n] of names.entries()) await host.writeFile(join(dir, n), `content ${i} ${n}`);
      const listed = (await host.readDir(dir)).map((e) => e.name).sort();
      expect(listed).toEqual([...names].sort());
      for (const [i, n] of names.entries()) expect((await host.readFile(join(dir, n))).toString()).toBe(`content ${i} ${n}`);
      const prog = join(dir, 'prog $(x); `y` \'q\'\nz');
      await host.writeFile(prog, '#!/bin/sh\nprintf "%s|" "$0" "$@"\n', 0o700);
      const r = await host.exec([prog, 'cell id; $(rm -rf ~)', "-M pc,'x'"]);
      expect(r.stdout).toBe(`${prog}|cell id; $(rm -rf ~)|-M pc,'x'|`);
    } finally {
      await host.removeDir(dir);
    }
    expect(await host.exists(dir)).toBe(false);
  });

  it('in the argv of a process group (the way QEMU and its -append, paths and labels are started)', async () => {
    const dir = await host.makeTempDir('e820-hostile-');
    try {
      const out = join(dir, "args $(x) 'q'.bin");
      const p = await host.spawnGroup(['sh', '-c', 'printf "%s\\0" "$@" > "$0"', out, '-append', 'console=ttyS0 memmap=1M$0x100000; $(reboot)', '-name', "cell id `id` 'x'\ny", ...HOSTILE], { cleanupDirs: [dir] });
      const ex = await p.exited;
      expect(ex.exitCode).toBe(0);
      expect((await host.readFile(out)).toString('utf8').split('\0').slice(0, -1)).toEqual(['-append', 'console=ttyS0 memmap=1M$0x100000; $(reboot)', '-name', "cell id `id` 'x'\ny", ...HOSTILE]);
      await p.signalGroup('SIGKILL');
    } finally {
      await host.removeDir(dir);
    }
  });

  it('in what provisioning runs: a working directory, both sides of a pipe, a name looked up on PATH', async () => {
    const dir = await host.makeTempDir('e820-hostile-');
    try {
      const cwd = join(dir, "work $(x) 'q'\n-");
      await host.exec(['mkdir', '--', cwd]);
      const here = await host.exec(['sh', '-c', 'pwd'], { cwd });
      expect(here).toMatchObject({ exitCode: 0, stdout: `${cwd}\n` });
      const piped = await host.pipe(['printf', '%s\\n', ...HOSTILE], ['sh', '-c', 'cat > "$0"', "out $(y)"], { cwd });
      expect(piped.exitCode).toBe(0);
      expect((await host.readFile(join(cwd, 'out $(y)'))).toString('utf8')).toBe(HOSTILE.map((w) => `${w}\n`).join(''));
      await expect(host.pipe(['sh', '-c', 'exit 3'], ['cat'])).resolves.toMatchObject({ exitCode: 3 });
      await expect(host.exec(['no-such-tool-e820'])).resolves.toMatchObject({ exitCode: 127 });
      expect(await host.which('sh')).toMatch(/^\/.*\/sh$/);
      expect(await host.which("no-such-tool-e820 $(x)")).toBeNull();
    } finally {
      await host.removeDir(dir);
    }
  });

  it('a file is never written over, nor through a planted link', async () => {
    const dir = await host.makeTempDir('e820-excl-');
    try {
      await host.writeFile(join(dir, 'f'), 'one');
      await expect(host.writeFile(join(dir, 'f'), 'two')).rejects.toThrow();
      expect((await host.readFile(join(dir, 'f'))).toString()).toBe('one');
    } finally {
      await host.removeDir(dir);
    }
  });
});

describe('process groups', () => {
  it('a timeout kills the remote program', async () => {
    const t0 = Date.now();
    const r = await host.exec(['sleep', '30'], { timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('signalGroup ends the group; the owner keeps the dir (the watchdog stood down)', async () => {
    const dir = await host.makeTempDir('e820-boot-test-');
    const p = await host.spawnGroup(['sh', '-c', 'sleep 300 & sleep 300; wait'], { cleanupDirs: [dir] });
    expect(p.pgid).toBeGreaterThan(1);
    expect(groupAlive(p.pgid)).toBe(true);
    await p.signalGroup('SIGTERM');
    const ex = await p.exited;
    expect(ex.signal ?? ex.exitCode).not.toBeNull();
    expect(await until(() => !groupAlive(p.pgid), 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(dir)).toBe(true); // the owner removes it (after keeping the logs)
    await host.removeDir(dir);
  });

  it('a dropped connection leaves no remote process group and no temp dir (remote watchdog)', async () => {
    const h = await SshHost.connect(server.url, { hostKey: server.fingerprint, identity: server.identity });
    const dir = await h.makeTempDir('e820-boot-test-');
    await h.writeFile(join(dir, 'serial.log'), 'half a boot');
    const p = await h.spawnGroup(['sh', '-c', 'trap "" HUP; sleep 300 & sleep 300; wait'], { cleanupDirs: [dir] });
    expect(groupAlive(p.pgid)).toBe(true);
    h.destroyConnection();
    const ex = await p.exited;
    expect(ex.spawnError?.code).toBe('ECONNLOST');
    expect(await until(() => !groupAlive(p.pgid) && !existsSync(dir), 15_000)).toBe(true);
  });
});

describe('e820 host check over SSH', () => {
  it('reads the same facts and gives the same verdict as locally', async () => {
    const [remote, local] = await Promise.all([readHostFacts(host), readHostFacts(localHost)]);
    const r = checkHost(remote);
    const l = checkHost(local);
    expect(r.facts.host).toBe(server.url);
    expect({ ...r.facts, host: 'x', dmesg: null, iomem: null }).toEqual({ ...l.facts, host: 'x', dmesg: null, iomem: null });
    expect(r.prediction).toEqual(l.prediction);
    expect(r.verdict).toEqual(l.verdict);
  });

  it('the command prints the same report through ssh://…:PORT with a pinned key', async () => {
    const cli = (args: string[]) => execa('node', ['bin/e820.js', 'host', 'check', ...args], { reject: false, env: { E820_CLI_FROM: 'tsx' } });
    const [viaSsh, here] = await Promise.all([cli([server.url, '--host-key', server.fingerprint, '--identity', server.identity]), cli([])]);
    expect(viaSsh.stderr).toBe('');
    expect(viaSsh.exitCode).toBe(here.exitCode);
    const body = (s: string) => s.split('\n').filter((l) => !l.startsWith('host: ')).join('\n');
    expect(body(viaSsh.stdout)).toBe(body(here.stdout));
    expect(viaSsh.stdout).toContain(`host: ${server.url}`);
    expect(here.stdout).toMatch(/kernel\.biosE820: /);
  }, 60_000);

  it('a wrong pinned key is refused by the command, exit 2, printing the fingerprint to pin', async () => {
    const r = await execa('node', ['bin/e820.js', 'host', 'check', server.url, '--host-key', `SHA256:${'B'.repeat(43)}`, '--identity', server.identity], { reject: false, env: { E820_CLI_FROM: 'tsx' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(server.fingerprint);
    expect(r.stdout).toBe('');
  }, 60_000);
});

describe('the KVM probe reads the machine through the host', () => {
  it('/dev/kvm over SSH: the same answer as locally; a hostile missing path is named intact', async () => {
    const local = await checkKvmDevice('/dev/kvm');
    const remote = await checkKvmDevice('/dev/kvm', host);
    expect(remote === null ? null : remote.replace(`${server.url}: `, '')).toBe(local);
    const odd = "/dev/kvm-none $(touch /tmp/e820-pwned); 'x'";
    expect(await checkKvmDevice(odd, host)).toBe(`${server.url}: ${await checkKvmDevice(odd)}`);
    expect(existsSync('/tmp/e820-pwned')).toBe(false);
  });
});
