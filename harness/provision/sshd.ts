// Debian's OpenSSH server for the SSH host tests (suites/host/): found, or installed with apt
// (the machine's own apt configuration) when missing and root. The package's service is not
// what the tests use: they start their own sshd on 127.0.0.1 with a throwaway configuration.

import { aptInstall, aptInstallCommand } from './host-tools.ts';
import { HostToolsMissingError } from './errors.ts';
import { localHost } from '../host/local.ts';
import type { Host } from '../host/types.ts';

export const SSHD_BINARY = '/usr/sbin/sshd';
export const SSHD_PACKAGE = 'openssh-server';
/** ssh-keygen, for the throwaway keys (openssh-client, which openssh-server depends on). */
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export async function findOrInstallSshd(opts: { host?: Host; onProgress?: (m: string) => void } = {}): Promise<{ sshd: string; keygen: string }> {
  const sys = opts.host ?? localHost;
  const have = async () => (await sys.exists(SSHD_BINARY)) && (await sys.exists(SSH_KEYGEN));
  if (!(await have())) {
    const what = [`${SSHD_BINARY} or ${SSH_KEYGEN} is missing`];
    if (!(await sys.isRoot())) throw new HostToolsMissingError(what, [SSHD_PACKAGE], aptInstallCommand([SSHD_PACKAGE]), 'Not running as root, so it cannot be installed automatically.');
    await aptInstall([SSHD_PACKAGE], sys, opts.onProgress ?? (() => {}));
    if (!(await have())) throw new HostToolsMissingError(what, [SSHD_PACKAGE], aptInstallCommand([SSHD_PACKAGE]), 'It is still missing after installing.');
  }
  return { sshd: SSHD_BINARY, keygen: SSH_KEYGEN };
}
