// A Host from what the user typed: no URL is this machine; `ssh://…` is an SshHost with the
// key-checking and login flags every command that takes a host shares; `?qemu=…&bios=…` after it
// names that machine's own binaries (harness/host/named-binaries.ts), checked before connecting.

import { localHost } from './local.ts';
import { nameBinaries, splitHostUrl } from './named-binaries.ts';
import type { Host } from './types.ts';

export interface SshFlags {
  /** `--known-hosts FILE` (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** `--host-key SHA256:…`: the pinned fingerprint. */
  hostKey?: string;
  /** `--identity FILE` (default: the agent). */
  identity?: string;
}

export const SSH_FLAG_HELP = {
  knownHosts: ['--known-hosts <FILE>', 'known_hosts file the SSH host key is checked against (default ~/.ssh/known_hosts)'],
  hostKey: ['--host-key <SHA256:...>', 'the SSH host key fingerprint to accept (ssh-keygen -lf on the host prints it); instead of known_hosts'],
  identity: ['--identity <FILE>', 'private key to log in with (default: the keys of ssh-agent); passwords are never taken'],
} as const;

export async function hostOf(url: string | undefined, flags: SshFlags): Promise<Host> {
  if (url === undefined || url === 'local') return localHost;
  const { url: target, named } = splitHostUrl(url);
  // ssh2 (and its crypto set-up) is loaded only when a host is named: `e820 run` without --host
  // starts as fast as before.
  const { SshHost } = await import('./ssh.ts');
  const host = await SshHost.connect(target, {
    ...(flags.knownHosts !== undefined ? { knownHosts: flags.knownHosts } : {}),
    ...(flags.hostKey !== undefined ? { hostKey: flags.hostKey } : {}),
    ...(flags.identity !== undefined ? { identity: flags.identity } : {}),
  });
  nameBinaries(host, named);
  return host;
}

/** Two --host URLs for one connection target (user@host:port), whatever binaries they name. */
export class RepeatedHostError extends Error {
  readonly exitCode = 2;
  constructor(first: string, again: string, target: string) {
    super(
      `--host ${JSON.stringify(again)} connects to ${target} as --host ${JSON.stringify(first)} does: a run takes each machine once, ` +
        `since what it learns about a host (its KVM, its QEMU and SeaBIOS, its CPU, where each cell booted) is kept under that name\n` +
        `what to do: give each user@host:port once; to compare two QEMU builds named on one machine (?qemu=…&bios=…), run them one after the other`,
    );
    this.name = 'RepeatedHostError';
  }
}

/** `--host ssh://…` for each URL, connected (host key verified) before anything boots. */
export async function connectRemotes(urls: readonly string[], flags: SshFlags): Promise<Host[]> {
  if (urls.length > 1) {
    // Refused before anything connects. The key is the host's label (sshLabel), which every
    // per-host record of a run is kept under (harness/binaries.ts recordBinariesOn, the runner's
    // KVM probes, harness/kvm-probe.ts's memo, HostSlots, ranOn); a host name's case does not
    // make another machine.
    const { parseSshUrl, sshLabel } = await import('./ssh.ts');
    const seen = new Map<string, string>();
    for (const u of urls) {
      const t = u === 'local' ? null : parseSshUrl(splitHostUrl(u).url);
      const label = t === null ? 'local' : sshLabel(t);
      const key = t === null ? 'local' : sshLabel({ ...t, host: t.host.toLowerCase() });
      const first = seen.get(key);
      if (first !== undefined) throw new RepeatedHostError(first, u, label);
      seen.set(key, u);
    }
  }
  const hosts: Host[] = [];
  try {
    for (const u of urls) hosts.push(await hostOf(u, flags));
  } catch (err) {
    await closeRemotes(hosts);
    throw err;
  }
  return hosts;
}

/** Removes each remote host's uploads and closes its connection. */
export async function closeRemotes(hosts: readonly Host[]): Promise<void> {
  // A local check or run has none: nothing to load (remote-stage's chunk) on its way out.
  if (hosts.length === 0) return;
  const { remoteStageOf } = await import('./remote-stage.ts');
  await Promise.all(
    hosts.map(async (h) => {
      await remoteStageOf(h).close().catch(() => {});
      await h.close().catch(() => {});
    }),
  );
}

/** `--host-jobs N`: boots at once on each remote host. */
export function parseHostJobs(text: string | undefined): number {
  if (text === undefined) return 1;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw Object.assign(new Error(`--host-jobs ${JSON.stringify(text)}: expected a whole number ≥ 1`), { exitCode: 2 });
  return n;
}
