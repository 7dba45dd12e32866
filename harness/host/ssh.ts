// Another machine as a Host, over SSH (ssh2). Programs run through an exec request whose
// command is built only by posixCommand (quote.ts): a fixed sh script, and every other word —
// program, arguments, environment, paths — a quoted argument of it. Files go over SFTP.
//
// Security: the host key is always verified (known-hosts.ts): against known_hosts
// (~/.ssh/known_hosts or --known-hosts FILE) or a pinned SHA256 fingerprint (--host-key);
// an unknown or changed key is refused with the fingerprint to pin. Keys come from
// --identity FILE or the agent (SSH_AUTH_SOCK); there is no password option.
//
// Process groups: OpenSSH starts the command of an exec request in a new session (session.c
// do_exec_no_pty: setsid()), and the login shell `exec`s the wrapper, so the wrapper's pid is
// the group's id; it prints it first on stderr. A group started by spawnGroup also gets a
// watchdog: a shell builtin loop reading the channel's stdin. When the connection drops, sshd
// closes that stdin, and the watchdog ends the group (SIGTERM, grace, SIGKILL) and removes the
// cleanup dirs. The owner disarms it (a line on stdin) before its own teardown, which then
// signals the group itself and keeps the logs.
//
// Why one file of ~600 lines: every remote operation goes through one connection object (exec,
// SFTP, process groups, the watchdog), so every place that could leave a remote process or temp
// dir behind is here; quoting (quote.ts) and the host-key check (known-hosts.ts) live apart.

import { readFile } from 'node:fs/promises';
import { constants as osConstants, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { knownHostsName, knownKeyTypes, verifyHostKey, type HostKeyDecision, type HostKeyPolicy } from './known-hosts.ts';
import { posixCommand } from './quote.ts';
import type { DirEntry, ExecOptions, ExecResult, GroupSignal, Host, HostProcess, SpawnOptions } from './types.ts';

/** How long the TCP connect plus SSH handshake may take (milliseconds). */
export const SSH_READY_TIMEOUT_MS = 20_000;
/** The remote watchdog's grace between SIGTERM and SIGKILL (seconds; run-qemu's TERM_GRACE_MS). */
export const WATCHDOG_GRACE_S = 2;
/** How long `kill` over a fresh channel may take (milliseconds). */
const SIGNAL_TIMEOUT_MS = 15_000;
/** SFTP read size. */
const READ_CHUNK = 32 * 1024;

export interface SshTarget {
  user: string;
  host: string;
  port: number;
}

/** A bad `ssh://` argument: says what the form is. */
export class SshUrlError extends Error {
  constructor(readonly url: string, detail: string) {
    super(`${JSON.stringify(url)}: ${detail} (expected ssh://[user@]host[:port])`);
    this.name = 'SshUrlError';
  }
}

/** `ssh://[user@]host[:port]`, `[v6]` allowed; a password in it is refused, never used. */
export function parseSshUrl(url: string): SshTarget {
  const m = /^ssh:\/\/(?:([^@/:\s]+)(:[^@/]*)?@)?(\[[0-9a-fA-F:.]+\]|[^@/:[\]\s]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (m === null) throw new SshUrlError(url, 'not an ssh URL');
  if (m[2] !== undefined) throw new SshUrlError(url, 'a password on the command line is refused; use --identity FILE or ssh-agent');
  const port = m[4] === undefined ? 22 : Number(m[4]);
  if (port < 1 || port > 65535) throw new SshUrlError(url, `port ${m[4]} is out of range`);
  const host = m[3]!.replace(/^\[(.*)\]$/, '$1');
  return { user: m[1] ?? userInfo().username, host, port };
}

export function sshLabel(t: SshTarget): string {
  const h = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `ssh://${t.user}@${h}${t.port === 22 ? '' : `:${t.port}`}`;
}

export interface SshOptions {
  /** A known_hosts file; default ~/.ssh/known_hosts. */
  knownHosts?: string;
  /** A pinned `SHA256:…` host key fingerprint (instead of known_hosts). */
  hostKey?: string;
  /** A private key file (unencrypted; an encrypted key belongs in the agent). */
  identity?: string;
  /** The agent socket; default SSH_AUTH_SOCK. */
  agent?: string;
  readyTimeoutMs?: number;
}

/** Connecting failed: the host key, authentication, the network — the message says which and what to do. */
export class SshConnectError extends Error {
  constructor(
    readonly target: string,
    readonly reason: 'host-key' | 'auth' | 'network' | 'shell',
    message: string,
  ) {
    super(`${target}: ${message}`);
    this.name = 'SshConnectError';
  }
}

/** The connection went away while something was running over it. */
export class SshConnectionLostError extends Error {
  constructor(readonly target: string, what: string) {
    super(`${target}: the SSH connection was lost while ${what}; anything it started there is ended by the remote watchdog`);
    this.name = 'SshConnectionLostError';
  }
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

async function hostKeyPolicy(opts: SshOptions): Promise<HostKeyPolicy> {
  if (opts.hostKey !== undefined) {
    if (!FINGERPRINT.test(opts.hostKey)) throw new Error(`--host-key ${JSON.stringify(opts.hostKey)}: expected SHA256: and 43 base64 characters, as ssh-keygen -lf prints`);
    return { kind: 'pinned', fingerprint: opts.hostKey };
  }
  const file = opts.knownHosts ?? join(homedir(), '.ssh', 'known_hosts');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    // With no file every key is unknown; the refusal then names the fingerprint to pin.
    if (opts.knownHosts !== undefined) throw new Error(`--known-hosts ${file}: ${(err as Error).message}`);
    text = '';
  }
  return { kind: 'known-hosts', file, text };
}

async function authConfig(opts: SshOptions, label: string): Promise<Pick<ConnectConfig, 'privateKey' | 'agent'>> {
  if (opts.identity !== undefined) {
    let key: Buffer;
    try {
      key = await readFile(opts.identity);
    } catch (err) {
      throw new SshConnectError(label, 'auth', `--identity ${opts.identity}: ${(err as Error).message}`);
    }
    if (/ENCRYPTED|aes\d+-ctr|bcrypt/.test(key.toString('latin1', 0, 400)) && !key.toString('latin1').includes('none')) {
      throw new SshConnectError(label, 'auth', `--identity ${opts.identity} is protected by a passphrase: add it to ssh-agent (ssh-add) and leave out --identity`);
    }
    return { privateKey: key };
  }
  const agent = opts.agent ?? process.env.SSH_AUTH_SOCK;
  if (agent !== undefined && agent !== '') return { agent };
  throw new SshConnectError(label, 'auth', 'no key to log in with: pass --identity FILE, or start ssh-agent and ssh-add the key');
}

/**
 * The wrapper every remote program runs in (fixed text; all data are its arguments):
 * prints its pid (= process group id) on stderr, exports NAME=VALUE words up to `--`, then runs
 * the rest as an argv.
 */
const EXEC_SCRIPT = 'echo "$$" >&2; while [ "$1" != -- ]; do export "$1"; shift; done; shift; exec "$@"';

/**
 * As EXEC_SCRIPT, with two leading words (grace seconds, a cleanup dir or empty) and the
 * watchdog (see the file's head). The wrapper ignores SIGTERM only after starting the program,
 * so the program keeps the default action. When the program ends the wrapper says so on stderr
 * (EXIT_MARKER and the status) and stays until the watchdog ends: were it to exit, sshd would
 * close the channel, and the watchdog could not tell that from a dropped connection — it would
 * remove the dir whose logs the owner is about to read.
 */
const SPAWN_SCRIPT = [
  'echo "$$" >&2',
  'g=$1; d=$2; shift 2',
  'while [ "$1" != -- ]; do export "$1"; shift; done; shift',
  // An asynchronous list's stdin is /dev/null before its own redirections (POSIX XCU 2.9.3), so
  // the channel's stdin is kept as fd 3 for the watchdog.
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'c=$!',
  '(',
  "  trap '' TERM HUP INT",
  '  while IFS= read -r l; do [ "$l" = disarm ] && exit 0; done',
  '  kill -s TERM -- "-$$" 2>/dev/null',
  '  i=0; while kill -0 "$c" 2>/dev/null && [ "$i" -lt "$g" ]; do sleep 1; i=$((i+1)); done',
  '  [ -n "$d" ] && rm -rf -- "$d"',
  '  kill -s KILL -- "-$$"',
  ') <&3 >/dev/null 2>&1 &',
  'w=$!',
  'exec 3<&-',
  "trap '' TERM HUP INT",
  'wait "$c"; s=$?',
  `printf '\\ne820-exited %s\\n' "$s" >&2`,
  'wait "$w"',
  'exit "$s"',
].join('\n');

/** The wrapper's stderr line when the program ended: `e820-exited <status>` (128 + n: signal n). */
const EXIT_MARKER = /\ne820-exited (\d+)\n/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envWords(env: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(env ?? {}).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new Error(`environment variable name ${JSON.stringify(k)} is not a shell name`);
    return `${k}=${v}`;
  });
}

/**
 * The full remote command of an exec request: `exec` (so the login shell becomes the wrapper and
 * its pid stays the group's id), the quoted wrapper and its quoted arguments.
 */
export function remoteExecCommand(argv: readonly string[], env?: Readonly<Record<string, string>>): string {
  return `exec ${posixCommand(['sh', '-c', EXEC_SCRIPT, 'e820', ...envWords(env), '--', ...argv])}`;
}

/**
 * The sh script of `a | b`, failing if either side fails. dash has no pipefail: each side reports
 * its status on fd 3, which the command substitution collects; the exit status is a non-zero one
 * of them, else 0. Each side is a quoted argv (posixCommand), never user text in the script.
 */
export function pipeScript(a: readonly string[], b: readonly string[]): string {
  return `exec 4>&1; s=$( { { ${posixCommand(a)}; echo "a$?" >&3; } | { ${posixCommand(b)} >&4; echo "b$?" >&3; }; } 3>&1 ); for w in $s; do case "$w" in a0|b0) ;; *) exit "\${w#?}";; esac; done; exit 0`;
}

export function remoteSpawnCommand(argv: readonly string[], opts: SpawnOptions = {}): string {
  const dirs = opts.cleanupDirs ?? [];
  if (dirs.length > 1) throw new Error('internal: the remote watchdog removes at most one directory');
  return `exec ${posixCommand(['sh', '-c', SPAWN_SCRIPT, 'e820', String(WATCHDOG_GRACE_S), dirs[0] ?? '', ...envWords(opts.env), '--', ...argv])}`;
}

/**
 * Splits the wrapper's first stderr line (its pid) from the rest. Returns null until the line
 * is complete.
 */
class PidLine {
  private head = '';
  pgid: number | null = null;
  rest: Buffer[] = [];
  push(chunk: Buffer): void {
    if (this.pgid !== null) {
      this.rest.push(chunk);
      return;
    }
    this.head += chunk.toString('latin1');
    const nl = this.head.indexOf('\n');
    if (nl < 0) return;
    this.pgid = Number(this.head.slice(0, nl));
    const tail = this.head.slice(nl + 1);
    if (tail !== '') this.rest.push(Buffer.from(tail, 'latin1'));
  }
  text(): string {
    return Buffer.concat(this.rest).toString('utf8');
  }
}

/** Lines of a byte stream as they arrive. */
function lineSplitter(onLine: (l: string) => void): { push(b: Buffer): void; end(): void } {
  let partial = '';
  return {
    push(b) {
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    },
    end() {
      if (partial !== '') onLine(partial);
      partial = '';
    },
  };
}

export class SshHost implements Host {
  private sftpP: Promise<SFTPWrapper> | null = null;
  private closed = false;
  private lostListeners = new Set<() => void>();

  private constructor(
    private readonly client: Client,
    readonly label: string,
    /** How the host key was accepted (known_hosts line, or the pin). */
    readonly hostKeyAccepted: string,
  ) {
    const lost = () => {
      this.closed = true;
      for (const l of [...this.lostListeners]) l();
    };
    client.on('close', lost);
    client.on('error', () => {}); // 'close' follows and says it
  }

  /** Connects, verifies the host key, logs in, and checks that the login shell quotes as sh does. */
  static async connect(url: string, opts: SshOptions = {}): Promise<SshHost> {
    const target = parseSshUrl(url);
    const label = sshLabel(target);
    const policy = await hostKeyPolicy(opts);
    const auth = await authConfig(opts, label);
    const name = knownHostsName(target.host, target.port);
    const offered = knownKeyTypes(policy, name);
    let decision: HostKeyDecision | null = null;
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error & { level?: string }) => {
        client.removeAllListeners('ready');
        if (decision !== null && !decision.ok) reject(new SshConnectError(label, 'host-key', decision.message));
        else if (err.level === 'client-authentication') reject(new SshConnectError(label, 'auth', `${target.user} was not let in with ${opts.identity !== undefined ? `--identity ${opts.identity}` : 'the agent\'s keys'} (${err.message})`));
        else reject(new SshConnectError(label, 'network', `${err.message}; check the host and port, and that sshd runs there`));
      };
      client.once('ready', () => {
        client.removeListener('error', fail);
        resolve();
      });
      client.once('error', fail);
      client.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: opts.readyTimeoutMs ?? SSH_READY_TIMEOUT_MS,
        ...auth,
        // ssh offers the key types known_hosts has for the host first; offering only those means
        // a host known by its RSA key is not "changed" because it answered with Ed25519.
        ...(offered.length > 0 ? { algorithms: { serverHostKey: offered as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> } } : {}),
        hostVerifier: (key: Buffer) => {
          decision = verifyHostKey(policy, name, key);
          return decision.ok;
        },
      });
    });
    const d = decision as HostKeyDecision | null;
    const host = new SshHost(client, label, d !== null && d.ok ? d.how : 'verified');
    try {
      await host.checkQuoting();
    } catch (err) {
      await host.close();
      throw err;
    }
    return host;
  }

  /** A hostile word must come back byte for byte: a login shell that is not sh-like (csh, fish) is refused. */
  private async checkQuoting(): Promise<void> {
    const probe = `a b'c"d$(x)\`y\`;e\nf\\g*`;
    const r = await this.exec(['printf', '%s', probe], { timeoutMs: SSH_READY_TIMEOUT_MS });
    if (r.exitCode !== 0 || r.stdout !== probe) {
      throw new SshConnectError(
        this.label,
        'shell',
        `the login shell does not read POSIX single quotes as sh does (a test word came back as ${JSON.stringify(r.stdout)}, exit ${r.exitCode}); use an account whose login shell is sh, bash, dash or zsh`,
      );
    }
  }

  private onLost(f: () => void): () => void {
    this.lostListeners.add(f);
    return () => this.lostListeners.delete(f);
  }

  /**
   * One SFTP request: rejects when the connection is gone or goes while it waits (ssh2 does not
   * always call back a request whose connection died).
   */
  private op<T>(what: string, f: (s: SFTPWrapper, done: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new SshConnectionLostError(this.label, what));
    return this.sftp().then(
      (s) =>
        new Promise<T>((resolve, reject) => {
          const unlost = this.onLost(() => reject(new SshConnectionLostError(this.label, what)));
          f(s, (err, v) => {
            unlost();
            if (err) reject(err);
            else resolve(v as T);
          });
        }),
    );
  }

  private channel(command: string): Promise<ClientChannel> {
    if (this.closed) return Promise.reject(new SshConnectionLostError(this.label, 'starting a program'));
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => (err ? reject(err) : resolve(stream)));
    });
  }

  private async killGroup(pgid: number, sig: GroupSignal): Promise<void> {
    if (this.closed || pgid <= 0) return;
    const ch = await this.channel(remoteExecCommand(['kill', '-s', sig === 'SIGKILL' ? 'KILL' : 'TERM', '--', `-${pgid}`])).catch(() => null);
    if (ch === null) return;
    ch.end();
    await new Promise<void>((r) => {
      const t = setTimeout(r, SIGNAL_TIMEOUT_MS);
      ch.on('close', () => {
        clearTimeout(t);
        r();
      });
      ch.resume();
      ch.stderr.resume();
    });
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    opts.signal?.throwIfAborted();
    // A working directory is one more argument of a fixed script, never shell text.
    const full = opts.cwd === undefined ? argv : ['sh', '-c', 'cd -- "$1" && shift && exec "$@"', 'e820', opts.cwd, ...argv];
    const ch = await this.channel(remoteExecCommand(full, opts.env));
    const out: Buffer[] = [];
    const err = new PidLine();
    const lines = opts.onLine ? lineSplitter(opts.onLine) : null;
    const errLines = opts.onLine ? lineSplitter(opts.onLine) : null;
    let timedOut = false;
    let aborted = false;
    let killSent = false;
    const kill = () => {
      // Before the wrapper has said its pid there is nothing to name; the stderr handler sends it then.
      if (killSent || err.pgid === null) return;
      killSent = true;
      void this.killGroup(err.pgid, 'SIGKILL');
    };
    const stop = (why: 'timeout' | 'abort') => {
      if (why === 'timeout') timedOut = true;
      else aborted = true;
      kill();
    };
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;
    const onAbort = () => stop('abort');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const ended = await new Promise<{ code: number | null; signal: string | null; lost: boolean }>((resolve) => {
        let code: number | null = null;
        let signal: string | null = null;
        const unlost = this.onLost(() => resolve({ code: null, signal: null, lost: true }));
        ch.on('data', (b: Buffer) => {
          out.push(b);
          lines?.push(b);
        });
        ch.stderr.on('data', (b: Buffer) => {
          const had = err.pgid !== null;
          err.push(b);
          if (!had && (timedOut || aborted)) kill();
          if (errLines) {
            if (had) errLines.push(b);
            else if (err.pgid !== null && err.rest.length > 0) errLines.push(err.rest[err.rest.length - 1]!);
          }
        });
        ch.on('exit', (c: number | null, s?: string) => {
          code = c;
          signal = signalName(s);
        });
        ch.on('close', () => {
          unlost();
          resolve({ code, signal, lost: false });
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
      lines?.end();
      errLines?.end();
      if (aborted) opts.signal?.throwIfAborted();
      if (ended.lost) throw new SshConnectionLostError(this.label, `running ${argv[0] ?? ''}`);
      return { exitCode: ended.code, signal: ended.signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err.text(), timedOut };
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** `a | b` by sh on the remote side (pipeScript). */
  pipe(a: readonly string[], b: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['sh', '-c', pipeScript(a, b)], { ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: opts.env } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  async which(name: string): Promise<string | null> {
    const r = await this.exec(['sh', '-c', 'command -v -- "$1"', 'e820', name]);
    const p = r.stdout.trim();
    return r.exitCode === 0 && p.startsWith('/') ? p : null;
  }

  async spawnGroup(argv: readonly string[], opts: SpawnOptions = {}): Promise<HostProcess> {
    const ch = await this.channel(remoteSpawnCommand(argv, opts));
    const err = new PidLine();
    const pgidKnown = new Promise<number>((resolve) => {
      ch.stderr.on('data', (b: Buffer) => {
        err.push(b);
        if (err.pgid !== null) resolve(err.pgid);
      });
      ch.on('close', () => resolve(err.pgid ?? -1));
    });
    ch.resume(); // QEMU's stdout: not kept (the logs are files)
    const exited = new Promise<Awaited<HostProcess['exited']>>((resolve) => {
      let code: number | null = null;
      let signal: string | null = null;
      const unlost = this.onLost(() =>
        resolve({ exitCode: null, signal: null, stderr: err.text(), spawnError: { code: 'ECONNLOST', message: new SshConnectionLostError(this.label, `${argv[0] ?? ''} ran`).message } }),
      );
      const finish = () => {
        unlost();
        const all = err.text();
        const m = EXIT_MARKER.exec(all);
        const stderr = m === null ? all : all.slice(0, m.index);
        if (m !== null) {
          const st = Number(m[1]);
          const sigName = st > 128 ? Object.entries(osConstants.signals).find(([, n]) => n === st - 128)?.[0] : undefined;
          code = sigName !== undefined ? null : st;
          signal = sigName ?? null;
        }
        // sh says `<prog>: not found` and exits 127 (126: not executable), as setpriv does locally.
        const spawnError = code === 127 && /not found/.test(stderr) ? { code: 'ENOENT', message: stderr.trim() } : code === 126 ? { code: 'EACCES', message: stderr.trim() } : null;
        resolve({ exitCode: code, signal, stderr, spawnError });
      };
      // The program's end: the wrapper's marker (the channel stays open until the owner disarms
      // the watchdog), or the channel's close when the wrapper itself was killed.
      ch.stderr.on('data', () => {
        if (EXIT_MARKER.test(err.text())) finish();
      });
      ch.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = signalName(s);
      });
      ch.on('close', finish);
    });
    const pgid = await pgidKnown;
    let disarmed = false;
    return {
      pgid,
      exited,
      signalGroup: async (sig) => {
        if (!disarmed) {
          disarmed = true; // the owner is here and tears down itself: the watchdog stands down
          ch.write('disarm\n');
        }
        await this.killGroup(pgid, sig);
      },
    };
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpP ??= new Promise((resolve, reject) => this.client.sftp((e, s) => (e ? reject(e) : resolve(s))));
    return this.sftpP;
  }

  async readFile(path: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const b = await this.readFrom(path, offset, READ_CHUNK);
      if (b === null) throw Object.assign(new Error(`${this.label}: ${path}: no such file`), { code: 'ENOENT' });
      if (b.length === 0) break;
      parts.push(b);
      offset += b.length;
    }
    return Buffer.concat(parts);
  }

  async readFrom(path: string, offset: number, max: number): Promise<Buffer | null> {
    const what = `reading ${path}`;
    const handle = await this.op<Buffer | null>(what, (s, done) =>
      s.open(path, 'r', (e, h) => (e ? ((e as { code?: number }).code === 2 ? done(null, null) : done(sftpError(this.label, path, e))) : done(null, h))),
    );
    if (handle === null) return null;
    try {
      const buf = Buffer.alloc(max);
      let got = 0;
      // One SFTP read returns at most what the server chooses; read until full or EOF.
      while (got < max) {
        const n = await this.op<number>(what, (s, done) => s.read(handle, buf, got, max - got, offset + got, (e, nb) => (e ? done(sftpError(this.label, path, e)) : done(null, nb))));
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      await this.op<void>(what, (s, done) => s.close(handle, () => done(null))).catch(() => {});
    }
  }

  async writeFile(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
    const what = `writing ${path}`;
    const handle = await this.op<Buffer>(what, (s, done) => s.open(path, 'wx', { mode }, (e, h) => (e ? done(sftpError(this.label, path, e)) : done(null, h))));
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      let off = 0;
      while (off < buf.length) {
        const len = Math.min(READ_CHUNK, buf.length - off);
        await this.op<void>(what, (s, done) => s.write(handle, buf, off, len, off, (e) => done(e ? sftpError(this.label, path, e) : null)));
        off += len;
      }
    } finally {
      await this.op<void>(what, (s, done) => s.close(handle, () => done(null))).catch(() => {});
    }
  }

  async readDir(path: string): Promise<DirEntry[]> {
    const list = await this.op<Array<{ filename: string; attrs: { mode: number } }>>(`listing ${path}`, (s, done) =>
      s.readdir(path, (e, l) => (e ? done(sftpError(this.label, path, e)) : done(null, l))),
    );
    return list.map((f) => ({ name: f.filename, isDirectory: (f.attrs.mode & 0o170000) === 0o040000 }));
  }

  async exists(path: string): Promise<boolean> {
    return this.op<boolean>(`looking for ${path}`, (s, done) => s.stat(path, (e) => done(null, !e)));
  }

  async makeTempDir(prefix: string): Promise<string> {
    if (!/^[A-Za-z0-9._-]*$/.test(prefix)) throw new Error(`internal: temp dir prefix ${JSON.stringify(prefix)}`);
    const r = await this.exec(['sh', '-c', 'mktemp -d "${TMPDIR:-/tmp}/${1}XXXXXX"', 'e820', prefix], { timeoutMs: SIGNAL_TIMEOUT_MS });
    const dir = r.stdout.trim();
    if (r.exitCode !== 0 || !dir.startsWith('/')) throw new Error(`${this.label}: mktemp -d failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    return dir;
  }

  async removeDir(path: string): Promise<void> {
    const r = await this.exec(['rm', '-rf', '--', path], { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`${this.label}: rm -rf ${path} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }

  async isRoot(): Promise<boolean> {
    const r = await this.exec(['id', '-u'], { timeoutMs: SIGNAL_TIMEOUT_MS });
    return r.stdout.trim() === '0';
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
    });
  }

  /** Tests: drop the connection as a network failure would (no goodbye, nothing disarmed). */
  destroyConnection(): void {
    (this.client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
  }
}

/** ssh2 gives the exit signal as `KILL` or `SIGKILL` depending on the server; always `SIGKILL`. */
function signalName(s: string | undefined): string | null {
  if (s === undefined || s === '') return null;
  return s.startsWith('SIG') ? s : `SIG${s}`;
}

function sftpError(label: string, path: string, e: Error & { code?: number | string }): Error {
  return Object.assign(new Error(`${label}: ${path}: ${e.message}`), { code: e.code === 2 ? 'ENOENT' : e.code === 3 ? 'EACCES' : e.code === 4 ? 'EEXIST' : e.code });
}
