// One QEMU process under the qtest protocol: spawned, asked, killed.
//
// Ownership as for a boot (harness/run-qemu.ts): QEMU starts through `setpriv --pdeathsig KILL`
// (deathBound) in its own process group, and every way out — replies complete, QEMU exited,
// deadline, AbortSignal, this process exiting — ends in one idempotent teardown that SIGKILLs the
// group (QEMU held at -S has nothing to flush: no guest ran, no file is written). No temp dir:
// the protocol runs on QEMU's stdin/stdout.

import { spawn, type ChildProcess } from 'node:child_process';
import { emptyProgress, QemuLaunchError, type BootContext } from '../errors.ts';
import { deathBound } from '../run-qemu.ts';

/** How long one qtest run may take, spawn to the last reply: QEMU's start-up is ~30 ms of CPU here. */
export const QTEST_DEADLINE_MS = 30_000;

export class QtestTimeoutError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly ms: number,
    readonly stderr: string,
  ) {
    super(
      `qtest: QEMU gave no complete reply within ${ms / 1000} s; what to do: run the command by hand with the same arguments and type "inb 0x511" (the machine may be overloaded: raise the deadline)\ncommand: ${argv.join(' ')}${stderr.trim() !== '' ? `\nqemu stderr:\n  ${stderr.trimEnd().split('\n').join('\n  ')}` : ''}`,
    );
    this.name = 'QtestTimeoutError';
  }
}

export interface QtestSessionOptions {
  qemu: string;
  args: readonly string[];
  env?: Record<string, string>;
  signal?: AbortSignal;
  deadlineMs?: number;
}

/**
 * glibc's malloc tunables for the QEMU process (glibc manual, "Memory Allocation Tunables"):
 * hugetlb=1 madvises the heap MADV_HUGEPAGE, so the ~30 MB QEMU allocates while building the
 * board fault in 2 MiB at a time instead of 4 KiB; top_pad=8 MiB grows the heap in steps that
 * huge pages can fill. 7.2 `-M pc -m 512M` held at -S: ~7,300 page faults and ~35 ms of CPU
 * without, ~3,000 and ~28 ms with hugetlb=1, ~2,350 and 1.4 ms less again with the top_pad (perf
 * stat medians, alternated; RSS high-water 46 -> 59 MB; docs/qemu-layer.md). Where THP is off
 * (`never`) they change little; glibc older than 2.35 (QEMU 5.2's bullseye) ignores hugetlb. The
 * allocator's behaviour is all they change: no option, device or file. The user's own
 * GLIBC_TUNABLES come after them, so they win.
 */
export const QTEST_GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1:glibc.malloc.top_pad=8388608';

/** The environment QEMU runs with under qtest: `env` over this process's, plus QTEST_GLIBC_TUNABLES. */
export function qtestEnv(env: Record<string, string> | undefined, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...parent, ...env };
  const user = merged.GLIBC_TUNABLES;
  merged.GLIBC_TUNABLES = user !== undefined && user !== '' ? `${QTEST_GLIBC_TUNABLES}:${user}` : QTEST_GLIBC_TUNABLES;
  return merged;
}

/** Ask QEMU batches of commands: all written at once, the replies returned in order. */
export interface QtestIO {
  exchange(commands: readonly string[]): Promise<string[]>;
}

const live = new Set<ChildProcess>();
/** What `ended` holds once the run is over: QEMU's exit from the teardown is then no error. */
const FINISHED = new Error('qtest: the session is over');
let exitHook = false;

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: gone already
  }
}

/**
 * Runs `script` against a fresh QEMU and tears it down. QEMU exiting before the script is done
 * (it refused the configuration) is a QemuLaunchError carrying its stderr, as for a boot.
 */
export async function withQtest<T>(opts: QtestSessionOptions, script: (io: QtestIO) => Promise<T>): Promise<{ value: T; stderr: string; argv: string[]; wallMs: number }> {
  const argv = [opts.qemu, ...opts.args];
  const [file, ...rest] = deathBound(argv);
  const t0 = performance.now();
  opts.signal?.throwIfAborted();
  const child = spawn(file!, rest, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: qtestEnv(opts.env) });
  live.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of live) killGroup(c);
    });
  }
  let stderr = '';
  let pending = '';
  const lines: string[] = [];
  let waiter: { want: number; resolve: () => void } | null = null;
  let ended: Error | null = null;
  let fail: ((e: Error) => void) | null = null;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined);
  // The error is made only if nothing ended the run before: QEMU's exit after the teardown's
  // SIGKILL is the normal end, and building a QemuLaunchError (message, stack) for it cost ~1 ms
  // a configuration (node --cpu-prof over qemu-layer.yaml's runs).
  const stop = (make: () => Error): void => {
    if (ended === null) {
      const e = make();
      ended = e;
      fail!(e);
    }
  };
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout!.setEncoding('latin1').on('data', (d: string) => {
    pending += d;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    // Asynchronous IRQ lines are never asked for; anything else is a reply.
    for (const l of parts) if (!l.startsWith('IRQ ')) lines.push(l);
    if (waiter !== null && lines.length >= waiter.want) waiter.resolve();
  });
  // stdin errors (EPIPE when QEMU has exited) are decided by the exit below.
  child.stdin!.on('error', () => undefined);
  const context = (): BootContext => ({
    argv,
    exitCode: child.exitCode,
    signal: child.signalCode,
    killedByHarness: false,
    stderr,
    consoleTail: [],
    progress: emptyProgress(),
    logs: {},
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.on('error', (e) => stop(() => e));
  void exited.then(() => stop(() => new QemuLaunchError(context())));
  const deadlineMs = opts.deadlineMs ?? QTEST_DEADLINE_MS;
  const timer = setTimeout(() => stop(() => new QtestTimeoutError(argv, deadlineMs, stderr)), deadlineMs);
  const onAbort = (): void => stop(() => (opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error(String(opts.signal!.reason ?? 'aborted'))));
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let consumed = 0;
  const io: QtestIO = {
    async exchange(commands) {
      if (ended !== null) throw ended;
      const want = consumed + commands.length;
      const got = new Promise<void>((resolve) => {
        waiter = { want, resolve };
        if (lines.length >= want) resolve();
      });
      child.stdin!.write(`${commands.join('\n')}\n`);
      await Promise.race([got, failed]);
      waiter = null;
      const replies = lines.slice(consumed, want);
      consumed = want;
      return replies;
    },
  };
  try {
    const value = await script(io);
    return { value, stderr, argv, wallMs: Math.round(performance.now() - t0) };
  } catch (e) {
    // QEMU's exit may race the failed read: let stderr drain so the refusal text is complete.
    if (e instanceof QemuLaunchError) {
      await exited;
      throw new QemuLaunchError(context());
    }
    throw e;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    ended ??= FINISHED;
    killGroup(child);
    await exited;
    live.delete(child);
  }
}
