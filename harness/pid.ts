// Whether a process still exists: for reclaiming what a process killed with SIGKILL left behind
// (boot temp dirs, cache temp dirs) — never for anything that needs to be exact about reuse.

/** Alive, or alive and another user's (EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
