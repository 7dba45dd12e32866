// A Host whose programs stop when `signal` fires: provisioning (minutes of apt on a fresh machine)
// stops on Ctrl-C like the boot does, on this machine and on a remote one alike.

import { localHost } from './local.ts';
import type { ExecOptions, ExecResult, Host } from './types.ts';

/**
 * The same host, except that every exec and pipe is killed when `signal` fires and none starts
 * after it (the call rejects with the signal's reason). Files, temp dirs and process groups pass
 * through: their owners tear them down.
 */
export function abortableHost(host: Host, signal: AbortSignal): Host {
  const settled = async (result: Promise<ExecResult>): Promise<ExecResult> => {
    const r = await result;
    signal.throwIfAborted();
    return r;
  };
  const withSignal = (opts: ExecOptions = {}): ExecOptions => {
    signal.throwIfAborted();
    return { ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, signal]) : signal };
  };
  return {
    label: host.label,
    exec: async (argv, opts) => settled(host.exec(argv, withSignal(opts))),
    pipe: async (a, b, opts) => settled(host.pipe(a, b, withSignal(opts))),
    which: (name) => host.which(name),
    spawnGroup: (argv, opts) => host.spawnGroup(argv, opts),
    readFile: (path) => host.readFile(path),
    readFrom: (path, offset, max) => host.readFrom(path, offset, max),
    writeFile: (path, data, mode) => host.writeFile(path, data, mode),
    readDir: (path) => host.readDir(path),
    exists: (path) => host.exists(path),
    makeTempDir: (prefix) => host.makeTempDir(prefix),
    removeDir: (path) => host.removeDir(path),
    isRoot: () => host.isRoot(),
    close: () => host.close(),
  };
}

/** The host a provisioning call works on: `host` (default: this machine), stopping on `signal` when given. */
export function hostFor(opts: { host?: Host | undefined; signal?: AbortSignal | undefined }): Host {
  const host = opts.host ?? localHost;
  return opts.signal ? abortableHost(host, opts.signal) : host;
}
