// Runs one QEMU boot to completion and returns its logs, or throws a typed HarnessError.
//
// Ownership: each boot has exactly one owner (the Boot object below) and one idempotent
// teardown: SIGTERM to QEMU's process group, a short wait, SIGKILL to the group, then the temp
// dir goes and the logs are kept (copied to keepLogsDir if asked). Every exit path — success,
// deadline, AbortSignal, SIGINT/SIGTERM of this process — goes through that teardown.
//
// Waiting is a race between "the boot's goal reached" (by default `==E820== DONE` on the
// console; see BootGoal), "kernel panic on the console", "QEMU exited" and "deadline". The
// console is a file (-serial file:), watched with fs.watch and polled as a fallback (inotify can
// be unavailable, and fs.watch may coalesce events).
//
// When this process dies without running any of that (SIGKILL, OOM killer): QEMU is started
// through util-linux `setpriv --pdeathsig KILL`, so the kernel SIGKILLs it when our main thread
// exits, and each temp dir carries its owner's pid (e820-boot-<pid>-…), so the next process to
// boot (or start the CLI) removes the dirs of owners that are dead (sweepStaleBootDirs, boot-dirs.ts).

import { execa, type ResultPromise } from 'execa';
import { accessSync, closeSync, constants, fstatSync, openSync, readSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DONE_MARKER, MARKER_PREFIX, SECTIONS, type SectionName } from '../guests/markers.ts';
import { BOOT_LINE, DUMP_ENTRY, DUMP_HEADER } from './parse/seabios.ts';
import { copyInside, OutputDirError, writeInside } from './output-dir.ts';
import { BOOT_DIR_PREFIX, sweepStaleBootDirs } from './boot-dirs.ts';
import {
  BootAbortedError,
  BootTimeoutError,
  CONSOLE_TAIL_LINES,
  CutLogError,
  LogTooLargeError,
  GuestPanicError,
  MissingToolError,
  QemuLaunchError,
  emptyProgress,
  shellQuote,
  type BootContext,
  type BootDeadline,
  type BootProgress,
  type KeptLogs,
} from './errors.ts';

/**
 * Overall deadline of one boot, in milliseconds: the cap however steadily the guest prints. A
 * TCG boot of the cloud kernel takes ~3 s and -smp 64 ~15 s on an idle machine; a busy machine
 * slows a boot many times over, so the cap is generous and the stall deadline does the work.
 */
export const BOOT_DEADLINE_MS = 600_000;
/**
 * Stall deadline of one boot, in milliseconds: a guest that prints nothing new on the console or
 * the firmware debug port (and so reaches no new stage) for this long is timed out. The longest
 * silence of a real boot is ~2 s (-smp 64 with two CPU hogs running beside it).
 */
export const BOOT_STALL_MS = 60_000;
/** After SIGTERM, how long QEMU gets to exit before SIGKILL. */
export const TERM_GRACE_MS = 2_000;
/** After `==E820== DONE`, how long the guest gets to power off (QEMU then exits 0). */
export const POWEROFF_GRACE_MS = 5_000;
/** After a panic line, how long to keep reading (the trace follows; panic=-1 makes QEMU exit). */
export const PANIC_GRACE_MS = 1_000;
/** Log polling period, the fallback when fs.watch misses or coalesces events. */
export const POLL_INTERVAL_MS = 100;
/**
 * How much of each log (console, firmware) a boot may print before it is stopped: a boot of the
 * harness guest prints about 100 KiB on the console and 10 KiB on SeaBIOS's debug port.
 */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

export const PANIC_TEXT = 'Kernel panic - not syncing';
const SEABIOS_BANNER = 'SeaBIOS (version';
const KERNEL_BANNER = 'Linux version ';

export type BootStage = 'spawned' | 'seabios' | 'firmware' | 'kernel' | 'init' | 'section' | 'done' | 'panic' | 'exited';

/** How far a boot must get before the harness ends it (and calls it a success). */
export type BootGoal =
  /** The guest's /init printed every section and `==E820== DONE` (a full capture). */
  | 'done'
  /** SeaBIOS printed its e820 dump and then `Booting from …` (capture scope firmware). */
  | 'firmware'
  /** The guest's /init printed its first marker: the kernel runs (the KVM probe). */
  | 'init';

export interface BootEvent {
  stage: BootStage;
  /** Section name for 'section', the panic line for 'panic'. */
  detail?: string;
  /** Milliseconds since QEMU was spawned. */
  elapsedMs: number;
}

export interface LogPaths {
  serialLog: string;
  firmwareLog: string;
}

export interface RunQemuOptions {
  /** QEMU binary (path or name on PATH). */
  qemu: string;
  /** QEMU arguments, given the log files the runner created (see harness/qemu-argv.ts). */
  args: (paths: LogPaths) => readonly string[];
  /** Overall deadline (ms); default BOOT_DEADLINE_MS. */
  deadlineMs?: number;
  /** Stall deadline (ms): nothing new printed for this long ends the boot; default BOOT_STALL_MS. */
  stallMs?: number;
  termGraceMs?: number;
  poweroffGraceMs?: number;
  /** Cancels the boot (BootAbortedError). */
  signal?: AbortSignal;
  /** Copy serial/firmware/stderr logs and the argv here (created if needed). */
  keepLogsDir?: string;
  /** File name prefix for kept logs; default `boot-<time>-<n>`. */
  label?: string;
  onEvent?: (event: BootEvent) => void;
  env?: Record<string, string>;
  /** Default 'done'. Short of 'done' the harness stops QEMU itself once the goal is reached. */
  until?: BootGoal;
}

export interface RunQemuResult {
  /** Full command, argv[0] the binary. */
  argv: string[];
  serial: string;
  firmware: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
  /** QEMU did not power off within the grace period after DONE, or the goal was short of DONE. */
  killedByHarness: boolean;
  /** The goal that ended the boot (RunQemuOptions.until). */
  endedBy: BootGoal;
  progress: BootProgress;
  /** Spawn to exit (or to kill). */
  wallMs: number;
  logs: KeptLogs;
}

// ---------------------------------------------------------------------------------------------
// Log following

/**
 * Reads a growing file from where it left off and hands over whole lines, up to `limitBytes`:
 * past that it reads nothing more and calls `onOverflow` once (a guest printing in a loop must
 * not take the harness's memory with it; a 50 MB log used to take about 0.5 GB).
 */
class LogFollower {
  private offset = 0;
  private partial = '';
  private chunks: Buffer[] = [];
  /** The file passed limitBytes (what lies past it was never read). */
  overflowed = false;

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly limitBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  /** Reads what is new; `final` also flushes a last line without newline. */
  poll(final = false): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const size = fstatSync(fd).size;
      if (size > this.limitBytes && !this.overflowed) {
        this.overflowed = true;
        this.onOverflow();
      }
      const end = Math.min(size, this.limitBytes);
      if (end > this.offset) {
        const buf = Buffer.alloc(end - this.offset);
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        const got = buf.subarray(0, n);
        this.chunks.push(got);
        // latin1 is byte-per-char, so a multi-byte sequence split across reads cannot corrupt
        // a marker; markers are ASCII. The full text is decoded as UTF-8 once, at the end.
        const text = this.partial + got.toString('latin1');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const l of lines) this.onLine(l.replace(/\r$/, ''));
      }
    } finally {
      closeSync(fd);
    }
    if (final && this.partial !== '') {
      this.onLine(this.partial.replace(/\r$/, ''));
      this.partial = '';
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

// ---------------------------------------------------------------------------------------------
// Process-level signal handling shared by all running boots

/** A closed terminal (SIGHUP) must tear down like Ctrl-C and SIGTERM, not kill us outright. */
const PROCESS_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const active = new Set<Boot>();
let signalsInstalled = false;
let tearingDownAll = false;

function onProcessSignal(sig: NodeJS.Signals): void {
  // Another listener (e.g. `e820 run`, which aborts its cells and writes results) owns the
  // process's fate; we only own the QEMUs.
  const othersListening = process.listenerCount(sig) > 1;
  if (tearingDownAll) {
    // Second signal while tearing down: stop being polite.
    for (const b of active) b.killSync();
    if (!othersListening) process.exit(128 + (osConstants.signals[sig] ?? 15));
    return;
  }
  tearingDownAll = true;
  void Promise.allSettled([...active].map((b) => b.abort(`received ${sig}`))).then(() => {
    tearingDownAll = false;
    uninstallSignals();
    // Re-raise: with no other listener, Node's default action ends us with the signal (exit 130
    // for SIGINT in a shell).
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}

function onProcessExit(): void {
  // Last resort (process.exit elsewhere): never leave a QEMU behind.
  for (const b of active) b.killSync();
}

function installSignals(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of PROCESS_SIGNALS) process.on(sig, onProcessSignal);
  process.on('exit', onProcessExit);
}

function uninstallSignals(): void {
  if (!signalsInstalled) return;
  signalsInstalled = false;
  for (const sig of PROCESS_SIGNALS) process.off(sig, onProcessSignal);
  process.off('exit', onProcessExit);
}

function register(b: Boot): void {
  active.add(b);
  installSignals();
}

function unregister(b: Boot): void {
  active.delete(b);
  if (active.size === 0 && !tearingDownAll) uninstallSignals();
}

/** Number of boots in flight (for tests: must be 0 when nothing runs). */
export function activeBoots(): number {
  return active.size;
}

/** Whether this module's process-level signal handlers are installed (for tests). */
export function signalHandlersInstalled(): boolean {
  return signalsInstalled;
}

// ---------------------------------------------------------------------------------------------
// One boot

type Outcome =
  | { kind: 'done' }
  /** A goal short of DONE ('firmware', 'init') was reached. */
  | { kind: 'goal' }
  | { kind: 'panic' }
  | { kind: 'exited' }
  | { kind: 'deadline'; deadline: BootDeadline; elapsedMs: number }
  /** A log passed MAX_LOG_BYTES. */
  | { kind: 'too-large'; log: 'console' | 'firmware' }
  | { kind: 'aborted'; reason: string };

let bootCounter = 0;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());


/**
 * Only some commands take another QEMU binary (`e820 kvm` probes the toolchain's own), so the
 * advice names those commands rather than offering a flag the command at hand may not have.
 */
const USER_QEMU_HINT = '; or, for e820 run, check, capture, explore and drift, pass another binary with --qemu-binary PATH';

class Boot {
  readonly progress: BootProgress = emptyProgress();
  private readonly serial: LogFollower;
  private readonly firmware: LogFollower;
  private child: ResultPromise<{ detached: true; reject: false; stdin: 'ignore'; cleanup: false }> | null = null;
  private exited = false;
  private exitResult: { exitCode: number | null; signal: string | null; stderr: string; spawnError: { code: string; message: string } | null } | null = null;
  private exitPromise: Promise<void> = Promise.resolve();
  private startedAt = 0;
  private endedAt = 0;
  private killedByHarness = false;
  private watcher: FSWatcher | null = null;
  private poller: NodeJS.Timeout | null = null;
  private settle: ((o: Outcome) => void) | null = null;
  private teardownPromise: Promise<void> | null = null;
  private stopFollowing = false;
  /** When the guest last printed a line (console or firmware): the stall deadline counts from it. */
  private lastOutputAt = 0;
  /** Entries of the SeaBIOS e820 dump still to come (-1: no dump begun). */
  private dumpRemaining = -1;
  private readonly until: BootGoal;
  logs: KeptLogs = {};

  constructor(
    readonly opts: RunQemuOptions,
    readonly tempDir: string,
    readonly paths: LogPaths,
    readonly argv: string[],
    readonly label: string,
  ) {
    this.until = opts.until ?? 'done';
    this.serial = new LogFollower(paths.serialLog, (l) => this.onConsoleLine(l), MAX_LOG_BYTES, () => this.settle?.({ kind: 'too-large', log: 'console' }));
    this.firmware = new LogFollower(paths.firmwareLog, (l) => this.onFirmwareLine(l), MAX_LOG_BYTES, () => this.settle?.({ kind: 'too-large', log: 'firmware' }));
  }

  private goalReached(): boolean {
    const p = this.progress;
    return this.until === 'done' ? p.done : this.until === 'firmware' ? p.firmwareDone : p.initStarted;
  }

  /** SeaBIOS's debug port: banner, then the e820 dump, then `Booting from …` ends POST. */
  private onFirmwareLine(line: string): void {
    this.lastOutputAt = Date.now();
    if (line.includes(SEABIOS_BANNER)) this.mark('seabiosBanner', 'seabios');
    const text = line.trimEnd();
    const header = DUMP_HEADER.exec(text);
    if (header) {
      // A later dump (the machine reset and POSTed again) starts over.
      this.dumpRemaining = Number(header[1]);
      return;
    }
    if (this.dumpRemaining > 0 && DUMP_ENTRY.test(text)) {
      this.dumpRemaining--;
      return;
    }
    if (this.dumpRemaining === 0 && !this.progress.firmwareDone && BOOT_LINE.test(text)) {
      this.mark('firmwareDone', 'firmware');
      if (this.until === 'firmware') this.settle?.({ kind: 'goal' });
    }
  }

  private emit(stage: BootStage, detail?: string): void {
    const ev: BootEvent = { stage, elapsedMs: Date.now() - this.startedAt };
    if (detail !== undefined) ev.detail = detail;
    try {
      this.opts.onEvent?.(ev);
    } catch {
      // a progress display must never break a boot
    }
  }

  private mark(flag: 'seabiosBanner' | 'firmwareDone' | 'kernelStarted' | 'initStarted', stage: BootStage): void {
    if (this.progress[flag]) return;
    this.progress[flag] = true;
    this.emit(stage);
  }

  private onConsoleLine(line: string): void {
    this.lastOutputAt = Date.now();
    const p = this.progress;
    if (!p.seabiosBanner && line.includes(SEABIOS_BANNER)) this.mark('seabiosBanner', 'seabios');
    if (!p.kernelStarted && line.includes(KERNEL_BANNER)) this.mark('kernelStarted', 'kernel');
    if (p.panicLine === null) {
      const at = line.indexOf(PANIC_TEXT);
      if (at >= 0) {
        p.panicLine = line.slice(at).trim();
        this.emit('panic', p.panicLine);
        this.settle?.({ kind: 'panic' });
      }
    }
    if (!line.startsWith(MARKER_PREFIX)) return;
    this.mark('initStarted', 'init');
    if (this.until === 'init') this.settle?.({ kind: 'goal' });
    const rest = line.slice(MARKER_PREFIX.length).trim();
    const m = /^(BEGIN|END) (\S+)/.exec(rest);
    if (m && (SECTIONS as readonly string[]).includes(m[2]!)) {
      const s = m[2] as SectionName;
      if (m[1] === 'BEGIN') p.sectionsBegun.push(s);
      else {
        p.sectionsEnded.push(s);
        this.emit('section', s);
      }
    } else if (line.trim() === DONE_MARKER && !p.done) {
      p.done = true;
      this.emit('done');
      this.settle?.({ kind: 'done' });
    }
  }

  private pollLogs(final = false): void {
    if (this.stopFollowing && !final) return;
    this.firmware.poll(final);
    this.serial.poll(final);
  }

  /** Spawns QEMU and waits for the race to be decided; always tears down. */
  async run(): Promise<RunQemuResult> {
    const deadlineMs = this.opts.deadlineMs ?? BOOT_DEADLINE_MS;
    const stallMs = this.opts.stallMs ?? BOOT_STALL_MS;
    let deadlineTimer: NodeJS.Timeout | undefined;
    let stallTimer: NodeJS.Timeout | undefined;
    let abortListener: (() => void) | undefined;
    let outcome: Outcome;
    try {
      const decided = new Promise<Outcome>((r) => {
        this.settle = (o) => {
          this.settle = null;
          r(o);
        };
      });

      if (this.opts.signal?.aborted) {
        this.settle?.({ kind: 'aborted', reason: abortReason(this.opts.signal) });
      } else {
        this.startedAt = Date.now();
        this.spawn();
        this.emit('spawned');
        try {
          this.watcher = watch(this.tempDir, () => this.pollLogs());
          this.watcher.on('error', () => this.watcher?.close());
        } catch {
          this.watcher = null; // polling alone will do
        }
        this.poller = setInterval(() => this.pollLogs(), POLL_INTERVAL_MS);
        deadlineTimer = setTimeout(() => this.settle?.({ kind: 'deadline', deadline: 'overall', elapsedMs: Date.now() - this.startedAt }), deadlineMs);
        // The stall deadline: read what is there before judging (a starved event loop is not a
        // silent guest), then time out or look again when the quiet would reach stallMs.
        this.lastOutputAt = this.startedAt;
        const checkStall = (): void => {
          this.pollLogs();
          const quietMs = Date.now() - this.lastOutputAt;
          if (quietMs >= stallMs) this.settle?.({ kind: 'deadline', deadline: 'stall', elapsedMs: Date.now() - this.startedAt });
          else stallTimer = setTimeout(checkStall, stallMs - quietMs);
        };
        stallTimer = setTimeout(checkStall, stallMs);
        if (this.opts.signal) {
          const s = this.opts.signal;
          abortListener = () => this.settle?.({ kind: 'aborted', reason: abortReason(s) });
          s.addEventListener('abort', abortListener, { once: true });
        }
        void this.exitPromise.then(() => this.settle?.({ kind: 'exited' }));
      }
      outcome = await decided;
    } finally {
      clearTimeout(deadlineTimer);
      clearTimeout(stallTimer);
      if (abortListener) this.opts.signal?.removeEventListener('abort', abortListener);
    }

    // Let a finishing guest finish: after DONE it powers off; after a panic QEMU exits by itself.
    if (outcome.kind === 'done') await this.waitExit(this.opts.poweroffGraceMs ?? POWEROFF_GRACE_MS);
    if (outcome.kind === 'panic') await this.waitExit(PANIC_GRACE_MS);
    await this.teardown();

    // QEMU may have exited right after printing DONE (or reaching the goal) or a panic, before a
    // poll saw it.
    if (outcome.kind === 'exited') {
      if (this.goalReached()) outcome = { kind: this.until === 'done' ? 'done' : 'goal' };
      else if (this.progress.panicLine !== null) outcome = { kind: 'panic' };
    }
    return this.conclude(outcome, deadlineMs, stallMs);
  }

  private spawn(): void {
    const [file, ...args] = deathBound(this.argv);
    const child = execa(file!, args, {
      detached: true, // own process group, so teardown reaches anything QEMU started
      reject: false,
      stdin: 'ignore',
      cleanup: false, // we own the teardown (execa's cleanup does not apply to detached anyway)
      env: this.opts.env,
      stripFinalNewline: false,
    });
    this.child = child;
    this.exitPromise = child.then((r) => {
      this.exited = true;
      this.endedAt = Date.now();
      const stderr = typeof r.stderr === 'string' ? r.stderr : '';
      const spawnError =
        r.failed && r.exitCode === undefined && r.signal === undefined && typeof r.code === 'string'
          ? { code: r.code, message: r.originalMessage ?? r.shortMessage ?? r.code }
          : setprivExecError(r.exitCode, stderr);
      this.exitResult = {
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? null,
        stderr,
        spawnError,
      };
    });
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    await Promise.race([this.exitPromise, sleep(ms)]);
    return this.exited;
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is already gone
    }
  }

  /**
   * Synchronous last resort, for the process 'exit' hook and a second Ctrl-C: SIGKILL the group
   * and remove the temp dir. Logs are not kept on this path (there is no time to copy them).
   */
  killSync(): void {
    this.signalGroup('SIGKILL');
    rmSync(this.tempDir, { recursive: true, force: true });
  }

  /** Cancels a running boot; resolves once torn down. */
  async abort(reason: string): Promise<void> {
    this.settle?.({ kind: 'aborted', reason });
    await this.teardown();
  }

  /** The one teardown: idempotent, every path ends here. */
  teardown(): Promise<void> {
    this.teardownPromise ??= (async () => {
      this.stopFollowing = true;
      if (this.poller) clearInterval(this.poller);
      this.watcher?.close();
      if (this.child?.pid !== undefined && !this.exited) {
        this.killedByHarness = true;
        this.signalGroup('SIGTERM');
        if (!(await this.waitExit(this.opts.termGraceMs ?? TERM_GRACE_MS))) {
          this.signalGroup('SIGKILL');
          await this.exitPromise;
        }
      }
      // The leader is gone; anything it left in its group goes too.
      this.signalGroup('SIGKILL');
      await this.exitPromise;
      if (this.endedAt === 0) this.endedAt = Date.now();
      this.pollLogs(true);
      try {
        if (this.opts.keepLogsDir !== undefined) this.logs = await this.keepLogs(this.opts.keepLogsDir);
      } finally {
        await rm(this.tempDir, { recursive: true, force: true });
        unregister(this);
      }
    })();
    return this.teardownPromise;
  }

  private async keepLogs(dir: string): Promise<KeptLogs> {
    // copyInside/writeInside: the directory may be shared, and a link planted there is never followed.
    const kept: KeptLogs = {};
    const name = (suffix: string) => `${this.label}.${suffix}`;
    for (const [key, src] of [
      ['serial', this.paths.serialLog],
      ['firmware', this.paths.firmwareLog],
    ] as const) {
      try {
        kept[key] = await copyInside(dir, name(`${key}.log`), src);
      } catch (err) {
        // QEMU never created it (refused to start): nothing to keep
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || err instanceof OutputDirError) throw err;
      }
    }
    kept.stderr = await writeInside(dir, name('stderr.log'), this.exitResult?.stderr ?? '');
    kept.argv = await writeInside(dir, name('argv.txt'), `${shellQuote(this.argv)}\n`);
    return kept;
  }

  private context(): BootContext {
    const serial = this.serial.text();
    const lines = serial.replace(/\r/g, '').split('\n');
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    return {
      argv: this.argv,
      exitCode: this.exitResult?.exitCode ?? null,
      signal: this.exitResult?.signal ?? null,
      killedByHarness: this.killedByHarness,
      stderr: this.exitResult?.stderr ?? '',
      consoleTail: lines.slice(-CONSOLE_TAIL_LINES),
      progress: this.progress,
      logs: this.logs,
    };
  }

  private conclude(outcome: Outcome, deadlineMs: number, stallMs: number): RunQemuResult {
    const ctx = this.context();
    const spawnError = this.exitResult?.spawnError ?? null;
    if (spawnError !== null && outcome.kind !== 'aborted') {
      throw new MissingToolError(
        this.argv[0]!,
        spawnError.code === 'ENOENT'
          ? `install qemu-system-x86 (apt-get install qemu-system-x86)${USER_QEMU_HINT}`
          : `cannot execute it (${spawnError.code}): check its permissions${USER_QEMU_HINT}`,
        ctx,
        new Error(spawnError.message),
      );
    }
    // A flooded log decides whatever else happened (the guest's last words were never read).
    const flooded = this.serial.overflowed ? 'console' : this.firmware.overflowed ? 'firmware' : null;
    if (flooded !== null && outcome.kind !== 'aborted') throw new LogTooLargeError(flooded, MAX_LOG_BYTES, ctx);
    switch (outcome.kind) {
      case 'aborted':
        throw new BootAbortedError(outcome.reason, ctx);
      case 'deadline':
        throw new BootTimeoutError(deadlineMs, ctx, { deadline: outcome.deadline, stallMs, elapsedMs: outcome.elapsedMs });
      case 'too-large': // (flooded above)
        throw new LogTooLargeError(outcome.log, MAX_LOG_BYTES, ctx);
      case 'panic':
        throw new GuestPanicError(this.progress.panicLine ?? PANIC_TEXT, ctx);
      case 'exited': {
        const guestPrinted = this.serial.text() !== '' || this.firmware.text() !== '';
        if (!guestPrinted) throw new QemuLaunchError(ctx);
        throw new CutLogError(ctx);
      }
      case 'done':
      case 'goal':
        return {
          argv: this.argv,
          serial: this.serial.text(),
          firmware: this.firmware.text(),
          stderr: ctx.stderr,
          exitCode: ctx.exitCode,
          signal: ctx.signal,
          killedByHarness: this.killedByHarness,
          endedBy: outcome.kind === 'done' ? 'done' : this.until,
          progress: this.progress,
          wallMs: this.endedAt - this.startedAt,
          logs: this.logs,
        };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Surviving our own SIGKILL

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
 * The argv that makes QEMU die with us: `setpriv --pdeathsig KILL -- qemu …` (execve keeps the
 * death signal; QEMU keeps setpriv's pid, so the group teardown is unchanged). PDEATHSIG fires
 * when the *thread* that forked exits: libuv forks from the event-loop thread, which is the main
 * thread in the CLI, so only the process's end fires it. Without setpriv QEMU is spawned as is.
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

let swept: Promise<unknown> | null = null;

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r.message;
  return r === undefined ? 'aborted' : String(r);
}

/**
 * Boots QEMU once: spawns it in its own process group, follows the console until the guest
 * prints `==E820== DONE` (or the boot reaches `until`), and tears everything down. Throws QemuLaunchError, BootTimeoutError,
 * GuestPanicError, CutLogError, BootAbortedError or MissingToolError (harness/errors.ts).
 */
export async function runQemu(opts: RunQemuOptions): Promise<RunQemuResult> {
  // Once per process: what an earlier, SIGKILLed process left.
  await (swept ??= sweepStaleBootDirs().catch(() => []));
  const tempDir = await mkdtemp(join(tmpdir(), `${BOOT_DIR_PREFIX}${process.pid}-`));
  const paths: LogPaths = { serialLog: join(tempDir, 'serial.log'), firmwareLog: join(tempDir, 'firmware.log') };
  const label = opts.label ?? `boot-${new Date().toISOString().replace(/[:.]/g, '-')}-${++bootCounter}`;
  let boot: Boot;
  try {
    boot = new Boot(opts, tempDir, paths, [opts.qemu, ...opts.args(paths)], label);
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }
  register(boot);
  try {
    return await boot.run();
  } finally {
    await boot.teardown(); // no-op when run() got there; covers a throw inside run()
  }
}
