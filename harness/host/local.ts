// This machine as a Host: node:child_process for programs (an argv array, never a shell),
// node:fs for files.
//
// exec and spawnGroup do what execa 9 did for them before, with its defaults: the environment
// extended, not replaced; a final newline stripped from exec's output; SIGTERM on a timeout or an
// abort, SIGKILL 5 s later if the program is still there; a running exec's program SIGTERMed when
// this process exits (signal-exit, execa's `cleanup`); a program that cannot start is a result,
// not a throw. Loading execa and its per-call stream set-up were ~25 ms of every `e820 check`
// before QEMU started. pipe (`a | b`: unpacking Debian packages) still uses execa, loaded when
// first called.

import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { onExit } from 'signal-exit';
import { accessSync, constants, statSync } from 'node:fs';
import { access, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
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
    const r = await run(file, args, opts);
    opts.signal?.throwIfAborted();
    if (r.spawnError !== null) return { exitCode: 127, signal: null, stdout: '', stderr: `${file}: ${cwdProblem(opts.cwd)}${r.spawnError.message}`, timedOut: false };
    return { exitCode: r.exitCode, signal: r.signal, stdout: stripFinalNewline(r.stdout), stderr: stripFinalNewline(r.stderr), timedOut: r.timedOut };
  }

  async pipe(a: readonly string[], b: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [fa, ...aArgs] = a;
    const [fb, ...bArgs] = b;
    if (fa === undefined || fb === undefined) throw new Error('internal: an empty argv has no program to run');
    const common = { cwd: opts.cwd, env: opts.env, ...(opts.signal ? { cancelSignal: opts.signal } : {}) };
    const { execa } = await import('execa');
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
    // Its own process group (detached), so a teardown reaches anything the program started; the
    // owner tears it down, so it is not killed when this process exits (execa's cleanup did not
    // apply to detached programs either).
    const child = start(file!, args, { detached: true, env: opts.env });
    const pgid = child instanceof Error ? -1 : (child.pid ?? -1);
    const exited = collect(child, { keepStdout: false }).then((r) => ({
      exitCode: r.exitCode,
      signal: r.signal,
      stderr: r.stderr,
      spawnError: r.spawnError ?? setprivExecError(r.exitCode ?? undefined, r.stderr),
    }));
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

/** How a program run here ended, its output as text (not stripped). */
interface Ran {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** It could not be started (ENOENT, EACCES, an argument node refuses): code and message. */
  spawnError: { code: string; message: string } | null;
}

/** After a SIGTERM for a timeout or an abort, the program has this long before SIGKILL (execa's forceKillAfterDelay default). */
const FORCE_KILL_AFTER_MS = 5_000;

/** spawn, or a stand-in that reports why it could not (node throws for some arguments, e.g. a NUL byte). */
function start(file: string, args: readonly string[], o: { detached?: boolean; env?: Readonly<Record<string, string>> | undefined; cwd?: string | undefined; stdin?: boolean }): ChildProcess | Error {
  try {
    return spawn(file, args, {
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
      // Added to this process's environment, not instead of it.
      env: o.env !== undefined ? { ...process.env, ...o.env } : process.env,
      detached: o.detached ?? false,
      stdio: [o.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return err as Error;
  }
}

/** Runs a program to its end (exec). */
function run(file: string, args: readonly string[], opts: ExecOptions): Promise<Ran> {
  const child = start(file, args, { env: opts.env, cwd: opts.cwd, stdin: opts.stdin !== undefined });
  if (child instanceof Error) return Promise.resolve(failedStart(child));
  if (opts.stdin !== undefined && child.stdin) {
    child.stdin.on('error', () => {}); // EPIPE: the program exited without reading it all
    child.stdin.end(opts.stdin);
  }
  // SIGTERMed if this process exits or is killed by a signal first, with the same hook execa's
  // `cleanup` used (signal-exit: it acts on a signal only when nothing else handles it).
  const removeExitHook = onExit(() => {
    child.kill();
  });
  let timedOut = false;
  let forceKill: NodeJS.Timeout | undefined;
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    forceKill ??= setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
  };
  const timer = opts.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), stop()), opts.timeoutMs) : undefined;
  const onAbort = () => stop();
  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  return collect(child, { keepStdout: true, ...(opts.onLine ? { onLine: opts.onLine } : {}) }).then((r) => {
    removeExitHook();
    clearTimeout(timer);
    clearTimeout(forceKill);
    opts.signal?.removeEventListener('abort', onAbort);
    return { ...r, timedOut };
  });
}

function failedStart(err: Error): Ran {
  const code = typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException).code! : 'ERR_SPAWN';
  return { exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, spawnError: { code, message: err.message } };
}

/**
 * The program's output (decoded as UTF-8 across chunk boundaries) and how it ended, once it has
 * exited and closed its output. onLine gets each line of stdout and stderr together, in the
 * order their bytes arrived, without the newline (\n or \r\n), as execa's iterable over `all` did.
 */
function collect(child: ChildProcess | Error, o: { keepStdout: boolean; onLine?: (line: string) => void }): Promise<Ran> {
  if (child instanceof Error) return Promise.resolve(failedStart(child));
  return new Promise((resolve) => {
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    const merged = o.onLine !== undefined ? new StringDecoder('utf8') : null;
    let stdout = '';
    let stderr = '';
    let partial = '';
    let spawnError: Ran['spawnError'] = null;
    const lines = (text: string) => {
      if (!o.onLine || text === '') return;
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      for (const p of parts) o.onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
    };
    child.stdout!.on('data', (b: Buffer) => {
      if (o.keepStdout) stdout += out.write(b);
      if (merged) lines(merged.write(b));
    });
    child.stderr!.on('data', (b: Buffer) => {
      stderr += err.write(b);
      if (merged) lines(merged.write(b));
    });
    child.on('error', (e) => {
      spawnError ??= failedStart(e).spawnError;
    });
    child.on('close', (code, signal) => {
      stdout += out.end();
      stderr += err.end();
      if (merged) {
        lines(merged.end());
        if (partial !== '') o.onLine!(partial);
      }
      // A program that never started has no status (node says a negative errno).
      if (spawnError !== null || child.pid === undefined) {
        resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, spawnError: spawnError ?? { code: 'ERR_SPAWN', message: `spawn ${child.spawnfile} failed` } });
        return;
      }
      resolve({ exitCode: code, signal, stdout, stderr, timedOut: false, spawnError: null });
    });
  });
}

/** What is wrong with a cwd a program could not start in, as execa said it (its fixCwdError), or ''. */
function cwdProblem(cwd: string | undefined): string {
  if (cwd === undefined || resolve(cwd) === process.cwd()) return '';
  try {
    return statSync(resolve(cwd)).isDirectory() ? '' : `The "cwd" option is not a directory: ${resolve(cwd)}.\n`;
  } catch (err) {
    return `The "cwd" option is invalid: ${resolve(cwd)}.\n${(err as Error).message}\n`;
  }
}

/** execa's stripFinalNewline: one trailing \n (or \r\n) removed. */
function stripFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
}

/** The one LocalHost (it holds no state). */
export const localHost: Host = new LocalHost();
