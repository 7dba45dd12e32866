// This machine as a Host: execa for programs (an argv array, never a shell), node:fs for files.

import { execa } from 'execa';
import { accessSync, constants } from 'node:fs';
import { access, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { DirEntry, ExecOptions, ExecResult, GroupSignal, Host, HostProcess, SpawnOptions } from './types.ts';

/** readFrom's step: a boot's whole console log is ~20 KiB. */
const READ_STEP = 64 * 1024;

let setprivPath: string | null | undefined;

/** util-linux setpriv on PATH (Priority: required in Debian), or null elsewhere. */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'setpriv'), constants.X_OK);
      setprivPath = join(dir, 'setpriv');
      break;
    } catch {
      // not here
    }
  }
  return setprivPath;
}

/**
 * The argv that makes a program die with us: `setpriv --pdeathsig KILL -- prog …` (execve keeps
 * the death signal; the program keeps setpriv's pid, so a group teardown is unchanged).
 * PDEATHSIG fires when the *thread* that forked exits: libuv forks from the event-loop thread,
 * which is the main thread in the CLI, so only the process's end fires it. Without setpriv the
 * program is spawned as is.
 */
export function deathBound(argv: readonly string[]): string[] {
  const setpriv = findSetpriv();
  return setpriv === null ? [...argv] : [setpriv, '--pdeathsig', 'KILL', '--', ...argv];
}

/** setpriv exits 127/126 with "setpriv: failed to execute X: …" when X is missing/not executable. */
function setprivExecError(exitCode: number | undefined, stderr: string): { code: string; message: string } | null {
  const m = /^setpriv: failed to execute .*: (.*)$/m.exec(stderr);
  if (m === null || (exitCode !== 127 && exitCode !== 126)) return null;
  return { code: exitCode === 127 ? 'ENOENT' : 'EACCES', message: m[0] };
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Whether a Host is this machine: any LocalHost (its programs run here, its paths are this
 * machine's paths, its process groups are signalled here), whatever its label. The one test for
 * it; a label says only what a finding calls the machine. (A test's LocalHost under an ssh://
 * label is still this machine: the remote branches are exercised through the loopback sshd,
 * suites/host/.)
 */
export function isThisMachine(host: Host): boolean {
  return host instanceof LocalHost;
}

export class LocalHost implements Host {
  readonly label: string = 'local';

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('internal: an empty argv has no program to run');
    const sp = execa(file, args, {
      reject: false,
      cwd: opts.cwd,
      env: opts.env,
      all: opts.onLine !== undefined,
      ...(opts.stdin !== undefined ? { input: opts.stdin } : { stdin: 'ignore' as const }),
      ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
    if (opts.onLine) for await (const line of sp.iterable({ from: 'all' })) opts.onLine(String(line));
    const r = await sp;
    opts.signal?.throwIfAborted();
    if (r.failed && r.exitCode === undefined && r.signal === undefined && typeof r.code === 'string' && !r.timedOut) {
      return { exitCode: 127, signal: null, stdout: '', stderr: `${file}: ${r.originalMessage ?? r.code}`, timedOut: false };
    }
    return { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stdout: text(r.stdout), stderr: text(r.stderr), timedOut: r.timedOut };
  }

  async pipe(a: readonly string[], b: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [fa, ...aArgs] = a;
    const [fb, ...bArgs] = b;
    if (fa === undefined || fb === undefined) throw new Error('internal: an empty argv has no program to run');
    const common = { cwd: opts.cwd, env: opts.env, ...(opts.signal ? { cancelSignal: opts.signal } : {}) };
    try {
      const r = await execa(fa, aArgs, { ...common, stdin: 'ignore', buffer: { stdout: false } }).pipe(fb, bArgs, common);
      return { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stdout: text(r.stdout), stderr: text(r.stderr), timedOut: false };
    } catch (err) {
      opts.signal?.throwIfAborted();
      // execa rejects when either side fails; a side that could not start has no exit code (127, as exec).
      const e = err as { exitCode?: number; signal?: string; stderr?: unknown; shortMessage?: string };
      const stderr = typeof e.stderr === 'string' && e.stderr ? e.stderr : String(e.shortMessage ?? err);
      return { exitCode: e.exitCode ?? (e.signal ? null : 127), signal: e.signal ?? null, stdout: '', stderr, timedOut: false };
    }
  }

  async which(name: string): Promise<string | null> {
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
  }

  async spawnGroup(argv: readonly string[], opts: SpawnOptions = {}): Promise<HostProcess> {
    const [file, ...args] = deathBound(argv);
    const child = execa(file!, args, {
      detached: true, // own process group, so a teardown reaches anything the program started
      reject: false,
      stdin: 'ignore',
      cleanup: false, // the owner tears down (execa's cleanup does not apply to detached anyway)
      env: opts.env,
      stripFinalNewline: false,
    });
    const pgid = child.pid ?? -1;
    const exited = child.then((r) => {
      const stderr = text(r.stderr);
      const spawnError =
        r.failed && r.exitCode === undefined && r.signal === undefined && typeof r.code === 'string'
          ? { code: r.code, message: r.originalMessage ?? r.shortMessage ?? r.code }
          : setprivExecError(r.exitCode, stderr);
      return { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stderr, spawnError };
    });
    return {
      pgid,
      exited,
      signalGroup: (sig: GroupSignal) => {
        signalLocalGroup(pgid, sig);
        return Promise.resolve();
      },
    };
  }

  readFile(path: string): Promise<Buffer> {
    return readFile(path);
  }

  async readFrom(path: string, offset: number, max: number): Promise<Buffer | null> {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch {
      return null; // not created yet
    }
    try {
      // In steps of READ_STEP, not one zeroed buffer of `max` (1 MiB): the log follower reads
      // often, and that buffer was ~0.5 s of CPU and as much GC a boot. Not sized by fstat, which
      // says 0 for /proc files. Only the bytes read are returned.
      const parts: Buffer[] = [];
      let got = 0;
      while (got < max) {
        const want = Math.min(READ_STEP, max - got);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, offset + got);
        if (bytesRead > 0) parts.push(buf.subarray(0, bytesRead));
        got += bytesRead;
        if (bytesRead < want) break;
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
    } finally {
      await fh.close();
    }
  }

  async writeFile(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
    // wx: O_CREAT|O_EXCL, which also refuses a dangling link planted at the name.
    const fh = await open(path, 'wx', mode);
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  }

  async readDir(path: string): Promise<DirEntry[]> {
    const list = await readdir(path, { withFileTypes: true });
    return list.map((d) => ({ name: d.name, isDirectory: d.isDirectory() }));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }

  makeTempDir(prefix: string): Promise<string> {
    return mkdtemp(join(tmpdir(), prefix)); // mkdtemp makes it 0700
  }

  removeDir(path: string): Promise<void> {
    return rm(path, { recursive: true, force: true });
  }

  isRoot(): Promise<boolean> {
    return Promise.resolve(process.getuid?.() === 0);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** kill(-pgid): the whole group; ESRCH (gone) is not an error. */
export function signalLocalGroup(pgid: number, sig: GroupSignal): void {
  if (pgid <= 0) return;
  try {
    process.kill(-pgid, sig);
  } catch {
    // ESRCH: the group is already gone
  }
}

/** The one LocalHost (it holds no state). */
export const localHost: Host = new LocalHost();
