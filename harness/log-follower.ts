// A growing log file (QEMU's -serial file: and debugcon file:) read as whole lines as it grows,
// through a Host, so the same code follows a local file or one on an SSH host (over SFTP).

import type { Host } from './host/types.ts';

/**
 * Reads a growing file from where it left off and hands over whole lines, up to `limitBytes`:
 * past that it reads nothing more and calls `onOverflow` once (a guest printing in a loop must
 * not take the harness's memory with it; a 50 MB log used to take about 0.5 GB).
 */
export class LogFollower {
  private offset = 0;
  private partial = '';
  private chunks: Buffer[] = [];
  /** The file passed limitBytes (what lies past it was never read). */
  overflowed = false;
  /** One read at a time: a poll that finds one running waits for it (the offsets must not interleave). */
  private reading: Promise<void> = Promise.resolve();
  /**
   * The read queued behind the running one and not started yet: a later poll joins it, since it
   * reads everything new when it starts. Without this, every change the directory watcher reports
   * (QEMU writes the console a few bytes at a time) queued a read of its own, and the last poll
   * of a boot waited behind hundreds of them (~220 ms of every capture, measured on pc -m 1G).
   */
  private queued: { promise: Promise<void>; final: boolean } | null = null;

  constructor(
    private readonly host: Host,
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly limitBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  /** Reads what is new; `final` also flushes a last line without newline. */
  poll(final = false): Promise<void> {
    if (this.queued !== null) {
      this.queued.final ||= final;
      return this.queued.promise;
    }
    const q: { promise: Promise<void>; final: boolean } = { promise: Promise.resolve(), final };
    q.promise = this.reading
      .then(() => {
        this.queued = null; // started: a poll from now on queues the next read
        return this.read(q.final);
      })
      .catch(() => {
        // a read that failed (the file went with the temp dir, a dropped connection) reads nothing
      });
    this.queued = q;
    this.reading = q.promise;
    return q.promise;
  }

  /** Up to this much per read, so a flood is noticed without holding all of it (the limit is the cap). */
  private static readonly CHUNK = 1024 * 1024;

  private async read(final: boolean): Promise<void> {
    for (;;) {
      // One byte past the limit tells an overflow from a log of exactly the limit.
      const want = Math.min(LogFollower.CHUNK, this.limitBytes + 1 - this.offset);
      if (want <= 0) break;
      const got = await this.host.readFrom(this.path, this.offset, want);
      if (got === null || got.length === 0) break; // not created yet, or nothing new
      const keep = got.subarray(0, Math.max(0, Math.min(got.length, this.limitBytes - this.offset)));
      if (this.offset + got.length > this.limitBytes && !this.overflowed) {
        this.overflowed = true;
        this.onOverflow();
      }
      this.offset += keep.length;
      if (keep.length > 0) {
        this.chunks.push(keep);
        // latin1 is byte-per-char, so a multi-byte sequence split across reads cannot corrupt
        // a marker; markers are ASCII. The full text is decoded as UTF-8 once, at the end.
        const text = this.partial + keep.toString('latin1');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const l of lines) this.onLine(l.replace(/\r$/, ''));
      }
      if (this.overflowed || got.length < want) break;
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
