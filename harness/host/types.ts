// One host interface: everything the harness does to a machine — run a program, start a
// long-running one in its own process group and end that group, read and write files, make and
// remove temp dirs, read /proc and /sys — goes through it. LocalHost (local.ts) is this machine;
// SshHost (ssh.ts) is another one over SSH. Provisioning, capture, the matrix runner and
// `e820 host check` take a Host, so they work the same on both.

/** How a finished program ended. */
export interface ExecResult {
  /** Exit status; null when a signal ended it (or the remote side did not say). */
  exitCode: number | null;
  /** `SIGKILL`, … when a signal ended it. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The timeout (ExecOptions.timeoutMs) fired and the program was killed. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** The program's working directory (remote: entered by `cd --` in the wrapper, the path an argument). */
  cwd?: string;
  /** Kill the program after this long (milliseconds); the result says timedOut. */
  timeoutMs?: number;
  /** Kills the program when it fires; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Added to the program's environment (remote: passed as arguments of env(1), never as shell text). */
  env?: Readonly<Record<string, string>>;
  /** Bytes for the program's standard input (closed after them); default: none (closed at once). */
  stdin?: string | Uint8Array;
  /** Each line of stdout and stderr as it arrives (progress of a long apt run). */
  onLine?: (line: string) => void;
}

export type GroupSignal = 'SIGTERM' | 'SIGKILL';

/** A long-running program in its own process group (QEMU), owned by whoever started it. */
export interface HostProcess {
  /** The group's id on its host (= the leader's pid). */
  readonly pgid: number;
  /** Settles once when the leader has exited (never rejects). */
  readonly exited: Promise<{ exitCode: number | null; signal: string | null; stderr: string; spawnError: { code: string; message: string } | null }>;
  /** Sends a signal to the whole group; a group that is gone is not an error. */
  signalGroup(sig: GroupSignal): Promise<void>;
}

export interface SpawnOptions {
  env?: Readonly<Record<string, string>>;
  /**
   * What to remove when the owner disappears without tearing the group down (SSH: the connection
   * dropped; the remote watchdog then ends the group and removes these). Local: the next process
   * sweeps (harness/boot-dirs.ts), as before.
   */
  cleanupDirs?: readonly string[];
}

export interface DirEntry {
  name: string;
  isDirectory: boolean;
}

export interface Host {
  /** `local`, or `ssh://user@host:port` (for messages, results and progress). */
  readonly label: string;
  /**
   * Runs a program to its end; a non-zero exit is a result, not an error. A program that cannot
   * be started (not found, not executable) is a result too: exit 127, stderr `<program>: <why>`
   * (sh(1)'s convention, which a remote host follows anyway).
   */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * `a | b` (a's stdout into b's stdin), failing if either side fails: exit 0 only when both
   * exited 0, otherwise the first non-zero status and the failing side's stderr. A missing
   * program is exit 127, as in exec. `onLine`, `stdin` and `timeoutMs` do not apply.
   */
  pipe(a: readonly string[], b: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** The first executable of that name on the host's PATH (an absolute path), or null. */
  which(name: string): Promise<string | null>;
  /** Starts a program as the leader of a new process group. */
  spawnGroup(argv: readonly string[], opts?: SpawnOptions): Promise<HostProcess>;
  readFile(path: string): Promise<Buffer>;
  /** Bytes of a file from `offset` on, at most `max` (following a growing log). */
  readFrom(path: string, offset: number, max: number): Promise<Buffer | null>;
  /** Writes a new file (O_EXCL: never over an existing one, never through a link) with this mode. */
  writeFile(path: string, data: string | Uint8Array, mode?: number): Promise<void>;
  readDir(path: string): Promise<DirEntry[]>;
  exists(path: string): Promise<boolean>;
  /** A new private (0700) directory under the host's temp dir, named `<prefix>XXXXXX`. */
  makeTempDir(prefix: string): Promise<string>;
  /** Removes a directory and what it holds; one that is gone is not an error. */
  removeDir(path: string): Promise<void>;
  /** Is the account root (uid 0)? */
  isRoot(): Promise<boolean>;
  /** Releases the connection (SSH); LocalHost: nothing. Idempotent. */
  close(): Promise<void>;
}

/** A program the host could not start at all (not found, not executable). */
export class HostSpawnError extends Error {
  constructor(
    readonly host: string,
    readonly program: string,
    readonly code: string,
    detail: string,
  ) {
    super(`${host}: cannot run ${program} (${code}): ${detail}`);
    this.name = 'HostSpawnError';
  }
}
