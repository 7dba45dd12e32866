// One AbortController per CLI invocation, fired by SIGINT, SIGTERM, SIGHUP or the death of our
// parent process; every command that boots or provisions passes its signal down (QEMU's group
// is torn down, temp dirs removed, finished results written), instead of each command keeping
// its own SIGINT handler.
//
// First stop: abort (QEMU gets SIGTERM and a grace). Second: harness/run-qemu.ts SIGKILLs the
// QEMU groups at once. Third: exit at once (run-qemu's 'exit' hook SIGKILLs whatever QEMU
// group is left and removes its temp dir). SIGINT, SIGTERM and SIGHUP all count.
//
// Why the parent is watched: `npx e820` runs node under `npm exec` → `sh -c` (dash forks, it
// does not exec). npm forwards SIGTERM to that sh, which dies and leaves node orphaned and
// running; SIGHUP kills npm outright. Either way our ppid changes, and that is treated as a
// hangup. (SIGINT to npm reaches node because .npmrc makes bash the script shell: bash execs
// the single command, so node is npm's direct child and gets the forwarded signal itself.)

import { constants } from 'node:os';

export type StopCause = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'parent exited';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What a second stop request does (harness/run-qemu.ts stops waiting for QEMU's TERM grace). */
export const againNote = (cause: StopCause): string => `${cause} again: QEMU is SIGKILLed now, without its grace (a third one exits at once)`;

/** How often the parent pid is checked (also bounds how late an orphaned run notices). */
export const PARENT_POLL_MS = 250;

type Listener = (cause: StopCause, count: number) => void;

export interface CliInterrupt {
  readonly signal: AbortSignal;
  /** How many stop requests arrived so far. */
  readonly count: number;
  /** The first cause, once stopped. */
  readonly cause: StopCause | null;
  /** Called for every stop request; return value unsubscribes. */
  onStop(listener: Listener): () => void;
  /** This command is done with it; the last release gives the signals their default action back. */
  release(): void;
}

/** Exit status of a process ended by this cause (128 + signal number, as a shell reports it). */
export function exitStatusOf(cause: StopCause): number {
  const sig = cause === 'parent exited' ? 'SIGHUP' : cause;
  return 128 + constants.signals[sig];
}

interface Shared {
  signal: AbortSignal;
  count: number;
  cause: StopCause | null;
  listeners: Set<Listener>;
  users: number;
  dispose(): void;
}

let current: Shared | null = null;

/**
 * The invocation's interrupt, shared by nested commands (explore runs `run`): installs the
 * handlers and the parent watch on first use, until the last user releases it. Until a command
 * asks for it, the signals keep their default action (nothing to tear down yet).
 */
export function cliInterrupt(): CliInterrupt {
  const shared = (current ??= install());
  shared.users++;
  const mine = new Set<Listener>();
  let released = false;
  return {
    signal: shared.signal,
    get count() {
      return shared.count;
    },
    get cause() {
      return shared.cause;
    },
    onStop(listener) {
      shared.listeners.add(listener);
      mine.add(listener);
      return () => shared.listeners.delete(listener);
    },
    release() {
      if (released) return;
      released = true;
      for (const l of mine) shared.listeners.delete(l);
      if (--shared.users === 0) shared.dispose();
    },
  };
}

function install(): Shared {
  const controller = new AbortController();
  const listeners = new Set<Listener>();
  let count = 0;
  let cause: StopCause | null = null;

  const stop = (why: StopCause): void => {
    shared.count = ++count;
    shared.cause = cause ??= why;
    if (count === 1) controller.abort(new Error(`interrupted (${why})`));
    if (count >= 3) {
      process.stderr.write(`e820: ${why} a third time: exiting now (QEMU groups killed, their temp dirs removed; results of finished cells are on disk)\n`);
      process.exit(exitStatusOf(cause));
    }
    if (listeners.size === 0) {
      process.stderr.write(
        count === 1 ? `e820: ${why}: stopping (QEMU is torn down, temp dirs removed)…\n` : `e820: ${againNote(why)}\n`,
      );
    }
    for (const l of listeners) {
      try {
        l(why, count);
      } catch {
        // a progress message must never break the teardown
      }
    }
  };

  const onSignal = (sig: NodeJS.Signals): void => stop(sig as StopCause);
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);

  // A hung-up terminal turns writes into EIO/EPIPE; an unhandled stream error would crash us
  // before the teardown finishes.
  const onStreamError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
  };
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);

  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop('parent exited');
  }, PARENT_POLL_MS);
  watch.unref();

  const shared: Shared = {
    signal: controller.signal,
    count: 0,
    cause: null,
    listeners,
    users: 0,
    dispose() {
      clearInterval(watch);
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
      process.stdout.off('error', onStreamError);
      process.stderr.off('error', onStreamError);
      if (current === shared) current = null;
    },
  };
  return shared;
}

