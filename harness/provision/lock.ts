// Exclusive provisioning locks in the cache: one per apt root / cache entry, held while an entry is
// checked, built and published, so two runs (two `toolchain fetch`, a fetch and `npm test`) take
// turns instead of colliding on apt's own locks or on a half-built entry.
//
// Hand-written rather than proper-lockfile: that library detects a dead holder only by the lock's
// mtime going stale (seconds of waiting, and a holder whose event loop stalls loses its lock), and
// records no owner to name in a message. Here the lock file says who holds it (pid, host, process
// start time, what it provisions), so a lock left by a dead process is taken over at once and a
// live one is named while we wait.
//
// Protocol: create `<name>.lock` with O_EXCL holding the owner's JSON. A lock whose owner is gone
// (same host, pid not running or reused) is broken under a `<name>.lock.break` directory
// (mkdir is atomic), re-reading the file inside it so only the stale owner's file is removed.

import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

import { pidAlive } from '../pid.ts';
import { CacheLockTimeoutError } from './errors.ts';

interface Owner {
  pid: number;
  host: string;
  /** /proc/<pid>/stat field 22 (clock ticks since boot): tells a reused pid from the holder. */
  start: string | null;
  since: string;
  purpose: string;
  token: string;
}

export interface LockOptions {
  /** What we provision, shown to whoever waits for us. */
  purpose?: string;
  onProgress?: (m: string) => void;
  /** Default $E820_LOCK_TIMEOUT seconds, else 30 minutes (a QEMU closure download takes minutes). */
  timeoutMs?: number;
  pollMs?: number;
  /** Stops waiting (and, through the caller, the work) on Ctrl-C. */
  signal?: AbortSignal;
}

/** The lock file of one cache lock, e.g. locks/apt-trixie.lock. */
export function cacheLockPath(cache: string, name: string): string {
  return join(cache, 'locks', `${name.replace(/[^A-Za-z0-9.+~_-]/g, '_')}.lock`);
}

function startTimeOf(pid: number): string | null {
  try {
    // The comm field may hold spaces and parentheses: count fields after the last ')'.
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the owner is certainly gone. Another host's owner is never judged dead. */
export function ownerIsDead(o: Pick<Owner, 'pid' | 'host' | 'start'>, host = hostname()): boolean {
  if (o.host !== host || !Number.isInteger(o.pid) || o.pid <= 0) return false;
  if (!pidAlive(o.pid)) return true;
  const now = startTimeOf(o.pid);
  return o.start !== null && now !== null && now !== o.start;
}

const describe = (o: Owner) => `pid ${o.pid}${o.host !== hostname() ? ` on host ${o.host}` : ''} (${o.purpose}), since ${o.since}`;

function parseOwner(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string'
      ? { pid: o.pid, host: o.host, start: o.start ?? null, since: o.since ?? '?', purpose: o.purpose ?? '?', token: o.token }
      : null;
  } catch {
    return null;
  }
}

/** Locks this process holds: removed on a normal exit even if a finally never ran. */
const held = new Map<string, string>();
let exitHook = false;
function releaseAllSync(): void {
  for (const [path, token] of held) {
    try {
      if (parseOwner(readFileSync(path, 'utf8'))?.token === token) unlinkSync(path);
    } catch {
      // already gone
    }
  }
  held.clear();
}

/** A writer that died between creating the file and writing it leaves it empty: stale after this. */
const UNREADABLE_GRACE_MS = 10_000;

/** Removes the lock if it still holds `seen`; false when someone else is breaking it meanwhile. */
async function tryBreak(path: string, seen: string, progress: (m: string) => void, why: string): Promise<boolean> {
  const guard = `${path}.break`;
  try {
    await mkdir(guard);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Someone else is breaking it; a guard older than the grace period belongs to a dead breaker.
    const g = await stat(guard).catch(() => null);
    if (g && Date.now() - g.mtimeMs > UNREADABLE_GRACE_MS) await rmdir(guard).catch(() => {});
    return false;
  }
  try {
    const now = await readFile(path, 'utf8').catch(() => null);
    if (now === seen) {
      await unlink(path);
      progress(`cache lock ${path}: ${why}; taking it over`);
    }
  } finally {
    await rmdir(guard).catch(() => {});
  }
  return true;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const envTimeoutMs = () => {
  const s = Number(process.env.E820_LOCK_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 30 * 60_000;
};

/** Takes the lock (waiting for a live holder, taking over a dead one's); returns its release. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const progress = opts.onProgress ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? envTimeoutMs();
  const pollMs = opts.pollMs ?? 200;
  const me: Owner = {
    pid: process.pid,
    host: hostname(),
    start: startTimeOf(process.pid),
    since: new Date().toISOString(),
    purpose: opts.purpose ?? 'provisioning',
    // node:crypto on first use, not at import: `e820 predict` imports this module and never locks.
    token: (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomBytes(8).toString('hex'),
  };
  await mkdir(dirname(path), { recursive: true });
  const t0 = Date.now();
  let lastSaid = -Infinity;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      await writeFile(path, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) continue; // released between our create and read
    const owner = parseOwner(text);
    if (owner === null) {
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > UNREADABLE_GRACE_MS) await tryBreak(path, text, progress, 'its owner left it unreadable');
    } else if (ownerIsDead(owner)) {
      if (await tryBreak(path, text, progress, `left by pid ${owner.pid} (${owner.purpose}), which is no longer running`)) continue;
      await sleep(Math.min(pollMs, 50), opts.signal);
      continue;
    }
    const waited = Date.now() - t0;
    const who = owner ? describe(owner) : 'a process that has not written its name yet';
    if (waited >= timeoutMs) throw new CacheLockTimeoutError(path, who, waited);
    if (waited - lastSaid >= 30_000) {
      progress(`waiting for the cache lock ${path}, held by ${who}`);
      lastSaid = waited;
    }
    await sleep(pollMs, opts.signal);
  }
  held.set(path, me.token);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', releaseAllSync);
  }
  return async () => {
    held.delete(path);
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text !== null && parseOwner(text)?.token === me.token) await unlink(path).catch(() => {});
  };
}

/** Runs `fn` holding the lock; the lock is released however `fn` ends (error, abort). */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
