// Typed harness failures. A harness failure is an error, never a pass and never a conformance
// failure, so each one says what happened, how far the boot got, and what to do next. The
// message is written for a person reading a CI log at 3 a.m.; the fields are for code.

import type { SectionName } from '../guests/markers.ts';

/** How far a boot got, as the runner saw it in the serial and firmware logs. */
export interface BootProgress {
  /** `SeaBIOS (version …)` seen on the debug port (or the console). */
  seabiosBanner: boolean;
  /** SeaBIOS printed its whole `e820 map has N items:` dump and then a `Booting from …` line: POST is over. */
  firmwareDone: boolean;
  /** `Linux version …` seen on the console. */
  kernelStarted: boolean;
  /** The first `==E820==` marker (the guest's /init prints nothing before its sections). */
  initStarted: boolean;
  /** Sections whose BEGIN marker was seen, in order. */
  sectionsBegun: SectionName[];
  /** Sections whose END marker was seen, in order. */
  sectionsEnded: SectionName[];
  /** `==E820== DONE` seen. */
  done: boolean;
  /** The `Kernel panic - not syncing: …` line, if any. */
  panicLine: string | null;
}

export function emptyProgress(): BootProgress {
  return {
    seabiosBanner: false,
    firmwareDone: false,
    kernelStarted: false,
    initStarted: false,
    sectionsBegun: [],
    sectionsEnded: [],
    done: false,
    panicLine: null,
  };
}

/** One line summary of a BootProgress: the stages reached, then the sections. */
export function describeProgress(p: BootProgress): string {
  const stages: string[] = [];
  stages.push(p.seabiosBanner ? 'SeaBIOS banner seen' : 'no SeaBIOS banner');
  // Only worth saying when it is where the boot stopped (firmware ran, the kernel did not).
  if (p.firmwareDone && !p.kernelStarted) stages.push('SeaBIOS printed its e820 map and began booting');
  stages.push(p.kernelStarted ? 'kernel started' : 'kernel not started');
  if (p.kernelStarted || p.initStarted) stages.push(p.initStarted ? 'init started' : 'init not started');
  if (p.initStarted) {
    const open = p.sectionsBegun.filter((s) => !p.sectionsEnded.includes(s));
    stages.push(
      p.sectionsEnded.length > 0 ? `sections printed: ${p.sectionsEnded.join(', ')}` : 'no section printed',
    );
    if (open.length > 0) stages.push(`stuck inside: ${open.join(', ')}`);
  }
  return stages.join('; ');
}

/** The furthest stage a boot reached, in a few words (`inside section dmesg`, `kernel started`). */
export function lastStage(p: BootProgress): string {
  if (p.done) return 'all sections printed';
  if (p.initStarted) {
    const open = p.sectionsBegun.filter((s) => !p.sectionsEnded.includes(s));
    if (open.length > 0) return `inside section ${open.at(-1)}`;
    if (p.sectionsEnded.length > 0) return `section ${p.sectionsEnded.at(-1)} printed`;
    return 'init started';
  }
  if (p.kernelStarted) return 'kernel started';
  if (p.firmwareDone) return 'SeaBIOS printed its e820 map and began booting';
  if (p.seabiosBanner) return 'SeaBIOS banner';
  return 'none (QEMU started; nothing printed)';
}

/** Where the logs of a failed (or successful) boot were kept; empty when nobody asked to keep them. */
export interface KeptLogs {
  serial?: string;
  firmware?: string;
  stderr?: string;
  argv?: string;
}

/** Everything known about the QEMU process when it failed. */
export interface BootContext {
  /** Full command: argv[0] is the QEMU binary. */
  argv: readonly string[];
  /** Exit status, null if killed by a signal or never started. */
  exitCode: number | null;
  /** Signal that ended it (including our own SIGTERM/SIGKILL), null otherwise. */
  signal: string | null;
  /** True when the harness itself had to kill the process. */
  killedByHarness: boolean;
  /** QEMU's stderr, verbatim. */
  stderr: string;
  /** Last console (serial) lines, `\r` stripped. */
  consoleTail: readonly string[];
  progress: BootProgress;
  logs: KeptLogs;
}

export const CONSOLE_TAIL_LINES = 20;
/** The longest console or stderr line a message quotes; the rest is counted, not copied. */
export const QUOTED_LINE_MAX = 400;
/** How many of QEMU's stderr lines a message quotes (the last ones). */
export const STDERR_QUOTED_LINES = 20;

/**
 * Text from the guest or QEMU made safe for a terminal and a results file: control characters
 * (NUL, ESC, C1, DEL; not newline or tab) become visible `\xNN`, so a guest cannot clear or
 * retitle the user's terminal through an error message.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One quoted line: printable, and at most QUOTED_LINE_MAX characters (a 50 MB line stays out of every report). */
export function quotedLine(line: string): string {
  const p = printable(line);
  return p.length > QUOTED_LINE_MAX ? `${p.slice(0, QUOTED_LINE_MAX)}… (${p.length - QUOTED_LINE_MAX} more characters)` : p;
}

/** POSIX-shell quoting, so the command in a message can be pasted back into a shell. */
export function shellQuote(args: readonly string[]): string {
  return args.map(shellWord).join(' ');
}

/**
 * One word, safe to paste into bash: bare when it holds only characters no shell treats
 * specially, else in single quotes (no `$`, backquote or glob expansion inside). A word with
 * control characters (a newline, ESC from a guest's log) is written `$'…'` with `\xNN`
 * escapes instead, so that nothing it holds reaches a terminal raw.
 */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u001f\u007f]/.test(word)) return `'${word.replace(/'/g, `'\\''`)}'`;
  // eslint-disable-next-line no-control-regex
  const escaped = word.replace(/[\\'\u0000-\u001f\u007f]/g, (c) => (c === '\\' || c === "'" ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return `$'${escaped}'`;
}

function describeExit(c: BootContext): string {
  const how = c.exitCode !== null ? `exit status ${c.exitCode}` : c.signal !== null ? `signal ${c.signal}` : 'not started';
  return c.killedByHarness ? `${how} (killed by the harness)` : how;
}

function describeLogs(logs: KeptLogs): string {
  const kept = Object.entries(logs).filter(([, p]) => p !== undefined);
  if (kept.length === 0) return 'logs: not kept (pass --keep-logs DIR to keep them)';
  return ['logs kept:', ...kept.map(([k, p]) => `  ${k}: ${p}`)].join('\n');
}

/** Common base: headline, what to do, then the details. */
export abstract class HarnessError extends Error {
  /** The first line of the message, without the details. */
  readonly headline: string;

  constructor(
    headline: string,
    /** What to do about it. */
    readonly hint: string,
    readonly context: BootContext,
  ) {
    super(HarnessError.format(headline, hint, context));
    this.headline = headline;
  }

  static format(headline: string, hint: string, c: BootContext): string {
    const lines = [headline, `what to do: ${hint}`];
    if (c.argv.length > 0) lines.push(`command: ${shellQuote(c.argv)}`);
    lines.push(`qemu: ${describeExit(c)}`);
    lines.push(`boot: ${describeProgress(c.progress)}`);
    const stderr = c.stderr.trimEnd();
    if (stderr !== '') {
      const all = stderr.split('\n');
      lines.push(
        all.length > STDERR_QUOTED_LINES ? `qemu stderr (last ${STDERR_QUOTED_LINES} of ${all.length} lines):` : 'qemu stderr:',
        ...all.slice(-STDERR_QUOTED_LINES).map((l) => `  ${quotedLine(l)}`),
      );
    }
    if (c.consoleTail.length > 0) {
      lines.push(`last ${c.consoleTail.length} console lines:`, ...c.consoleTail.map((l) => `  | ${quotedLine(l)}`));
    } else {
      lines.push('console: nothing printed');
    }
    lines.push(describeLogs(c.logs));
    return lines.join('\n');
  }
}

/** QEMU refused to start, or exited before the guest ran. Carries QEMU's own stderr verbatim. */
export class QemuLaunchError extends HarnessError {
  /** QEMU's first stderr line that is not a warning (`qemu-system-x86_64: -m banana: Parameter 'size' …`), verbatim. */
  readonly qemuMessage: string;

  constructor(context: BootContext) {
    // Warnings (a deprecated machine type, TCG feature notes) come before the error: skip them.
    const lines = context.stderr.split('\n').filter((l) => l.trim() !== '');
    const first = lines.find((l) => !/^\S*qemu-system-\S+: warning: /.test(l.trim())) ?? lines[0] ?? '';
    const headline =
      first !== ''
        ? `QEMU did not start the guest: ${quotedLine(first.trim())}`
        : `QEMU exited (${describeExit(context)}) before the guest ran, and printed nothing on stderr`;
    super(
      headline,
      first !== ''
        ? 'fix the QEMU arguments QEMU names above (run the command below by hand to check)'
        : 'run the command below by hand to see why QEMU stops',
      context,
    );
    this.name = 'QemuLaunchError';
    this.qemuMessage = first.trim();
  }
}

/**
 * Which deadline ended a boot: 'overall', the cap on the whole boot however steadily it prints
 * (`deadlineMs`); 'stall', the guest printed nothing new (console or firmware) for `stallMs`.
 */
export type BootDeadline = 'overall' | 'stall';

/** A deadline passed before the guest printed all its sections (or reached the boot's goal). */
export class BootTimeoutError extends HarnessError {
  /** Which deadline fired. */
  readonly deadline: BootDeadline;
  /** The stall deadline in force (null when unknown). */
  readonly stallMs: number | null;
  /** Spawn to the deadline firing (null when unknown). */
  readonly elapsedMs: number | null;
  /** The furthest stage reached (lastStage). */
  readonly lastStage: string;

  constructor(
    /** The overall deadline in force. */
    readonly deadlineMs: number,
    context: BootContext,
    fired: { deadline?: BootDeadline; stallMs?: number; elapsedMs?: number } = {},
  ) {
    const p = context.progress;
    const deadline = fired.deadline ?? 'overall';
    const stalled = deadline === 'stall';
    const hint = !p.seabiosBanner
      ? 'the firmware never printed its banner: check -bios / the SeaBIOS image and the machine type'
      : !p.kernelStarted
        ? 'the kernel never printed a line: check that the kernel image boots on this machine type, and that console=ttyS0 is not overridden in -append'
        : !p.initStarted
          ? stalled
            ? 'the kernel started but went silent before /init ran: read the kernel console lines below (the harness passes loglevel=6, so only notices, warnings and errors; -append loglevel=7 shows its info lines too), and check the initramfs (rebuild it)'
            : 'the kernel started but /init never ran: check the initramfs (rebuild it) and the kernel console lines below (notices and above: -append loglevel=7 shows the rest); or raise --timeout if the machine is large or slow'
          : stalled
            ? 'the guest stopped printing: a hang, not a slow boot (a busy machine slows a boot, but it keeps printing); run the command below by hand and read the console lines'
            : 'the guest was still printing: raise --timeout (large -m and -smp boot slower under TCG)';
    const stage = lastStage(p);
    const at = fired.elapsedMs !== undefined ? `, ${(fired.elapsedMs / 1000).toFixed(1)} s into the boot` : '';
    const headline = stalled
      ? `the guest printed nothing new for ${(fired.stallMs ?? 0) / 1000} s (stall deadline${at}); last stage reached: ${stage} (${describeProgress(p)})`
      : `the guest did not finish within ${deadlineMs / 1000} s (overall deadline); last stage reached: ${stage} (${describeProgress(p)})`;
    super(headline, hint, context);
    this.name = 'BootTimeoutError';
    this.deadline = deadline;
    this.stallMs = fired.stallMs ?? null;
    this.elapsedMs = fired.elapsedMs ?? null;
    this.lastStage = stage;
  }
}

/** The guest kernel panicked. */
export class GuestPanicError extends HarnessError {
  constructor(
    readonly panicLine: string,
    context: BootContext,
  ) {
    super(
      `the guest kernel panicked: ${panicLine}`,
      'read the console lines before the panic; a panic in early boot usually means the kernel arguments (-append) or the memory configuration leave the kernel no usable RAM',
      context,
    );
    this.name = 'GuestPanicError';
  }
}

/** QEMU exited, or the log ended, before `==E820== DONE`. */
export class CutLogError extends HarnessError {
  constructor(context: BootContext) {
    const p = context.progress;
    super(
      `the console log ended before the guest printed all its sections (${describeProgress(p)})`,
      p.kernelStarted
        ? 'QEMU exited while the guest was running: look for a reset or triple fault in the console lines; run the command by hand to reproduce'
        : 'QEMU exited before the kernel printed anything: check the console lines and the QEMU stderr below',
      context,
    );
    this.name = 'CutLogError';
  }
}

/** The guest (or SeaBIOS) printed more than the harness reads: the boot was stopped there. */
export class LogTooLargeError extends HarnessError {
  constructor(
    /** 'console' (serial) or 'firmware' (SeaBIOS's debug port). */
    readonly log: 'console' | 'firmware',
    readonly limitBytes: number,
    context: BootContext,
  ) {
    super(
      `the ${log} log passed ${limitBytes / (1024 * 1024)} MiB, far more than any boot prints; the boot was stopped there`,
      log === 'console'
        ? 'the guest is printing in a loop (or the serial port is flooded): look at the console lines below; a boot of the harness guest prints well under 1 MiB'
        : 'SeaBIOS is printing in a loop on its debug port: look at the kept firmware log',
      context,
    );
    this.name = 'LogTooLargeError';
  }
}

/** The boot was cancelled (AbortSignal, SIGINT, SIGTERM). */
export class BootAbortedError extends HarnessError {
  constructor(
    readonly reason: string,
    context: BootContext,
  ) {
    super(`the boot was cancelled: ${reason}`, 'nothing to fix; run again to get a result', context);
    this.name = 'BootAbortedError';
  }
}

/** A program the harness needs is not installed (or not executable). */
/** The connection to the host QEMU ran on went away mid-boot (harness/host/ssh.ts): the cell is an error. */
export class HostConnectionLostError extends HarnessError {
  constructor(
    readonly host: string,
    context: BootContext,
  ) {
    super(
      `the connection to ${host} was lost during the boot`,
      `check the network and the host, then run the cell again; the remote watchdog ended QEMU there and removed its temp dir`,
      context,
    );
    this.name = 'HostConnectionLostError';
  }
}

export class MissingToolError extends HarnessError {
  constructor(
    readonly tool: string,
    readonly installHint: string,
    context: BootContext,
    cause?: unknown,
  ) {
    super(`${tool} was not found or cannot be run`, installHint, context);
    this.name = 'MissingToolError';
    if (cause !== undefined) this.cause = cause;
  }
}

/** The harness argv builder was given options that cannot be combined with the harness's own. */
export class HarnessArgvError extends Error {
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
    this.name = 'HarnessArgvError';
  }
}
