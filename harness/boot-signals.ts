// Process-level signal handling shared by all running boots: SIGINT, SIGTERM or SIGHUP to this
// process tears every registered boot down (a second signal kills them at once), and process exit
// never leaves a QEMU behind. Handlers are installed while at least one boot runs.

import { constants as osConstants } from 'node:os';

/** A closed terminal (SIGHUP) must tear down like Ctrl-C and SIGTERM, not kill us outright. */
const PROCESS_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What a running boot offers the process-level teardown. */
export interface Teardown {
  /** The polite teardown (SIGTERM, grace, SIGKILL, temp dir removed); resolves when done. */
  abort(reason: string): Promise<void>;
  /** SIGKILL now, synchronously (a second signal, or process exit). */
  killSync(): void;
}

const active = new Set<Teardown>();
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

export function register(b: Teardown): void {
  active.add(b);
  installSignals();
}

export function unregister(b: Teardown): void {
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
