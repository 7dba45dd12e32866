// The small slice of the host that provisioning touches, as an interface so tests can
// inject fakes (a missing qemu, a non-root user, apt that knows no package) without
// uninstalling anything.

import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

export interface RunResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Called with each stdout/stderr line as it arrives (progress of long apt runs). */
  onLine?: (line: string) => void;
  /** Kills the command when it fires (Ctrl-C during a long apt-get). */
  signal?: AbortSignal;
}

export interface ProvisionSystem {
  /** Runs a command; never throws for a non-zero exit (callers decide what it means). */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** `a | b`, failing if either side fails. */
  pipe(a: [string, readonly string[]], b: [string, readonly string[]], opts?: RunOptions): Promise<RunResult>;
  /** First executable of that name on PATH, or null. */
  which(name: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  readFile(path: string): Promise<Uint8Array>;
  isRoot(): boolean;
  /** Set when commands are cancelled on Ctrl-C (abortableSystem): waits for locks stop on it too. */
  readonly signal?: AbortSignal;
}

const toResult = (r: { exitCode?: number | undefined; stdout?: unknown; stderr?: unknown }): RunResult => ({
  exitCode: r.exitCode,
  stdout: typeof r.stdout === 'string' ? r.stdout : '',
  stderr: typeof r.stderr === 'string' ? r.stderr : '',
});

export const localSystem: ProvisionSystem = {
  async run(cmd, args, opts = {}) {
    const sp = execa(cmd, [...args], {
      reject: false,
      cwd: opts.cwd,
      env: opts.env,
      all: opts.onLine !== undefined,
      stdin: 'ignore',
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
    try {
      if (opts.onLine) {
        for await (const line of sp.iterable({ from: 'all' })) opts.onLine(String(line));
      }
      return toResult(await sp);
    } catch (err) {
      opts.signal?.throwIfAborted();
      throw err;
    }
  },
  async pipe([a, aArgs], [b, bArgs], opts = {}) {
    const cancel = opts.signal ? { cancelSignal: opts.signal } : {};
    try {
      const r = await execa(a, [...aArgs], { cwd: opts.cwd, env: opts.env, stdin: 'ignore', buffer: { stdout: false }, ...cancel }).pipe(
        b,
        [...bArgs],
        { cwd: opts.cwd, env: opts.env, ...cancel },
      );
      return toResult(r);
    } catch (err) {
      opts.signal?.throwIfAborted();
      const e = err as { exitCode?: number; stderr?: unknown; shortMessage?: string };
      return { exitCode: e.exitCode ?? 1, stdout: '', stderr: typeof e.stderr === 'string' && e.stderr ? e.stderr : String(e.shortMessage ?? err) };
    }
  },
  async which(name) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      const p = join(dir, name);
      try {
        await access(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
    return null;
  },
  async exists(path) {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  },
  readFile: (path) => readFile(path),
  isRoot: () => process.getuid?.() === 0,
};

/**
 * The same system, except that every command is killed when `signal` fires and none starts
 * after it: provisioning (minutes of apt on a fresh machine) stops on Ctrl-C like the boot does.
 */
export function abortableSystem(system: ProvisionSystem, signal: AbortSignal): ProvisionSystem {
  const settled = async (result: Promise<RunResult>): Promise<RunResult> => {
    const r = await result;
    signal.throwIfAborted();
    return r;
  };
  return {
    run: async (cmd, args, opts = {}) => {
      signal.throwIfAborted();
      return settled(system.run(cmd, args, { ...opts, signal }));
    },
    pipe: async (a, b, opts = {}) => {
      signal.throwIfAborted();
      return settled(system.pipe(a, b, { ...opts, signal }));
    },
    which: (name) => system.which(name),
    exists: (path) => system.exists(path),
    readFile: (path) => system.readFile(path),
    isRoot: () => system.isRoot(),
    signal,
  };
}
