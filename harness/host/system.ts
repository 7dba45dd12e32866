// Provisioning's view of a machine (harness/provision/system.ts ProvisionSystem) over any Host,
// so the same provisioning code installs QEMU and SeaBIOS on this machine or on a remote one.

import type { ProvisionSystem, RunResult } from '../provision/system.ts';
import { posixCommand } from './quote.ts';
import type { Host } from './types.ts';

export async function provisionSystemOf(host: Host, signal?: AbortSignal): Promise<ProvisionSystem> {
  const root = await host.isRoot();
  const result = (r: { exitCode: number | null; stdout: string; stderr: string }): RunResult => ({ exitCode: r.exitCode ?? undefined, stdout: r.stdout, stderr: r.stderr });
  return {
    run: async (cmd, args, opts = {}) =>
      result(
        await host.exec([cmd, ...args], {
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.onLine ? { onLine: opts.onLine } : {}),
          ...(opts.signal ?? signal ? { signal: (opts.signal ?? signal)! } : {}),
        }),
      ),
    // `a | b`, failing if either side fails (dash has no pipefail: each side reports its status
    // on fd 3, which the command substitution collects). Each side is a quoted argv (posixCommand).
    pipe: async ([a, aArgs], [b, bArgs], opts = {}) =>
      result(
        await host.exec(['sh', '-c', `exec 4>&1; s=$( { { ${posixCommand([a, ...aArgs])}; echo "a$?" >&3; } | { ${posixCommand([b, ...bArgs])} >&4; echo "b$?" >&3; }; } 3>&1 ); case "$s" in *a0*) case "$s" in *b0*) exit 0;; esac;; esac; exit 1`], {
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.signal ?? signal ? { signal: (opts.signal ?? signal)! } : {}),
        }),
      ),
    which: async (name) => {
      const r = await host.exec(['sh', '-c', 'command -v -- "$1"', 'e820', name]);
      const p = r.stdout.trim();
      return r.exitCode === 0 && p.startsWith('/') ? p : null;
    },
    exists: (path) => host.exists(path),
    readFile: (path) => host.readFile(path),
    isRoot: () => root,
    ...(signal ? { signal } : {}),
  };
}
