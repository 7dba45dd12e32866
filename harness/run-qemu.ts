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
//
// The machine is a Host (harness/host/): this one by default, or another over SSH, where the
// logs are read over SFTP and the remote watchdog ends QEMU and removes the temp dir if the
// connection drops (harness/host/ssh.ts). QEMU's lifecycle — spawned, SIGTERM, SIGKILL, exited —
// is reported through onEvent like the boot's stages.
//
// Why one file of ~580 lines: the Boot class is one state machine (spawn, follow, race, teardown)
// whose every exit path must visibly reach the one teardown; the log follower (log-follower.ts)
// and the process-signal registry (boot-signals.ts) live apart.

import { rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { activeBoots, register, signalHandlersInstalled, unregister } from './boot-signals.ts';
import { isThisMachine, localHost, signalLocalGroup } from './host/local.ts';
import { LogFollower } from './log-follower.ts';
import type { Host, HostProcess } from './host/types.ts';
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
  HostConnectionLostError,
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
/**
 * After `==E820== DONE`, how long the guest gets to power off (QEMU then exits 0) before the
 * harness ends QEMU itself. None: once DONE is in the console file, so is every line before it
 * (the chardev writes the guest's bytes in order), and nothing after DONE is read; the guest's
 * drain and ACPI power-off took 40-250 ms more (docs/minimal-kernel.md). /init still powers off,
 * for a boot run by hand.
 */
export const POWEROFF_GRACE_MS = 0;
/** After a panic line, how long to keep reading (the trace follows; panic=-1 makes QEMU exit). */
export const PANIC_GRACE_MS = 1_000;
/** Log polling period, the fallback when fs.watch misses or coalesces events. */
export const POLL_INTERVAL_MS = 100;
/**
 * Changes fs.watch reports within this long share one read. QEMU writes the console a few bytes at
 * a time, and a read per change was ~2,000 opens, fstats and reads of each boot's logs (~0.5 s of
 * the harness's CPU, on the cores the guests need); batched, a boot costs a hundred or so, and a
 * marker is seen at most this much later.
 */
export const WATCH_BATCH_MS = 10;
/** Log polling period on another host (SFTP, a few round trips per poll; no fs.watch there). */
export const REMOTE_POLL_INTERVAL_MS = 250;
/**
 * How much of each log (console, firmware) a boot may print before it is stopped: a boot of the
 * harness guest prints about 100 KiB on the console and 10 KiB on SeaBIOS's debug port.
 */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

export const PANIC_TEXT = 'Kernel panic - not syncing';
const SEABIOS_BANNER = 'SeaBIOS (version';
const KERNEL_BANNER = 'Linux version ';

export type BootStage =
  | 'spawned'
  | 'seabios'
  | 'firmware'
  | 'kernel'
  | 'init'
  | 'section'
  | 'done'
  | 'panic'
  /** The harness asked QEMU's process group to stop (SIGTERM); detail: why. */
  | 'sigterm'
  /** The grace after SIGTERM ran out (or there was none): SIGKILL to the group; detail: why. */
  | 'sigkill'
  /** QEMU exited; detail: its exit status or signal. */
  | 'exited';

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
  /** The machine QEMU runs on; default this one (harness/host/local.ts). Paths in the argv are its paths. */
  host?: Host;
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

// Re-exported for the tests that check nothing is left running.
export { activeBoots, signalHandlersInstalled };

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
  private child: HostProcess | null = null;
  private exited = false;
  private exitResult: { exitCode: number | null; signal: string | null; stderr: string; spawnError: { code: string; message: string } | null } | null = null;
  private exitPromise: Promise<void> = Promise.resolve();
  private startedAt = 0;
  private endedAt = 0;
  private killedByHarness = false;
  private watcher: FSWatcher | null = null;
  /** The read the watcher's latest changes wait for (WATCH_BATCH_MS). */
  private watchBatch: NodeJS.Timeout | null = null;
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
    readonly host: Host,
    readonly tempDir: string,
    readonly paths: LogPaths,
    readonly argv: string[],
    readonly label: string,
  ) {
    this.until = opts.until ?? 'done';
    this.serial = new LogFollower(host, paths.serialLog, (l) => this.onConsoleLine(l), MAX_LOG_BYTES, () => this.settle?.({ kind: 'too-large', log: 'console' }));
    this.firmware = new LogFollower(host, paths.firmwareLog, (l) => this.onFirmwareLine(l), MAX_LOG_BYTES, () => this.settle?.({ kind: 'too-large', log: 'firmware' }));
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

  private async pollLogs(final = false): Promise<void> {
    if (this.stopFollowing && !final) return;
    await Promise.all([this.firmware.poll(final), this.serial.poll(final)]);
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
        await this.spawn();
        this.emit('spawned', `process group ${this.child?.pgid ?? '?'} on ${this.host.label}`);
        if (isThisMachine(this.host)) {
          try {
            this.watcher = watch(this.tempDir, () => {
              this.watchBatch ??= setTimeout(() => {
                this.watchBatch = null;
                void this.pollLogs();
              }, WATCH_BATCH_MS);
            });
            this.watcher.on('error', () => this.watcher?.close());
          } catch {
            this.watcher = null; // polling alone will do
          }
        }
        // Another host is read over SFTP: each poll is a few round trips, so less often.
        this.poller = setInterval(() => void this.pollLogs(), isThisMachine(this.host) ? POLL_INTERVAL_MS : REMOTE_POLL_INTERVAL_MS);
        deadlineTimer = setTimeout(() => this.settle?.({ kind: 'deadline', deadline: 'overall', elapsedMs: Date.now() - this.startedAt }), deadlineMs);
        // The stall deadline: read what is there before judging (a starved event loop is not a
        // silent guest), then time out or look again when the quiet would reach stallMs.
        this.lastOutputAt = this.startedAt;
        const checkStall = async (): Promise<void> => {
          await this.pollLogs();
          const quietMs = Date.now() - this.lastOutputAt;
          if (quietMs >= stallMs) this.settle?.({ kind: 'deadline', deadline: 'stall', elapsedMs: Date.now() - this.startedAt });
          else stallTimer = setTimeout(() => void checkStall(), stallMs - quietMs);
        };
        stallTimer = setTimeout(() => void checkStall(), stallMs);
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

    // After DONE the guest powers off (waited for only when a grace is given); after a panic QEMU exits by itself.
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

  /** QEMU as the leader of its own process group on the host (LocalHost adds setpriv --pdeathsig). */
  private async spawn(): Promise<void> {
    const child = await this.host.spawnGroup(this.argv, {
      ...(this.opts.env ? { env: this.opts.env } : {}),
      cleanupDirs: [this.tempDir],
    });
    this.child = child;
    this.exitPromise = child.exited.then((r) => {
      this.exited = true;
      this.endedAt = Date.now();
      this.exitResult = r;
      this.emit('exited', r.spawnError !== null ? `${r.spawnError.code}: ${r.spawnError.message}` : r.exitCode !== null ? `exit status ${r.exitCode}` : `signal ${r.signal ?? '?'}`);
    });
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    await Promise.race([this.exitPromise, sleep(ms)]);
    return this.exited;
  }

  private async signalGroup(sig: 'SIGTERM' | 'SIGKILL', why?: string): Promise<void> {
    if (this.child === null) return;
    if (why !== undefined) this.emit(sig === 'SIGTERM' ? 'sigterm' : 'sigkill', why);
    await this.child.signalGroup(sig);
  }

  /**
   * Synchronous last resort, for the process 'exit' hook and a second Ctrl-C: SIGKILL the group
   * and remove the temp dir. Logs are not kept on this path (there is no time to copy them).
   * Another host cannot be reached synchronously: the kill is sent, and if this process is gone
   * before it arrives, the dropped connection sets off the remote watchdog.
   */
  killSync(): void {
    if (!isThisMachine(this.host)) {
      void this.child?.signalGroup('SIGKILL').catch(() => {});
      return;
    }
    signalLocalGroup(this.child?.pgid ?? -1, 'SIGKILL');
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
      if (this.watchBatch) clearTimeout(this.watchBatch);
      this.watcher?.close();
      if (this.child !== null && !this.exited) {
        this.killedByHarness = true;
        const grace = this.opts.termGraceMs ?? TERM_GRACE_MS;
        await this.signalGroup('SIGTERM', `the harness ends the boot (${grace} ms grace)`);
        if (!(await this.waitExit(grace))) {
          await this.signalGroup('SIGKILL', `still running ${grace} ms after SIGTERM`);
          await this.exitPromise;
        }
      }
      // The leader is gone; anything it left in its group goes too.
      await this.signalGroup('SIGKILL').catch(() => {});
      await this.exitPromise;
      if (this.endedAt === 0) this.endedAt = Date.now();
      await this.pollLogs(true);
      try {
        if (this.opts.keepLogsDir !== undefined) this.logs = await this.keepLogs(this.opts.keepLogsDir);
      } finally {
        await this.host.removeDir(this.tempDir).catch(() => {
          // a dropped connection: the remote watchdog removes it
        });
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
        kept[key] = isThisMachine(this.host) ? await copyInside(dir, name(`${key}.log`), src) : await writeInside(dir, name(`${key}.log`), await this.host.readFile(src));
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
    if (spawnError?.code === 'ECONNLOST' && outcome.kind !== 'aborted') throw new HostConnectionLostError(this.host.label, ctx);
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

// Surviving our own SIGKILL: LocalHost starts QEMU through setpriv --pdeathsig KILL (harness/host/local.ts).
export { deathBound } from './host/local.ts';

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
  const host = opts.host ?? localHost;
  // Once per process: what an earlier, SIGKILLed process left (another host has its watchdog).
  if (isThisMachine(host)) await (swept ??= sweepStaleBootDirs().catch(() => []));
  const tempDir = await host.makeTempDir(`${BOOT_DIR_PREFIX}${process.pid}-`);
  const paths: LogPaths = { serialLog: join(tempDir, 'serial.log'), firmwareLog: join(tempDir, 'firmware.log') };
  const label = opts.label ?? `boot-${new Date().toISOString().replace(/[:.]/g, '-')}-${++bootCounter}`;
  let boot: Boot;
  try {
    boot = new Boot(opts, host, tempDir, paths, [opts.qemu, ...opts.args(paths)], label);
  } catch (err) {
    await host.removeDir(tempDir);
    throw err;
  }
  register(boot);
  try {
    return await boot.run();
  } finally {
    await boot.teardown(); // no-op when run() got there; covers a throw inside run()
  }
}
