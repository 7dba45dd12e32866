// apt and dpkg refuse to run while another package manager holds their lock
// ("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)").
// That is a busy machine, not a broken mirror: wait for it (bounded, saying so), then fail
// naming the lock and its holder.

import { AptLockError } from './errors.ts';
import type { ExecResult } from '../host/types.ts';

export interface AptLockHeld {
  lock: string;
  holder: string | null;
}

/** The lock apt could not take, from its stderr; null when the failure is something else. */
export function aptLockHeld(stderr: string): AptLockHeld | null {
  const m = /Could not (?:get|open) lock (\S+?)\.?(?:\s|$)(?:.*?It is held by (process \d+(?: \([^)]*\))?))?/s.exec(stderr);
  if (m?.[1]) return { lock: m[1], holder: m[2] ?? null };
  if (/Unable to acquire the dpkg frontend lock/.test(stderr)) return { lock: '/var/lib/dpkg/lock-frontend', holder: null };
  if (/Unable to lock the (?:list )?directory|Unable to lock the administration directory/.test(stderr)) {
    const dir = /Unable to lock (?:the (?:list )?directory|the administration directory) \(?(\S+?)\)?[,.\s]/.exec(stderr)?.[1];
    return { lock: dir ?? 'apt/dpkg lock', holder: null };
  }
  return null;
}

export interface AptLockWait {
  /** Default $E820_APT_LOCK_TIMEOUT seconds, else 120 s. */
  timeoutMs?: number;
  /** Default $E820_APT_LOCK_POLL_MS, else 2 s. */
  pollMs?: number;
  signal?: AbortSignal;
}

const envTimeoutMs = () => {
  const s = Number(process.env.E820_APT_LOCK_TIMEOUT);
  return Number.isFinite(s) && s >= 0 && process.env.E820_APT_LOCK_TIMEOUT !== '' ? s * 1000 : 120_000;
};

/**
 * Runs an apt/dpkg command again while it fails only because apt's lock is held, with a progress
 * message; past the deadline throws AptLockError. Any other result is returned as is.
 */
export async function retryWhileAptLocked(
  command: string,
  attempt: () => Promise<ExecResult>,
  progress: (m: string) => void,
  wait: AptLockWait = {},
): Promise<ExecResult> {
  const timeoutMs = wait.timeoutMs ?? envTimeoutMs();
  const pollMs = wait.pollMs ?? (Number(process.env.E820_APT_LOCK_POLL_MS) || 2_000);
  const t0 = Date.now();
  let said: string | null = null;
  for (;;) {
    const r = await attempt();
    const held = r.exitCode !== 0 ? aptLockHeld(r.stderr) : null;
    if (held === null) return r;
    const waited = Date.now() - t0;
    if (waited >= timeoutMs) throw new AptLockError(command, held.lock, held.holder, waited);
    const msg = `${command}: apt's lock ${held.lock} is held by ${held.holder ?? 'another process'}; waiting (up to ${Math.round(timeoutMs / 1000)} s)`;
    if (msg !== said) progress(msg);
    said = msg;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    wait.signal?.throwIfAborted();
  }
}
