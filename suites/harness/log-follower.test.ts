// harness/log-follower.ts: polls that arrive while a read runs join the one read queued behind it,
// so the last poll of a boot never waits behind a backlog (one per change the watcher reported).

import { describe, expect, test } from 'vitest';
import { LogFollower } from '../../harness/log-follower.ts';
import type { Host } from '../../harness/host/types.ts';

/** A file that grows by `grow` between reads, read through a Host whose readFrom is counted. */
function growingFile(grow: string) {
  let content = '';
  let reads = 0;
  const host = {
    readFrom: async (_path: string, offset: number, max: number): Promise<Buffer | null> => {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      const b = Buffer.from(content, 'latin1').subarray(offset, offset + max);
      return b;
    },
  } as unknown as Host;
  return {
    host,
    write: () => (content += grow),
    reads: () => reads,
  };
}

describe('LogFollower', () => {
  test('a hundred polls during one read cost one more read, which sees every line', async () => {
    const f = growingFile('line\n');
    const lines: string[] = [];
    const follower = new LogFollower(f.host, 'serial.log', (l) => lines.push(l), 1 << 20, () => {});
    f.write();
    const first = follower.poll();
    const rest: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      f.write();
      rest.push(follower.poll());
    }
    await Promise.all([first, ...rest]);
    // The running read and the one queued read the hundred polls joined (a short read ends each
    // after one readFrom); the old follower made 101.
    expect(f.reads()).toBeLessThanOrEqual(4);
    expect(lines.length).toBe(101);
  });

  test('a final poll that joins a queued read still flushes the last line without newline', async () => {
    const f = growingFile('DONE');
    const lines: string[] = [];
    const follower = new LogFollower(f.host, 'serial.log', (l) => lines.push(l), 1 << 20, () => {});
    f.write();
    const running = follower.poll();
    const queued = follower.poll();
    const final = follower.poll(true);
    expect(final).toBe(queued); // joined, not queued behind it
    await Promise.all([running, queued, final]);
    expect(lines).toEqual(['DONE']);
  });
});
