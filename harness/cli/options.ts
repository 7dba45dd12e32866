// Option values shared by several commands. Each is parsed before anything slow (provisioning,
// boots, writing files) so bad input is refused at once, naming the option.

/**
 * The longest boot deadline accepted: a day. Node's timers hold at most 2^31−1 ms (24.8 days);
 * past that a timer fires at once, so a huge --timeout used to fail every boot immediately.
 */
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

/** `--timeout SECONDS` → milliseconds; a number > 0 and at most MAX_TIMEOUT_SECONDS. */
export function parseTimeout(text: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s <= 0 || s > MAX_TIMEOUT_SECONDS) {
    throw Object.assign(new Error(`--timeout ${JSON.stringify(text)}: expected seconds > 0 and at most ${MAX_TIMEOUT_SECONDS} (a day)`), { exitCode: 2 });
  }
  return Math.round(s * 1000);
}

/** `--jobs N`: concurrent boots, a whole number ≥ 1. */
export function parseJobs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw Object.assign(new Error(`--jobs ${JSON.stringify(text)}: expected a whole number ≥ 1`), { exitCode: 2 });
  return n;
}
