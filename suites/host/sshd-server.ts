// A throwaway OpenSSH server for the SSH host tests: Debian's sshd (installed by
// harness/provision/sshd.ts where missing) on 127.0.0.1 at a free port, with a fresh Ed25519
// host key and user key in a private temp dir (0700, random name), logging in as the current
// user with that key only. stop() kills it and removes the dir.

import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { sha256Fingerprint } from '../../harness/host/known-hosts.ts';
import { findOrInstallSshd } from '../../harness/provision/sshd.ts';

export interface TestSshd {
  port: number;
  url: string;
  /** The server's host key as `SHA256:…`. */
  fingerprint: string;
  /** known_hosts text naming the server (`[127.0.0.1]:port ssh-ed25519 …`). */
  knownHostsLine: string;
  /** The user key's private half. */
  identity: string;
  dir: string;
  stop(): Promise<void>;
}

/** How long sshd may take to say it listens. */
const START_TIMEOUT_MS = 20_000;
/** OpenSSH's privilege separation directory (compiled in; Debian's package makes it at boot). */
const PRIVSEP_DIR = '/run/sshd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function keygen(bin: string, file: string): Promise<void> {
  await execa(bin, ['-q', '-t', 'ed25519', '-N', '', '-C', 'e820-test', '-f', file], { stdin: 'ignore' });
}

/** The base64 blob of an OpenSSH public key line. */
function blobOf(pubLine: string): Buffer {
  return Buffer.from(pubLine.trim().split(/\s+/)[1] ?? '', 'base64');
}

export async function startTestSshd(): Promise<TestSshd> {
  const tools = await findOrInstallSshd();
  const dir = await mkdtemp(join(tmpdir(), 'e820-sshd-')); // 0700, random suffix
  let child: ResultPromise | null = null;
  try {
    await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
    await keygen(tools.keygen, join(dir, 'host_ed25519'));
    await keygen(tools.keygen, join(dir, 'user_ed25519'));
    const userPub = await readFile(join(dir, 'user_ed25519.pub'), 'utf8');
    await writeFile(join(dir, 'authorized_keys'), userPub, { mode: 0o600 });
    const hostPub = await readFile(join(dir, 'host_ed25519.pub'), 'utf8');
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const config = [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        // The temp dir's parent (/tmp) is world-writable, which StrictModes refuses.
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${userInfo().username}`,
        'UsePAM no',
        'Subsystem sftp internal-sftp',
        'LogLevel INFO',
      ].join('\n');
      await writeFile(join(dir, 'sshd_config'), `${config}\n`, { mode: 0o600 });
      const sp = execa(tools.sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { reject: false, stdin: 'ignore', buffer: false, cleanup: true });
      child = sp;
      const ready = await new Promise<boolean>((resolve) => {
        let text = '';
        const t = setTimeout(() => resolve(false), START_TIMEOUT_MS);
        sp.stderr?.on('data', (b: Buffer) => {
          text += b.toString();
          if (text.includes(`Server listening on 127.0.0.1 port ${port}`)) {
            clearTimeout(t);
            resolve(true);
          }
        });
        void sp.then(() => {
          clearTimeout(t);
          resolve(false);
        });
      });
      if (ready) {
        const stop = async () => {
          sp.kill('SIGTERM');
          await sp;
          await rm(dir, { recursive: true, force: true });
        };
        return {
          port,
          url: `ssh://${userInfo().username}@127.0.0.1:${port}`,
          fingerprint: sha256Fingerprint(blobOf(hostPub)),
          knownHostsLine: `[127.0.0.1]:${port} ${hostPub.trim().split(/\s+/).slice(0, 2).join(' ')}`,
          identity: join(dir, 'user_ed25519'),
          dir,
          stop,
        };
      }
      sp.kill('SIGKILL');
      await sp;
      child = null;
      if (attempt >= 2) throw new Error(`sshd did not start on 127.0.0.1 (three ports tried); run ${tools.sshd} -D -e -f ${join(dir, 'sshd_config')} by hand to see why`);
    }
  } catch (err) {
    if (child !== null) {
      child.kill('SIGKILL');
      await child;
    }
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls `what` until it holds or `ms` pass; its last answer. */
export async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return what();
}
